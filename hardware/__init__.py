"""Classroom hardware behind small interfaces, each with a fake beside it.

This package imports nothing else of Roomcast's: the device service adapts it.
"""
