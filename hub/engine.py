"""The hub's engine: its parts built in the order they read each other, under one handle.

Presence (the inventory and which displays are up) comes first; directives read it; the
acknowledgements read both; the roll reads both too; device events read presence and
hand each new report to the roll. No part reaches back to a
later one, and none knows MQTT or HTTP: the hub injects the function that publishes a
directive, and the web side and the MQTT intake take the parts they need from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.acknowledgements import Acknowledgements
from hub.bus import Bus
from hub.device_events import DeviceEvents
from hub.directives import Directives
from hub.presence import Presence
from hub.rejections import Rejections
from hub.roll import RollCall
from hub.store import HubStore
from protocol.inventory import Inventory
from protocol.languages import SiteWording
from protocol.messages import Directive
from protocol.srp import Vocabulary


class Engine:
    def __init__(
        self,
        *,
        inventory: Inventory,
        store: HubStore,
        signing_key: Ed25519PrivateKey,
        publish_directive: Callable[[Directive], None],
        vocabulary: Vocabulary | None = None,
        wording: SiteWording | None = None,
        bus: Bus | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus or Bus()
        self.wording = wording or SiteWording((vocabulary or Vocabulary(),))
        """The site's languages: the first words the console and the API, and every one
        has its CAP ``info`` block."""
        self.rejected = Rejections(bus=self.bus, clock=clock)
        self.presence = Presence(
            inventory=inventory, store=store, bus=self.bus, rejected=self.rejected, clock=clock
        )
        self.directives = Directives(
            presence=self.presence,
            store=store,
            signing_key=signing_key,
            publish_directive=publish_directive,
            vocabulary=self.wording.first,
            bus=self.bus,
            clock=clock,
        )
        self.acks = Acknowledgements(
            presence=self.presence,
            directives=self.directives,
            store=store,
            bus=self.bus,
            rejected=self.rejected,
            clock=clock,
        )
        self.roll = RollCall(
            presence=self.presence,
            directives=self.directives,
            store=store,
            bus=self.bus,
            rejected=self.rejected,
            clock=clock,
        )
        self.events = DeviceEvents(
            presence=self.presence,
            store=store,
            bus=self.bus,
            rejected=self.rejected,
            clock=clock,
            roll=self.roll,
        )
