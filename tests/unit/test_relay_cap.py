"""CAP 1.2 out, without a hub: every message type against the OASIS schema, the SRP
mapping as docs/integrations.md documents it, what an All clear or a release ends, and
the [[cap]] and [cap_feed] keys of relay.toml."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from hub.relay.cap import MAPPING, relay_test_alert
from hub.relay.cap_records import CapWriter, ended_by
from hub.relay.cap_scope import CapAudience, CapScope
from hub.relay.config import SiteDetails, load_relay_config
from hub.relay.store import Recorded
from hub.relay.views import destinations_of
from protocol.inventory import Room
from protocol.messages import Directive
from protocol.rules import DirectiveBook
from protocol.srp import Action, Vocabulary
from protocol.topics import ScopeKind
from tests.unit.factories import T0, directive
from tests.unit.test_relay_config import SITE, fails, write

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
SCHEMA = xmlschema.XMLSchema(Path(__file__).parents[1] / "cap" / "CAP-v1.2.xsd")
ROOMS = {
    "101": Room(id="101", building="main", floor="1", name="Room 101"),
    "201": Room(id="201", building="annex", floor="2"),
}
PLACE = SiteDetails(
    name="Lincoln Elementary",
    address={},
    latitude=30.2672,
    longitude=-97.7431,
    console_url="https://hub.lincoln.example.org",
    cap_sender="roomcast@hub.lincoln.example.org",
    geocode=(("UGC", "TXZ192"), ("SAME", "048453")),
)
AUDIENCES = (CapAudience(), CapAudience(scope=CapScope.PRIVATE, addresses=("signage",)))


def writer(book: DirectiveBook | None = None, *, drill_room: bool = False) -> CapWriter:
    before = book or DirectiveBook()
    return CapWriter(
        site_id="lincoln",
        site=PLACE,
        vocabulary=Vocabulary(),
        room=ROOMS.get,
        drill_in_room=lambda _: drill_room,
        ends=lambda d: ended_by(d, before, ROOMS),
        panic_at=lambda _: T0,
    )


def press(kind: str, **changes: Any) -> Recorded:
    row = {"event_id": "ev1", "kind": kind, "room": "101", "device_id": "node-101"}
    return Recorded(T0, event=row | {"received_at": T0, "cancels": None} | changes)


def valid(draft_xml: bytes) -> ET.Element:
    SCHEMA.validate(draft_xml.decode("utf-8"))
    return ET.fromstring(draft_xml)


def text(alert: ET.Element, path: str) -> str | None:
    return alert.findtext("/".join(CAP + part for part in path.split("/")))


DIRECTIVES = [
    directive(action=Action.HOLD),
    directive(action=Action.SECURE, scope=ScopeKind.BUILDING, target="main"),
    directive(action=Action.LOCKDOWN, drill=True),
    directive(action=Action.EVACUATE, location="the flag pole"),
    directive(action=Action.SHELTER, hazard="tornado", strategy="Go to the shelter area."),
    directive(action=Action.SHELTER, hazard="hazmat", strategy="Seal the room."),
    directive(action=Action.ALL_CLEAR),
    directive(action=Action.RELEASE, scope=ScopeKind.ROOM, target="101"),
]


@pytest.mark.parametrize("audience", AUDIENCES, ids=["restricted", "private"])
@pytest.mark.parametrize("given", DIRECTIVES, ids=lambda d: f"{d.action.value}-{d.hazard}")
def test_every_directive_is_a_valid_cap_alert(given: Directive, audience: CapAudience) -> None:
    alert = valid(writer().draft(Recorded(T0, directive=given)).render(audience))
    assert text(alert, "identifier") == f"roomcast.lincoln.directive.{given.seq}"
    assert text(alert, "status") == ("Exercise" if given.drill else "Actual")
    assert text(alert, "scope") == audience.scope.value
    assert (text(alert, "info/area/areaDesc") or "").startswith("Lincoln Elementary")


@pytest.mark.parametrize("kind", ["panic", "cancel", "staff_assist"])
def test_every_press_is_a_valid_actual_alert_even_during_a_drill(kind: str) -> None:
    recorded = press(kind, cancels="ev0" if kind == "cancel" else None)
    alert = valid(writer(drill_room=True).draft(recorded).render(CapAudience()))
    assert text(alert, "status") == "Actual"
    assert "drill" in (text(alert, "note") or "")
    assert text(alert, "msgType") == ("Cancel" if kind == "cancel" else "Alert")
    assert (
        text(alert, "info/area/areaDesc")
        == "Lincoln Elementary, building main, Room 101 (room 101)"
    )


def test_shelter_takes_its_category_from_the_hazard_and_says_the_strategy() -> None:
    tornado, hazmat = DIRECTIVES[4], DIRECTIVES[5]
    first = valid(writer().draft(Recorded(T0, directive=tornado)).render(CapAudience()))
    assert text(first, "info/category") == "Met"
    assert text(first, "info/instruction") == "Shelter for tornado! Go to the shelter area."
    second = valid(writer().draft(Recorded(T0, directive=hazmat)).render(CapAudience()))
    assert text(second, "info/category") == "CBRNE"


def test_the_site_geocodes_follow_the_circle() -> None:
    alert = valid(writer().draft(press("panic")).render(CapAudience()))
    codes = alert.findall(f"{CAP}info/{CAP}area/{CAP}geocode")
    assert [(c.findtext(f"{CAP}valueName"), c.findtext(f"{CAP}value")) for c in codes] == [
        ("UGC", "TXZ192"),
        ("SAME", "048453"),
    ]


def test_the_mapping_covers_every_action_and_press() -> None:
    presses = {"panic", "cancel", "staff_assist"}
    assert set(MAPPING) == {a.value for a in Action} | presses | {"test", "offline_during_lockdown"}
    assert MAPPING["lockdown"].severity == "Extreme" and MAPPING["panic"].certainty == "Likely"


def test_a_release_ends_the_lockdown_in_force_in_its_room_and_an_all_clear_its_scope() -> None:
    book = DirectiveBook()
    site_lockdown = directive(seq=1, action=Action.LOCKDOWN)
    annex = directive(seq=2, action=Action.HOLD, scope=ScopeKind.BUILDING, target="annex")
    room = directive(seq=3, action=Action.SECURE, scope=ScopeKind.ROOM, target="201")
    for d in (site_lockdown, annex, room):
        book.offer(d)
    release = directive(seq=4, action=Action.RELEASE, scope=ScopeKind.ROOM, target="101")
    assert ended_by(release, book, ROOMS) == [site_lockdown]
    building = directive(seq=4, action=Action.ALL_CLEAR, scope=ScopeKind.BUILDING, target="annex")
    assert ended_by(building, book, ROOMS) == [annex, room]
    assert ended_by(directive(seq=4, action=Action.ALL_CLEAR), book, ROOMS) == [
        site_lockdown,
        annex,
        room,
    ]
    update = directive(seq=4, action=Action.HOLD)
    alert = valid(writer(book).draft(Recorded(T0, directive=update)).render(CapAudience()))
    assert text(alert, "msgType") == "Update"
    assert (text(alert, "references") or "").split(",")[1] == "roomcast.lincoln.directive.1"


CAP_TABLE = """
[[cap]]
name = "signage"
url = "https://alerts.example.org/cap"
"""


def test_a_cap_destination_reads_with_its_defaults(tmp_path: Path) -> None:
    config = load_relay_config(write(tmp_path, SITE + CAP_TABLE))
    assert config is not None
    (cap,) = config.caps
    assert cap.secret == b"" and cap.audience.scope is CapScope.RESTRICTED
    assert config.site.radius_km == 0.5
    assert config.site.cap_sender == "roomcast@hub.lincoln.example.org"
    assert config.cap_feed is None and config.site.geocode == ()
    codes = SITE.replace(
        "[site.address]",
        '[site.geocode]\nUGC = ["TXZ192", "TXC453"]\nSAME = "048453"\n[site.address]',
    )
    config = load_relay_config(write(tmp_path, codes + CAP_TABLE))
    assert config is not None
    assert config.site.geocode == (("UGC", "TXZ192"), ("UGC", "TXC453"), ("SAME", "048453"))
    bad = SITE.replace("[site.address]", "[site.geocode]\nUGC = 5\n[site.address]")
    assert "site.geocode.UGC: must be a code" in fails(tmp_path, bad + CAP_TABLE)


def test_cap_mistakes_are_named(tmp_path: Path) -> None:
    private = fails(tmp_path, SITE + CAP_TABLE + 'scope = "Private"\n')
    assert "cap[0].addresses: Private needs addresses" in private
    assert 'must be "Restricted" or "Private"' in fails(
        tmp_path, SITE + CAP_TABLE + 'scope = "x"\n'
    )
    plain = fails(tmp_path, SITE + CAP_TABLE.replace("https://alerts", "http://alerts"))
    assert "use https://" in plain
    feed = SITE + CAP_TABLE + '[cap_feed]\nusername = "signage"\npassword = "short"\n'
    assert "cap_feed.password: is shorter than 16 characters" in fails(tmp_path, feed)


def test_the_office_sees_cap_destinations(tmp_path: Path) -> None:
    config = load_relay_config(write(tmp_path, SITE + CAP_TABLE))
    assert config is not None
    (where,) = destinations_of(config)
    assert where.kind == "CAP" and where.label.endswith("(CAP)")


@pytest.mark.parametrize("audience", AUDIENCES)
def test_relay_test_in_cap_is_a_valid_alert_of_status_test(audience: CapAudience) -> None:
    xml = relay_test_alert("test:0a1b2c", T0, site_id="lincoln", site=PLACE).render(audience)
    SCHEMA.validate(xml.decode("utf-8"))
    root = ET.fromstring(xml)
    assert root.findtext(f"{CAP}identifier") == "roomcast.lincoln.test.0a1b2c"
    assert (root.findtext(f"{CAP}status"), root.findtext(f"{CAP}msgType")) == ("Test", "Alert")
    assert root.findtext(f"{CAP}scope") == audience.scope.value
    assert "act on nothing" in (root.findtext(f"{CAP}note") or "")
    info = root.find(f"{CAP}info")
    assert info is not None
    assert info.findtext(f"{CAP}responseType") == "None"
    assert info.findtext(f"{CAP}headline") == "TEST: Lincoln Elementary (roomcast relay test)"
    assert info.findtext(f"{CAP}area/{CAP}geocode/{CAP}value") == "TXZ192"
