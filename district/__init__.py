"""``roomcast district``: the district's view of its schools, over the district broker.

It reads what every school's bridge carries out (hub state, summary, bridge up/down),
keeps the latest per school in its own SQLite store and serves the district console.
It imports ``protocol`` and ``transport``, and the school console's security and look
from ``hub`` (reused, not copied: docs/architecture.md); the hub never imports it.
"""
