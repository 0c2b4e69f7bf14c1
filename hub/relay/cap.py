"""CAP 1.2 (OASIS Common Alerting Protocol) for each record the relay hands off.

Signage, desktop-alert clients and monitoring centres speak CAP; the mapping from SRP
actions to CAP's category, urgency, severity and certainty is the table below and in
docs/integrations.md. A draft is built when a record is queued (so every retry sends the
same words) and rendered per destination, because CAP's ``scope`` (who may see it) is the
destination's, not the record's. The identifier is made from the idempotency key and the
site, so the same record is the same CAP alert at every destination and in the feed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from hub.relay.cap_scope import CapAudience, CapScope
from hub.relay.config import SiteDetails

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
ET.register_namespace("cap", NAMESPACE)  # inside an Atom feed; alone it is the default


@dataclass(frozen=True)
class Mapping:
    category: str
    event: str
    response: str
    urgency: str
    severity: str
    certainty: str


MAPPING: dict[str, Mapping] = {
    # A press is a report by a person on site, never verified by the hub: Likely.
    "panic": Mapping("Security", "Panic alarm", "Assess", "Immediate", "Extreme", "Likely"),
    "cancel": Mapping("Security", "Panic alarm cancelled", "AllClear", "Past", "Minor", "Observed"),
    "staff_assist": Mapping("Other", "Staff assist", "Assess", "Expected", "Moderate", "Likely"),
    # A directive is a decision the office made: what it asks is Observed.
    "lockdown": Mapping("Security", "Lockdown", "Shelter", "Immediate", "Extreme", "Observed"),
    "secure": Mapping("Security", "Secure", "Shelter", "Immediate", "Severe", "Observed"),
    "hold": Mapping("Security", "Hold", "Avoid", "Immediate", "Moderate", "Observed"),
    # The hub is not told why a school evacuates (a fire alarm runs on its own panel).
    "evacuate": Mapping("Safety", "Evacuate", "Evacuate", "Immediate", "Severe", "Observed"),
    "shelter": Mapping("Safety", "Shelter", "Shelter", "Immediate", "Severe", "Observed"),
    "all_clear": Mapping("Safety", "All clear", "AllClear", "Past", "Minor", "Observed"),
    "release": Mapping("Security", "Lockdown released", "AllClear", "Past", "Minor", "Observed"),
    # A room's display went dark while the room is locked down: the hub saw it, so Observed;
    # what it means (a power cut, a cable, a person) is for dispatch to assess.
    "offline_during_lockdown": Mapping(
        "Security", "Display offline during lockdown", "Assess", "Immediate", "Severe", "Observed"
    ),
    # `roomcast relay test`: status Test, about nothing, asking nothing.
    "test": Mapping("Other", "Test", "None", "Unknown", "Unknown", "Unknown"),
}

TEST_NOTE = "A test of the hand-off from the Roomcast hub (roomcast relay test): act on nothing."

SHELTER_CATEGORY = {"tornado": "Met", "earthquake": "Geo", "tsunami": "Geo", "hazmat": "CBRNE"}
"""Shelter's category by hazard (a district's own hazard stays Safety)."""


def identifier(site_id: str, key: str) -> str:
    """``roomcast.<site>.event.<id>`` / ``roomcast.<site>.directive.<seq>``: stable, and
    free of the spaces, commas and markup characters CAP forbids."""
    return f"roomcast.{site_id}.{key.replace(':', '.')}"


def sent(at: float) -> str:
    """CAP's dateTime: whole seconds, with the hub's UTC offset (never ``Z``)."""
    return datetime.fromtimestamp(int(at)).astimezone().isoformat(timespec="seconds")


def reference(sender: str, ident: str, at: float) -> str:
    return f"{sender},{ident},{sent(at)}"


@dataclass(frozen=True)
class CapText:
    """One more ``info`` block's words: the same alert in another of the site's languages."""

    language: str
    headline: str
    description: str
    instruction: str


def cap_language(code: str) -> str:
    """CAP's ``language`` (RFC 3066) for a site language code: English stays ``en-US``."""
    return "en-US" if code == "en" else code


