"""The ``roomcast`` command: entry points, the demo, and the scripted scenarios."""
