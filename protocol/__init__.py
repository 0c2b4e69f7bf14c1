"""The wire contract shared by hub and device: topics, messages, codec, signatures, SRP.

Pure: no sockets, no files, no threads. ``docs/protocol.md`` is its normative text.
"""

PROTOCOL_VERSION = 1
