"""The drill debrief's chart, as SVG geometry (the template draws it; no plotting library).

One row per room, one column per directive of the drill in time order. Each cell holds a
bar as long as the room's acknowledgement time on a shared scale, with the time written
beside it; a room that never acknowledged gets a red "no ack" cell, a room that a newer
directive reached first a grey "superseded" one, and a room out of the directive's scope a
dash. Vector output stays sharp on screen and in print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.console.i18n import N_, Words
from hub.drills import NO_ACK, SUPERSEDED

LABEL_W = 120
CELL_W = 150
ROW_H = 22
HEAD_H = 46
BAR_MAX = 96
SLOW_MS = 1000.0
OVERDUE_MS = 10_000.0


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    kind: str
    """fast, slow, overdue, missed, superseded, out"""
    bar: float
    text: str


@dataclass(frozen=True)
class Column:
    x: float
    title: str
    subtitle: Words
    """"+3 s, site", for the template to word in the user's language."""
    action: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rows: list[tuple[int, str]]
    columns: list[Column]
    cells: list[Cell]
    scale_ms: float

    @property
    def row_h(self) -> int:
        return ROW_H

    @property
    def cell_w(self) -> int:
        return CELL_W


def _text(value: float) -> str:
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def _cell(x: float, y: float, value: float | str | None, scale: float) -> Cell:
    if value is None:
        return Cell(x, y, "out", 0, "")
    if value == NO_ACK:
        return Cell(x, y, "missed", 0, "no ack")
    if value == SUPERSEDED or isinstance(value, str):
        return Cell(x, y, "superseded", 0, "superseded")
    kind = "fast" if value <= SLOW_MS else "slow" if value <= OVERDUE_MS else "overdue"
    return Cell(x, y, kind, max(2.0, BAR_MAX * value / scale), _text(value))


SUBTITLES = {
    "site": N_("+%(s)s s, site"),
    "building": N_("+%(s)s s, building %(target)s"),
    "room": N_("+%(s)s s, room %(target)s"),
}


def _subtitle(directive: dict[str, Any]) -> Words:
    """When the directive came in the drill, and where it applied."""
    words = SUBTITLES.get(directive["scope"], SUBTITLES["site"])
    return words, {"s": f"{directive['offset_s']:.0f}", "target": directive["target"] or ""}


def drill_chart(report: dict[str, Any], rooms: list[str]) -> Chart:
    """Lay out ``report`` (from :func:`hub.drills.drill_report`) for ``rooms`` in board order."""
    directives = report["directives"]
    values = [v for d in directives for v in d["rooms"].values() if isinstance(v, float)]
    scale = max([*values, SLOW_MS])  # at least 1 s: fast acks look fast
    columns = [
        Column(
            x=LABEL_W + i * CELL_W,
            title=f"#{d['seq']} {d['term']}",
            subtitle=_subtitle(d),
            action=d["action"],
        )
        for i, d in enumerate(directives)
    ]
    rows, cells = [], []
    for r, room in enumerate(rooms):
        y = HEAD_H + r * ROW_H
        rows.append((y, room))
        for column, directive in zip(columns, directives, strict=True):
            cells.append(_cell(column.x, y, directive["rooms"].get(room), scale))
    return Chart(
        width=LABEL_W + CELL_W * max(1, len(columns)),
        height=HEAD_H + ROW_H * max(1, len(rooms)) + 8,
        rows=rows,
        columns=columns,
        cells=cells,
        scale_ms=scale,
    )
