"""The timing contract between a node and the hub, agreed here rather than in comments.

A node repeats its retained status every :data:`STATUS_EVERY_S`, so silence means a dead
node or link even when its last will was lost (a broker restarted without persistence).
The office board calls two missed repeats link trouble; the hub marks the node offline
after three, well inside the 200 s the fire code allows.
"""

from __future__ import annotations

STATUS_EVERY_S = 20.0
"""How often a node repeats its retained status, unasked."""

LINK_TROUBLE_AFTER_S = 45.0
"""Two missed status repeats and a margin for a slow link: the board shows link trouble."""

OFFLINE_AFTER_S = 60.0
"""Three missed status repeats: the hub marks the node offline."""

HEARTBEAT_MISSES = 2.0
"""A node says LINK LOST once this many of the hub's heartbeat intervals pass without one."""
