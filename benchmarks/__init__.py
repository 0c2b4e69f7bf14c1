"""Roomcast's latency and scale harness: ``python -m benchmarks`` (``make bench``).

See ``docs/BENCHMARKS.md`` for what is measured, how, and the latest results.
"""
