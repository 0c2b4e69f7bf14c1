"""The effective-directive rule: the newest directive among a room's scopes wins."""

from __future__ import annotations

from typing import Any

from protocol.messages import Directive
from protocol.rules import DirectiveBook, Offer
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.factories import directive


def site(seq: int, action: Action = Action.LOCKDOWN, **more: Any) -> Directive:
    return directive(seq=seq, action=action, **more)


def building(seq: int, target: str, action: Action = Action.HOLD, **more: Any) -> Directive:
    return directive(seq=seq, scope=ScopeKind.BUILDING, target=target, action=action, **more)


def room(seq: int, target: str, action: Action = Action.RELEASE, **more: Any) -> Directive:
    return directive(seq=seq, scope=ScopeKind.ROOM, target=target, action=action, **more)


def effective(book: DirectiveBook, room_id: str = "101", building_id: str = "main") -> Any:
    return book.effective(room=room_id, building=building_id)


def test_empty_book_has_no_effective_directive() -> None:
    book = DirectiveBook()
    assert effective(book) is None
    assert book.latest_seq == 0


def test_across_scopes_the_higher_precedence_in_force_wins() -> None:
    book = DirectiveBook()
    hold = site(1, Action.HOLD)
    secure = building(2, "main", Action.SECURE)
    evacuate = room(3, "101", Action.EVACUATE, location="Flag pole")
    for d in (hold, secure, evacuate):
        assert book.offer(d) is Offer.APPLIED
    assert effective(book) == evacuate
    assert effective(book, "102", "main") == secure
    assert effective(book, "gym", "annex") == hold
    assert book.latest_seq == 3


def test_a_later_lower_directive_elsewhere_never_unlocks_a_lockdown() -> None:
    """DOMAIN: Lockdown ends room by room, never by a broadcast of something else."""
    book = DirectiveBook()
    book.offer(room(1, "101", Action.LOCKDOWN))
    book.offer(site(2, Action.HOLD))
    book.offer(building(3, "main", Action.EVACUATE, location="Field"))
    assert effective(book).action is Action.LOCKDOWN
    assert effective(book, "102", "main").action is Action.EVACUATE


def test_all_clear_ends_everything_older_and_a_new_lockdown_overrides_a_release() -> None:
    book = DirectiveBook()
    book.offer(site(1, Action.LOCKDOWN))
    book.offer(room(2, "101", Action.RELEASE))
    assert effective(book).action is Action.RELEASE
    book.offer(site(3, Action.LOCKDOWN))
    assert effective(book).action is Action.LOCKDOWN
    book.offer(room(4, "101", Action.HOLD))
    book.offer(site(5, Action.ALL_CLEAR))
    assert effective(book).action is Action.ALL_CLEAR


def test_order_of_arrival_does_not_matter() -> None:
    """Retained messages for different scopes arrive in any order after a reconnect."""
    book = DirectiveBook()
    for d in (room(3, "101", Action.SECURE), building(2, "main", Action.HOLD), site(1)):
        book.offer(d)
    assert effective(book).seq == 1  # the site Lockdown: nothing newer ended it


def test_room_release_ends_a_site_lockdown_for_that_room_only() -> None:
    book = DirectiveBook()
    book.offer(site(1, Action.LOCKDOWN))
    release = room(2, "101")
    book.offer(release)
    assert effective(book) == release
    assert effective(book, "102").action is Action.LOCKDOWN


def test_later_site_directive_supersedes_a_room_release() -> None:
    book = DirectiveBook()
    book.offer(site(1, Action.LOCKDOWN))
    book.offer(room(2, "101"))
    again = site(3, Action.LOCKDOWN)
    assert book.offer(again) is Offer.APPLIED
    assert effective(book) == again


def test_building_scope_covers_its_rooms_and_no_others() -> None:
    book = DirectiveBook()
    book.offer(site(1, Action.HOLD))
    shelter = directive(
        seq=2,
        scope=ScopeKind.BUILDING,
        target="main",
        action=Action.SHELTER,
        hazard="tornado",
        strategy="Go to the shelter area",
    )
    book.offer(shelter)
    assert effective(book, "101", "main") == shelter
    assert effective(book, "gym", "annex").action is Action.HOLD


def test_older_building_directive_loses_to_newer_site_one() -> None:
    book = DirectiveBook()
    book.offer(building(1, "main", Action.SECURE))
    book.offer(site(2, Action.ALL_CLEAR))
    assert effective(book).action is Action.ALL_CLEAR


def test_another_rooms_directive_does_not_apply() -> None:
    book = DirectiveBook()
    book.offer(site(1, Action.LOCKDOWN))
    book.offer(room(2, "102"))
    assert effective(book, "101").action is Action.LOCKDOWN
    assert effective(book, "102").action is Action.RELEASE


def test_another_buildings_directive_does_not_apply() -> None:
    book = DirectiveBook()
    book.offer(building(1, "annex", Action.LOCKDOWN))
    assert effective(book, "101", "main") is None


def test_same_directive_again_is_a_duplicate_and_changes_nothing() -> None:
    book = DirectiveBook()
    first = site(4)
    book.offer(first)
    assert book.offer(site(4)) is Offer.DUPLICATE
    assert book.by_scope == {(ScopeKind.SITE, ""): first}


def test_older_seq_in_the_same_scope_is_stale_and_ignored() -> None:
    book = DirectiveBook()
    newer = site(5, Action.ALL_CLEAR)
    book.offer(newer)
    assert book.offer(site(4, Action.LOCKDOWN)) is Offer.STALE
    assert effective(book) == newer


def test_same_seq_with_different_content_is_stale_not_applied() -> None:
    """A replayed seq with altered content must never replace what was applied."""
    book = DirectiveBook()
    original = site(5, Action.LOCKDOWN)
    book.offer(original)
    assert book.offer(site(5, Action.ALL_CLEAR)) is Offer.STALE
    assert effective(book) == original


def test_older_seq_in_another_scope_is_still_applied_but_not_effective() -> None:
    book = DirectiveBook()
    book.offer(site(5, Action.LOCKDOWN))
    assert book.offer(room(3, "101")) is Offer.APPLIED
    assert effective(book).seq == 5
