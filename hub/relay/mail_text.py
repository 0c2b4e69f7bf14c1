"""What an alert email says: a subject a person reads on a lock screen, and a plain body.

Built from the queued message's JSON (:mod:`hub.relay.messages`), so every retry says
exactly the same thing. The site's time zone is not something the hub is told, so times
are the hub's own local time with its UTC offset, which a reader can always convert.
"""

from __future__ import annotations

import email.policy
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

_PRESSES = {
    "panic": ("PANIC", "A panic button was pressed"),
    "cancel": ("PANIC CANCELLED", "The room cancelled its panic alert (a false alarm)"),
    "staff_assist": ("STAFF ASSIST", "A staff-assist request was made"),
}


def local_time(at: float) -> str:
    """``10:02:03 UTC-05:00, 2026-01-01``: the hub's clock, with its offset said."""
    stamp = time.localtime(at)
    offset = time.strftime("%z", stamp)
    return (
        time.strftime("%H:%M:%S", stamp)
        + f" UTC{offset[:3]}:{offset[3:]}, "
        + time.strftime("%Y-%m-%d", stamp)
    )


def headline(body: dict[str, Any]) -> str:
    """PANIC, LOCKDOWN, ALL CLEAR ... with DRILL or DURING A DRILL as the case is."""
    directive = body["directive"]
    if body["kind"] == "offline_during_lockdown":
        term = f"OFFLINE DURING {str(directive['term']).upper()}"
        return f"DRILL: {term}" if body["drill"] else term
    if directive is not None:
        term = str(directive["term"]).upper()
        return f"DRILL: {term}" if body["drill"] else term
    word = _PRESSES.get(body["kind"], (body["kind"].upper(), ""))[0]
    return f"{word} DURING A DRILL" if body["during_drill"] else word


def place(body: dict[str, Any]) -> str:
    """The room (and its name), the building, or the whole site."""
    if body["room"] is not None:
        name = body["room_name"]
        return f"{name} (room {body['room']})" if name and name != body["room"] else body["room"]
    if body["building"] is not None:
        return f"building {body['building']}"
    return f"all of {body['site']['name']}"


def subject(body: dict[str, Any]) -> str:
    return f"{headline(body)}: {place(body)} at {local_time(body['at_unix'])}"


def message_id(body: dict[str, Any]) -> str:
    """The same for every retry of one alert: a mail client shows a repeat as one thread."""
    key = str(body["id"]).replace(":", ".")
    return f"<{key}@{body['site']['id']}.roomcast.invalid>"


def _what(body: dict[str, Any]) -> list[str]:
    directive = body["directive"]
    if directive is None:
        what = _PRESSES.get(body["kind"], (body["kind"], body["kind"]))[1]
        lines = [f"What:     {what}"]
        if body["during_drill"]:
            lines.append("          while a drill was in force in the room: treat it as REAL")
        return lines
    if body["kind"] == "offline_during_lockdown":
        return [
            "What:     The room's display went offline while the room is under "
            f"{directive['term']}",
            f"          (directive {directive['seq']}, issued by {directive['issued_by']}):"
            " the office can no longer see its screen",
        ]
    lines = [f"What:     {directive['term']} issued by {directive['issued_by']}"]
    if directive.get("text"):  # what the classroom displays say, in the site's first language
        lines.append(f"Says:     {' '.join(directive['text'])}")
    for field in ("location", "hazard", "strategy", "note"):
        if directive[field]:
            lines.append(f"{field.capitalize() + ':':<10}{directive[field]}")
    return lines


def _where(body: dict[str, Any]) -> list[str]:
    site, address = body["site"], body["site"]["address"]
    civic = ", ".join(
        part
        for part in (address["street"], address["city"], address["region"], address["postal_code"])
        if part
    )
    lines = [f"Where:    {site['name']}, {civic}, {address['country']}"]
    inside = [
        f"building {body['building']}" if body["building"] else "",
        f"floor {body['floor']}" if body["floor"] else "",
        place(body) if body["room"] else "",
    ]
    if any(inside):
        lines.append("          " + ", ".join(part for part in inside if part))
    return lines


def text(body: dict[str, Any]) -> str:
    """The plain-text body: what, where, when, the device, and the console link."""
    lines = [headline(body) + (" (this is a drill)" if body["drill"] else ""), ""]
    lines += _what(body) + _where(body)
    lines.append(f"When:     {local_time(body['at_unix'])} (the hub's clock)")
    if body["device"]:
        lines.append(f"Device:   {body['device']}")
    lines += [f"Console:  {body['console_url']}", ""]
    lines.append(f"Reference {body['id']}, sent by the Roomcast hub. The same alert may")
    lines.append("arrive twice (with the same Message-ID) if the mail server was slow to answer.")
    return "\n".join(lines) + "\n"


def compose(body: dict[str, Any], *, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    # The default policy folds a long subject right after "Subject:", which some mail
    # clients show with a blank first line; SMTP's own line limit (998) is what binds.
    mail = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    mail["Subject"] = subject(body)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(datetime.fromtimestamp(body["at_unix"]).astimezone())
    mail["Message-ID"] = message_id(body)
    mail["X-Roomcast-Id"] = body["id"]
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies back
    if not body["drill"]:
        mail["Importance"] = "high"
    mail.set_content(text(body))
    return mail
