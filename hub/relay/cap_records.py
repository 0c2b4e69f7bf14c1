"""What each record says in CAP: a press or a directive as a :class:`CapDraft`.

A press is always ``Actual`` (see :mod:`hub.relay.messages`: a press during a drill may be
real), with a note when a drill was in force in its room; a directive is ``Exercise`` when
it is a drill. ``msgType`` follows what the record does to what was in force: a cancel
points at its panic, an All clear or a room's release at the directives it ends, and a
directive that replaces one in force in its own scope is an ``Update`` of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hub.relay.cap import (
    MAPPING,
    SHELTER_CATEGORY,
    CapDraft,
    CapText,
    cap_language,
    circle,
    identifier,
    reference,
    sent,
)
from hub.relay.config import SiteDetails
from hub.relay.store import Recorded
from protocol.inventory import Room
from protocol.messages import Directive
from protocol.rules import DirectiveBook
from protocol.srp import Action, Vocabulary, is_idle
from protocol.topics import ScopeKind
from protocol.wording import directive_lines

if TYPE_CHECKING:
    from hub.engine import Engine

DRILL_NOTE = "This is a drill."
PRESS_IN_DRILL_NOTE = (
    "Pressed while a drill was in force in this room: treat as real until the school says "
    "otherwise."
)


@dataclass(frozen=True, kw_only=True)
class CapWriter:
    site_id: str
    site: SiteDetails
    vocabulary: Vocabulary
    room: Callable[[str], Room | None]
    drill_in_room: Callable[[str], bool]
    ends: Callable[[Directive], list[Directive]]
    """What was in force before the directive that it replaces or ends (see relay.py)."""
    panic_at: Callable[[str], float | None]
    """When the hub recorded a panic (a cancel's reference names it)."""
    translations: tuple[Vocabulary, ...] = ()
    """The site's other languages: each gets an ``info`` block of a directive's alert."""

    def draft(self, recorded: Recorded) -> CapDraft:
        if recorded.event is not None:
            return self._press(recorded.event)
        assert recorded.directive is not None
        return self._directive(recorded.directive)

    def _ident(self, key: str) -> str:
        return identifier(self.site_id, key)

    def _where(self, room: Room | None, *, building: str = "", room_id: str = "") -> str:
        parts = [self.site.name]
        if room is not None:
            parts += [f"building {room.building}", f"{room.label} (room {room.id})"]
        elif room_id:
            parts.append(f"room {room_id}")
        elif building:
            parts.append(f"building {building}")
        return ", ".join(parts)

    def _press(self, event: dict[str, Any]) -> CapDraft:
        kind, room = event["kind"], self.room(event["room"])
        where = self._where(room, room_id=event["room"])
        mapping = MAPPING[kind]
        references: tuple[str, ...] = ()
        if kind == "cancel" and event["cancels"]:
            at = self.panic_at(event["cancels"])
            if at is not None:
                ident = self._ident(f"event:{event['cancels']}")
                references = (reference(self.site.cap_sender, ident, at),)
        return CapDraft(
            identifier=self._ident(f"event:{event['event_id']}"),
            sender=self.site.cap_sender,
            sent=sent(event["received_at"]),
            status="Actual",
            msg_type="Cancel" if references else "Alert",
            mapping=mapping,
            headline=f"{mapping.event.upper()}: {where}",
            description=f"{mapping.event} from device {event['device_id']} in {where}.",
            instruction=_PRESS_INSTRUCTION[kind],
            web=f"{self.site.console_url}/alerts#alert-{event['event_id']}",
            area=where,
            circle=circle(self.site),
            geocode=self.site.geocode,
            note=PRESS_IN_DRILL_NOTE if self.drill_in_room(event["room"]) else None,
            references=references,
        )

    def _directive(self, directive: Directive) -> CapDraft:
        mapping = MAPPING[directive.action.value]
        if directive.action is Action.SHELTER and directive.hazard:
            category = SHELTER_CATEGORY.get(directive.hazard.lower(), mapping.category)
            mapping = replace(mapping, category=category, event=f"Shelter for {directive.hazard}")
        ended = self.ends(directive)
        references = tuple(
            reference(self.site.cap_sender, self._ident(f"directive:{d.seq}"), d.issued_at)
            for d in ended
        )
        if is_idle(directive.action):
            msg_type = "Cancel" if references else "Alert"
        else:
            msg_type = "Update" if references else "Alert"
        where = self._where(
            self.room(directive.target) if directive.scope is ScopeKind.ROOM else None,
            building=directive.target if directive.scope is ScopeKind.BUILDING else "",
            room_id=directive.target if directive.scope is ScopeKind.ROOM else "",
        )
        term = self.vocabulary[directive.action].term
        drill = " (DRILL)" if directive.drill else ""
        translations = tuple(
            CapText(
                cap_language(v.language),
                f"{v[directive.action].term}{drill}: {where}",
                _translated(directive, v, where),
                self.instruction(directive, v),
            )
            for v in self.translations
        )
        return CapDraft(
            language=cap_language(self.vocabulary.language),
            translations=translations,
            identifier=self._ident(f"directive:{directive.seq}"),
            sender=self.site.cap_sender,
            sent=sent(directive.issued_at),
            status="Exercise" if directive.drill else "Actual",
            msg_type=msg_type,
            mapping=mapping,
            headline=f"{term}{drill}: {where}",
            description=(
                _describe(directive, term, where)
                if self.vocabulary.language == "en"
                else _translated(directive, self.vocabulary, where)
            ),
            instruction=self.instruction(directive),
            web=f"{self.site.console_url}/board",
            area=where,
            circle=circle(self.site),
            geocode=self.site.geocode,
            note=DRILL_NOTE if directive.drill else None,
            references=references,
        )

    def instruction(self, directive: Directive, vocabulary: Vocabulary | None = None) -> str:
        """The words the classroom displays show for it (in ``vocabulary``'s language;
        by default the site's first)."""
        vocabulary = vocabulary or self.vocabulary
        if vocabulary.language != "en":
            lines = directive_lines(directive, vocabulary)
            return f"{vocabulary[directive.action].term}! {' '.join(lines)}"
        if directive.action is Action.EVACUATE and directive.location:
            return f"Evacuate! To {directive.location}."
        if directive.action is Action.SHELTER and directive.hazard:
            return f"Shelter for {directive.hazard}! {directive.strategy or ''}".strip()
        return vocabulary[directive.action].directive


_PRESS_INSTRUCTION = {
    "panic": "Silent alarm from a classroom: respond per the school's plan; do not call the room.",
    "cancel": "The room cancelled its panic alarm (a false alarm): confirm with the office.",
    "staff_assist": "A classroom asks for staff assistance.",
}


def _translated(directive: Directive, vocabulary: Vocabulary, where: str) -> str:
    """A description in a language other than English: the term and where, then what
    the displays say (the office's name and the note stay as typed)."""
    lines = " ".join(directive_lines(directive, vocabulary))
    return f"{vocabulary[directive.action].term}: {where}. {lines} ({directive.issued_by})"


def _describe(directive: Directive, term: str, where: str) -> str:
    text = f"{term} issued by {directive.issued_by} for {where}."
    if directive.note:
        text += f" Note: {directive.note}"
    return text


def writer_for(
    engine: Engine,
    *,
    site_id: str,
    site: SiteDetails,
    drill_in_room: Callable[[str], bool],
    panic_at: Callable[[str], float | None],
) -> CapWriter:
    """The writer over a running hub's engine (the inventory, the record of directives)."""
    rooms = engine.presence.inventory.rooms
    return CapWriter(
        site_id=site_id,
        site=site,
        vocabulary=engine.directives.vocabulary,
        translations=engine.wording.languages[1:],
        room=rooms.get,
        drill_in_room=drill_in_room,
        ends=lambda d: ended_by(d, engine.directives.effective_after(d.seq - 1), rooms),
        panic_at=panic_at,
    )


def ended_by(
    directive: Directive, before: DirectiveBook, rooms: Mapping[str, Room]
) -> list[Directive]:
    """What ``directive`` replaces (its own scope's) or ends (an All clear: its scope and
    those inside it; a release: what was in force in the room), as the book stood before."""
    live = {key: d for key, d in before.by_scope.items() if not is_idle(d.action)}
    scope, target = directive.scope, directive.target
    if directive.action is Action.RELEASE:
        room = rooms.get(target)
        found = None if room is None else before.effective(room=target, building=room.building)
        return [found] if found is not None and not is_idle(found.action) else []
    if directive.action is not Action.ALL_CLEAR:
        return [d for key, d in live.items() if key == (scope, target)]

    def inside(key: tuple[ScopeKind, str]) -> bool:
        if scope is ScopeKind.SITE or key == (scope, target):
            return True
        room = rooms.get(key[1]) if key[0] is ScopeKind.ROOM else None
        return scope is ScopeKind.BUILDING and room is not None and room.building == target

    return sorted((d for key, d in live.items() if inside(key)), key=lambda d: d.seq)
