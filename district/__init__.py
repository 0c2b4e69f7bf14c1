"""``roomcast district``: the district's view of its schools, over the district broker.

It reads what every school's bridge carries out (hub state, summary, bridge up/down),
keeps the latest per school in its own SQLite store and serves it as JSON. It imports
only ``protocol`` and ``transport``, like the hub, and never the hub: it is not a school.
"""
