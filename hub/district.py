"""A school hub's side of its district, under one handle for the service to wire.

:mod:`hub.district_requests` checks the district's signed requests and issues the school's
own directives; :mod:`hub.district_summary` publishes the school's summary. Both exist only
when hub.json has a ``district`` block (:mod:`hub.district_config`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.bus import Bus
from hub.district_config import DistrictSettings
from hub.district_requests import DistrictDesk
from hub.district_summary import DistrictSummaries, Send
from hub.engine import Engine
from hub.store import HubStore
from protocol.topics import DistrictChannel, Topics


@dataclass(frozen=True)
class District:
    desk: DistrictDesk
    summaries: DistrictSummaries

    @classmethod
    def build(
        cls,
        settings: DistrictSettings,
        *,
        topics: Topics,
        engine: Engine,
        store: HubStore,
        bus: Bus,
        send: Send,
        epoch: int,
        clock: Callable[[], float],
    ) -> District:
        desk = DistrictDesk(
            district=settings.district,
            key=settings.public_key,
            topics=topics,
            engine=engine,
            store=store,
            clock=clock,
        )
        summaries = DistrictSummaries(
            engine=engine,
            store=store,
            bus=bus,
            topic=topics.district(DistrictChannel.SUMMARY),
            send=send,
            epoch=epoch,
            heartbeat_s=settings.summary_s,
            clock=clock,
        )
        return cls(desk, summaries)

    def on_request(self, topic: str, payload: bytes) -> None:
        """The link's handler for ``district-request/#``."""
        self.desk.on_request(topic, payload)