@dataclass(frozen=True, kw_only=True)
class CapDraft:
    """Everything of one CAP alert but its scope."""

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    mapping: Mapping
    headline: str
    description: str
    instruction: str
    web: str
    area: str
    circle: str
    geocode: tuple[tuple[str, str], ...] = ()
    note: str | None = None
    references: tuple[str, ...] = ()
    language: str = "en-US"
    translations: tuple[CapText, ...] = ()
    """CAP 1.2 allows an ``info`` block per language: one per other language of the site,
    after the first language's, each the same alert (category, urgency, area) in its words."""

    def render(self, audience: CapAudience) -> bytes:
        data: bytes = ET.tostring(
            self.element(audience),
            encoding="utf-8",
            xml_declaration=True,
            default_namespace=NAMESPACE,
        )
        return data

    def element(self, audience: CapAudience) -> ET.Element:
        alert = ET.Element(f"{{{NAMESPACE}}}alert")
        _add(alert, "identifier", self.identifier)
        _add(alert, "sender", self.sender)
        _add(alert, "sent", self.sent)
        _add(alert, "status", self.status)
        _add(alert, "msgType", self.msg_type)
        _add(alert, "scope", audience.scope.value)
        if audience.scope is CapScope.RESTRICTED:
            _add(alert, "restriction", audience.restriction)
        else:
            _add(alert, "addresses", " ".join(audience.addresses))
        if self.note:
            _add(alert, "note", self.note)
        if self.references:
            _add(alert, "references", " ".join(self.references))
        first = CapText(self.language, self.headline, self.description, self.instruction)
        for words in (first, *self.translations):
            self._info(alert, words)
        return alert

    def _info(self, alert: ET.Element, words: CapText) -> None:
        info, m = ET.SubElement(alert, f"{{{NAMESPACE}}}info"), self.mapping
        _add(info, "language", words.language)
        _add(info, "category", m.category)
        _add(info, "event", m.event)
        _add(info, "responseType", m.response)
        _add(info, "urgency", m.urgency)
        _add(info, "severity", m.severity)
        _add(info, "certainty", m.certainty)
        _add(info, "senderName", "Roomcast hub")
        _add(info, "headline", words.headline)
        _add(info, "description", words.description)
        _add(info, "instruction", words.instruction)
        _add(info, "web", self.web)
        area = ET.SubElement(info, f"{{{NAMESPACE}}}area")
        _add(area, "areaDesc", self.area)
        _add(area, "circle", self.circle)
        for name, value in self.geocode:  # the zone and county codes a district gives
            code = ET.SubElement(area, f"{{{NAMESPACE}}}geocode")
            _add(code, "valueName", name)
            _add(code, "value", value)


def _add(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, f"{{{NAMESPACE}}}{name}").text = text


def relay_test_alert(key: str, at: float, *, site_id: str, site: SiteDetails) -> CapDraft:
    """``roomcast relay test`` in CAP: ``status`` Test (which CAP reserves for "technical
    testing only, all recipients disregard"), about the site as a whole, no room."""
    mapping = MAPPING["test"]
    return CapDraft(
        identifier=identifier(site_id, key),
        sender=site.cap_sender,
        sent=sent(at),
        status="Test",
        msg_type="Alert",
        mapping=mapping,
        headline=f"TEST: {site.name} (roomcast relay test)",
        description=f"A test message from the Roomcast hub of {site.name}. {TEST_NOTE}",
        instruction="None: this is a test. Disregard it.",
        web=f"{site.console_url}/board",
        area=site.name,
        circle=circle(site),
        geocode=site.geocode,
        note=TEST_NOTE,
    )


def circle(site: SiteDetails) -> str:
    """CAP's circle: ``lat,lon radius`` (WGS 84, km)."""
    return f"{site.latitude:g},{site.longitude:g} {site.radius_km:g}"
