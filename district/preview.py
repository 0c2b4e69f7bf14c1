"""What a district action would do, shown before anything is sent.

The schools named (one by one and/or a group, deduplicated), their rooms from their
latest summaries, the schools the count may be short of (unreachable, or no summary
yet), what is in force at each now, and where SRP precedence means the request will not
change some rooms: a district Hold never ends a school's Lockdown (the rooms in it stay
in it, and a Lockdown of the same scope makes the school refuse), and a district All
clear cannot end a school's own directive. The ``words`` are what the user confirms,
drill or real first. What is sent is exactly what was previewed (district.requests; the
console seals what its page showed: district.console.confirmation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from district.action import DistrictAction
from district.board import DistrictBoard
from protocol.district import DistrictRequest, SummaryDirective
from protocol.messages import MessageError
from protocol.rules import RANK
from protocol.srp import Action, Vocabulary
from protocol.topics import InvalidName, ScopeKind

_WORDS = Vocabulary()


class PreviewError(ValueError):
    """The action cannot be sent as asked: unknown school or group, none named, or a
    directive a school could not issue. The message says which and what to do."""


@dataclass(frozen=True, kw_only=True)
class SchoolPreview:
    site: str
    rooms: int | None
    """From the latest summary; None when none came yet, or the request is for one
    building (a summary counts the school's rooms, not each building's)."""
    rooms_unknown: str = ""
    """Why ``rooms`` is None, in plain words."""
    reachable: bool
    link: str
    """"reachable", or why not ("hub down", "bridge down", ...: district.board)."""
    last_contact_age_s: float | None
    summary_age_s: float | None
    """How old the summary shown is, on the district's clock; None without one."""
    stale: bool = False
    """The summary is older than two of the school's heartbeats."""
    in_force: tuple[SummaryDirective, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Preview:
    action: DistrictAction
    schools: tuple[str, ...]
    """Every school the request goes to, in the order named, each once."""
    per_school: tuple[SchoolPreview, ...]
    words: str
    """The confirmation in plain words: DRILL or REAL - NOT A DRILL first."""

    @property
    def rooms(self) -> int:
        """Rooms in all, of the schools whose summary is known (see ``unknown_rooms``)."""
        return sum(s.rooms for s in self.per_school if s.rooms is not None)

    @property
    def unknown_rooms(self) -> tuple[str, ...]:
        return tuple(s.site for s in self.per_school if s.rooms is None)

    @property
    def unreachable(self) -> tuple[str, ...]:
        return tuple(s.site for s in self.per_school if not s.reachable)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{s.site}: {w}" for s in self.per_school for w in s.warnings)

    def shown(self) -> dict[str, Any]:
        """What a confirmation shows that must not change before the send: the action,
        the schools, and each school's link, rooms, what is in force and the warnings. No
        ages (a second passing changes nothing); district.console.confirmation seals it."""
        return {
            "action": _action_json(self.action),
            "schools": [
                {
                    "site": s.site, "link": s.link, "rooms": s.rooms,
                    "in_force": [f"{_describe(d)} in {d.total} room(s)" for d in s.in_force],
                    "warnings": list(s.warnings),
                }
                for s in self.per_school
            ],
        }  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {
            "action": _action_json(self.action),
            "schools": list(self.schools),
            "rooms": self.rooms,
            "unknown_rooms": list(self.unknown_rooms),
            "unreachable": list(self.unreachable),
            "per_school": [_school_json(s) for s in self.per_school],
            "warnings": list(self.warnings),
            "words": self.words,
        }


def targets(
    action: DistrictAction, known: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """The schools named, explicit first, then the group's; each once; all known."""
    if action.group is not None and action.group not in groups:
        named = ", ".join(sorted(groups)) or "none yet"
        raise PreviewError(
            f"no group {action.group!r} in this district (groups: {named}); "
            "make one with `roomcast provision district group set NAME --school ...`"
        )
    grouped = groups[action.group] if action.group is not None else ()
    sites = tuple(dict.fromkeys([*action.schools, *grouped]))
    if not sites:
        raise PreviewError("no school named: name schools (--school) or a group (--group)")
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise PreviewError(
            f"not schools of this district: {', '.join(unknown)} "
            f"(schools: {', '.join(sorted(known)) or 'none'})"
        )
    return sites


def preview(
    action: DistrictAction, board: DistrictBoard, *, groups: Mapping[str, Sequence[str]] = {}
) -> Preview:
    """What ``action`` would do, from the board as it stands (raises :class:`PreviewError`)."""
    sites = targets(action, list(board.schools), groups)
    _check_issuable(action, sites[0])
    views = {v["site"]: v for v in board.view()}
    per_school = tuple(_school(action, board, views[site]) for site in sites)
    return Preview(
        action=action,
        schools=sites,
        per_school=per_school,
        words=_words(action, per_school),
    )


def _check_issuable(action: DistrictAction, site: str) -> None:
    """Refuse now what no school could issue (a Shelter without a hazard, ...)."""
    get = action.details.get
    try:
        DistrictRequest(
            request_id="r-preview", district="preview", site=site, issued_at=1.0,
            action=action.action, scope=action.scope, target=action.target,
            drill=action.drill, location=get("location"), hazard=get("hazard"),
            strategy=get("strategy"), note=get("note"), issued_by=action.issued_by,
        )  # fmt: skip
    except (MessageError, InvalidName) as error:
        raise PreviewError(f"this request cannot be issued: {error}") from None


def _school(action: DistrictAction, board: DistrictBoard, view: dict[str, Any]) -> SchoolPreview:
    # The warnings hold no ages (those are fields): the confirmation's token covers them,
    # and a page must not go stale because a second passed (district.console.confirmation).
    summary = board.schools[view["site"]].summary
    warnings: list[str] = []
    if not view["reachable"]:
        warnings.append(
            f"UNREACHABLE ({view['unreachable_because']}): the request may not arrive, or "
            "arrive late and be refused as stale; its rooms may not be counted right"
        )
    link = "reachable" if view["reachable"] else view["unreachable_because"]
    shown = {
        "site": view["site"], "reachable": view["reachable"], "link": link,
        "last_contact_age_s": view["last_contact_age_s"],
        "summary_age_s": view["summary_age_s"], "stale": view["summary_stale"],
    }  # fmt: skip
    if summary is None:
        warnings.append("no summary yet: its rooms and what is in force are unknown")
        return SchoolPreview(
            **shown, rooms=None, rooms_unknown="no summary yet", in_force=(),
            warnings=tuple(warnings),
        )  # fmt: skip
    if view["summary_stale"]:  # the age is in the words and on the page
        warnings.append(
            "its summary is STALE (older than two of its heartbeats): what is in force "
            "there now may differ from what is shown"
        )
    warnings += precedence_warnings(action, summary.directives)
    if summary.shortened:
        warnings.append("its summary was shortened: a directive in force may not be listed")
    # A summary counts the school's rooms, not each building's: for one building the
    # district does not know how many rooms (nor whether the school has that building).
    if action.scope is ScopeKind.BUILDING:
        return SchoolPreview(
            **shown, rooms=None, in_force=summary.directives, warnings=tuple(warnings),
            rooms_unknown=f"rooms in building {action.target}: not known to the district "
            f"({summary.rooms} in the whole school)",
        )  # fmt: skip
    return SchoolPreview(
        **shown, rooms=summary.rooms, in_force=summary.directives, warnings=tuple(warnings)
    )


def precedence_warnings(action: DistrictAction, in_force: Sequence[SummaryDirective]) -> list[str]:
    """Plain warnings where the school's rules mean the request will not change rooms."""
    wanted = _WORDS[action.action].term
    found = _drill_mismatch(action, in_force)
    for directive in in_force:
        certain = _covers(action, directive)
        if certain is False:
            continue
        may = "" if certain else "may "
        held = f"{_describe(directive)} in {directive.total} room(s)"
        if action.action is Action.ALL_CLEAR:
            if directive.request is None:
                found.append(
                    f"{held}: the school {may or 'will '}refuse this ALL CLEAR; only the "
                    "school ends its own directive"
                )
        elif action.action in RANK:
            same_scope = (directive.scope, directive.target) == (action.scope, action.target)
            if (
                directive.action is Action.LOCKDOWN
                and same_scope
                and action.action is not Action.LOCKDOWN
            ):
                found.append(
                    f"{held}: the school will refuse this {wanted} (only a Lockdown or an "
                    "All clear replaces a Lockdown; the school releases it room by room)"
                )
            elif RANK[directive.action] > RANK[action.action]:
                found.append(
                    f"{held}: those rooms {may}stay in it (a {wanted} does not override a "
                    "higher directive)"
                )
    return found


def _drill_mismatch(action: DistrictAction, in_force: Sequence[SummaryDirective]) -> list[str]:
    """An All clear is a drill exactly when what it ends is (hub.directives): a drill
    never ends a real directive, and a real All clear never quietly ends a drill."""
    if action.action is not Action.ALL_CLEAR:
        return []
    ending = {d.drill for d in in_force if _covers(action, d) is not False}
    if ending == {True, False}:
        return [
            "drill and real directives are both in force: the school will refuse this "
            "ALL CLEAR; end the real ones and the drill separately"
        ]
    if ending and ending != {action.drill}:
        what = "a DRILL is" if action.drill is False else "real directives are"
        return [f"{what} in force: the school will refuse this ALL CLEAR unless it says so"]
    return []


def _covers(action: DistrictAction, directive: SummaryDirective) -> bool | None:
    """Whether ``directive`` holds rooms the request is for: True, False, or None when the
    summary cannot tell (a room's directive against a building's request)."""
    if action.scope is ScopeKind.SITE or directive.scope is ScopeKind.SITE:
        return True
    if directive.scope is ScopeKind.BUILDING:
        return directive.target == action.target
    return None


def _describe(d: SummaryDirective) -> str:
    where = "" if d.scope is ScopeKind.SITE else f" ({d.scope.value} {d.target})"
    drill = "DRILL " if d.drill else ""
    source = f"district request {d.request}" if d.request else "the school's own"
    return f"{drill}{_WORDS[d.action].term} #{d.seq}{where} ({source})"


def _words(action: DistrictAction, schools: tuple[SchoolPreview, ...]) -> str:
    term = _WORDS[action.action].term
    where = "" if action.scope is ScopeKind.SITE else f" ({action.scope.value} {action.target})"
    kind = "DRILL" if action.drill else "REAL - NOT A DRILL"
    group = "" if action.group is None else f" (group {action.group})"
    lines = [f"{kind}: {term}{where} for {len(schools)} school(s){group}:"]
    lines += [f"  {name}: {text}" for name, text in action.details.items() if text]
    for school in schools:
        rooms = (
            f"rooms unknown ({school.rooms_unknown})"
            if school.rooms is None
            else f"{school.rooms} rooms"
        )
        now = "; ".join(f"{_describe(d)} in {d.total} room(s)" for d in school.in_force)
        age = f" (summary {school.summary_age_s:.0f} s old: STALE)" if school.stale else ""
        lines.append(f"  {school.site}: {rooms}{age}" + (f"; in force now: {now}" if now else ""))
        lines += [f"    ! {warning}" for warning in school.warnings]
    total = sum(s.rooms for s in schools if s.rooms is not None)
    short = [s for s in schools if s.rooms is None]
    missing = (
        f" (not counted: {'; '.join(f'{s.site}, {s.rooms_unknown}' for s in short)})"
        if short
        else ""
    )
    lines.append(f"{total} rooms in all{missing}. Every other school is left alone.")
    return "\n".join(lines)


def _action_json(action: DistrictAction) -> dict[str, Any]:
    return {
        "action": action.action.value,
        "drill": action.drill,
        "scope": action.scope.value,
        "target": action.target,
        "group": action.group,
        "named": list(action.schools),
        "issued_by": action.issued_by,
        "details": {k: v for k, v in sorted(action.details.items()) if v is not None},
    }


def _school_json(school: SchoolPreview) -> dict[str, Any]:
    return dataclasses.asdict(school) | {
        "in_force": [
            {
                "seq": d.seq, "action": d.action.value, "scope": d.scope.value,
                "target": d.target, "drill": d.drill, "confirmed": d.confirmed,
                "total": d.total, "request": d.request, "pending_rooms": list(d.pending_rooms),
            }
            for d in school.in_force
        ],
        "warnings": list(school.warnings),
    }  # fmt: skip
