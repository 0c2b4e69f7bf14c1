"""Re-reading relay.toml while the hub runs (SIGHUP), without losing anything queued.

``systemctl kill -s HUP roomcast-hub`` (or ``kill -HUP <pid>``) makes the hub read
``relay.toml`` again. A file that is now wrong changes nothing: the relay keeps the configuration it
runs, and the log says the file, the key and the fix, exactly as at start (where the same
mistake stops the hub). A good file takes effect at once: see :meth:`hub.relay.relay.
Relay.reload` for what happens to each destination and its queue.

Only the destinations and ``[site]`` are reloaded. ``[cap_feed]`` and ``[weather]`` are
read when the hub starts (the log says so when they changed), and a hub that started with
no relay needs a restart to start one: its web side was built without hand-offs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hub.relay.config import RelayConfig, load_relay_config
from hub.relay.relay import Relay
from hub.relay.views import HandOffs
from transport.settings import ConfigError

log = logging.getLogger(__name__)


def reload_relay(relay: Relay | None, handoffs: HandOffs | None) -> RelayConfig | None:
    """Re-read the relay's file; the configuration now in use (None: no relay runs)."""
    if relay is None:
        log.warning(
            "SIGHUP: this hub runs no relay (it started without relay.toml destinations); "
            "restart the hub to start one"
        )
        return None
    path: Path = relay.config.source
    try:
        config = load_relay_config(path)
        if config is None:
            raise ConfigError(
                f"{path}: no longer there or names no destination; a relay is stopped by "
                "restarting the hub without one"
            )
    except ConfigError as error:
        log.error("SIGHUP: %s; keeping the relay's current configuration", error)
        return relay.config
    if config.cap_feed != relay.config.cap_feed:
        log.warning("SIGHUP: %s: [cap_feed] is read at start only; restart the hub", path)
    changes = relay.reload(config)
    if handoffs is not None:
        handoffs.reload(config)
    said = "; ".join(f"{what} {', '.join(names)}" for what, names in changes.items() if names)
    log.info("SIGHUP: reloaded %s (%s)", path, said or "no destination changed")
    return config
