"""Drills and their debrief, device health, and the audit log: the console's record pages."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.auth import Principal
from hub.console.base import Console
from hub.console.chart import drill_chart
from hub.drills import Drill, drill_handoffs, drill_report, find_drill, find_drills, report_csv
from hub.engine import Engine
from hub.errors import Invalid, NotFound
from hub.stats import summary
from hub.store import HubStore
from protocol.intervals import LINK_TROUBLE_AFTER_S

AUDIT_PAGE = 200
"""Audit entries per page; "Older entries" continues from the last one shown."""

HISTORY = 10
"""Acknowledgement times kept per device on the health page."""


def drill_rows(engine: Engine, store: HubStore) -> list[dict[str, Any]]:
    """Past and running drills, newest first, with their headline numbers."""
    rows = []
    inventory = engine.presence.inventory
    for drill in reversed(find_drills(store.directives(limit=1_000_000), inventory)):
        report = drill_report(drill, engine, store)
        rows.append({k: v for k, v in report.items() if k not in ("directives", "reports", "roll")})
    return rows


def device_rows(engine: Engine, store: HubStore, *, now: float) -> list[dict[str, Any]]:
    history: dict[str, list[float]] = defaultdict(list)
    for device, _seq, seconds in store.ack_history():
        if len(history[device]) < HISTORY:
            history[device].append(round(seconds * 1000, 1))
    rows = []
    devices = engine.presence.devices
    for device_id, record in sorted(devices.items(), key=lambda i: (i[1].room, i[0])):
        silent = None if record.last_seen is None else now - record.last_seen
        if not record.online:
            state = "offline"
        elif silent is not None and silent > LINK_TROUBLE_AFTER_S:
            state = "trouble"
        else:
            state = "online"
        rows.append(
            {
                "device_id": device_id,
                "room": record.room,
                "state": state,
                "last_seen": record.last_seen,
                "firmware": record.firmware,
                "faults": dict(record.faults),
                "ack_ms": list(reversed(history[device_id])),
                "ack_summary": summary(history[device_id]),
            }
        )
    return rows


def day_bound(text: str, *, end: bool) -> float | None:
    """A ``YYYY-MM-DD`` filter as a time: the day's start, or its end with ``end``; None for
    no filter. Public: the district's audit page filters by day the same way."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise Invalid(f"dates are YYYY-MM-DD, not {text!r}") from None
    return day.timestamp() + (86400 if end else 0)


class ReportPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.engine, self.store = console.engine, console.store

    def _drill(self, request: Request) -> Drill:
        drill_id = request.path_params["drill"]
        drill = find_drill(drill_id, self.store, self.engine.presence.inventory)
        if drill is None:
            raise NotFound(f"no drill starts with directive #{drill_id}")
        return drill

    def _report(self, request: Request) -> dict[str, Any]:
        """The drill's debrief with the hand-offs of its records."""
        report = drill_report(self._drill(request), self.engine, self.store)
        return report | {"handoffs": drill_handoffs(report, self.console.handoffs)}

    async def drills(self, request: Request, principal: Principal) -> Response:
        rows = drill_rows(self.engine, self.store)
        return self.console.show(request, principal, "drills", drills=rows)

    async def drill(self, request: Request, principal: Principal) -> Response:
        report = self._report(request)
        rooms = sorted(
            self.engine.presence.inventory.rooms.values(),
            key=lambda r: (r.building, r.floor, r.id),
        )
        chart = drill_chart(report, [r.id for r in rooms])
        return self.console.show(request, principal, "drill", report=report, chart=chart)

    async def drill_csv(self, request: Request, principal: Principal) -> Response:
        report = self._report(request)
        name = f"roomcast-drill-{report['id']}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def devices(self, request: Request, principal: Principal) -> Response:
        rows = device_rows(self.engine, self.store, now=time.time())
        return self.console.show(request, principal, "devices", devices=rows)

    async def audit(self, request: Request, principal: Principal) -> Response:
        query = request.query_params
        before = query.get("before", "")
        entries = self.store.audit_search(
            user=query.get("user", ""),
            text=query.get("q", "").strip(),
            since=day_bound(query.get("from", ""), end=False),
            until=day_bound(query.get("to", ""), end=True),
            before_id=int(before) if before.isdigit() else None,
            limit=AUDIT_PAGE,
        )
        filters = {k: query.get(k, "") for k in ("user", "q", "from", "to")}
        older = None
        if len(entries) == AUDIT_PAGE:
            older = urlencode(filters | {"before": entries[-1]["id"]})
        users = self.store.audit_users()
        return self.console.show(
            request,
            principal,
            "audit",
            entries=entries,
            filters=filters,
            users=users,
            older=older,
            paged=bool(before),
        )

    # -- JSON, for scripts and tests (same data as the pages) -------------------------------

    async def drills_api(self, request: Request) -> Response:
        return JSONResponse(drill_rows(self.engine, self.store))

    async def drill_api(self, request: Request) -> Response:
        return JSONResponse(self._report(request))

    async def devices_api(self, request: Request) -> Response:
        return JSONResponse(device_rows(self.engine, self.store, now=time.time()))
