"""The email destination's configuration and what its messages say (no server needed).

Every mistake in an [[email]] table is named with the file, the key and the fix; the
subject and body are built from the queued JSON, so a retry says exactly the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hub.relay.config import Security, load_relay_config
from hub.relay.mail_text import compose, local_time, subject, text
from hub.relay.views import destinations_of
from tests.unit.test_relay_config import HOOK, SITE, fails, write

MAIL = """
[[email]]
name = "sro"
host = "smtp.district.example.org"
username = "roomcast"
password = "mail-password"
from = "roomcast@lincoln.example.org"
to = ["sro@district.example.org", "principal@lincoln.example.org"]
"""


def press(**fields: Any) -> dict[str, Any]:
    """A panic's queued JSON, as hub/relay/messages.py builds it."""
    body: dict[str, Any] = {
        "id": "event:3f2a9c0d7e",
        "kind": "panic",
        "drill": False,
        "during_drill": False,
        "at_unix": 1767261723.12,
        "site": {
            "id": "lincoln",
            "name": "Lincoln Elementary",
            "address": {
                "street": "100 Main St",
                "city": "Austin",
                "region": "TX",
                "postal_code": "78701",
                "country": "US",
            },
        },
        "building": "main",
        "floor": "1",
        "room": "101",
        "room_name": "Room 101",
        "device": "node-101",
        "directive": None,
        "console_url": "https://hub.lincoln.example.org/alerts#alert-3f2a9c0d7e",
    }
    return body | fields


def test_an_email_table_reads_with_its_defaults(tmp_path: Path) -> None:
    config = load_relay_config(write(tmp_path, SITE + MAIL))
    assert config is not None and not config.webhooks
    (mail,) = config.emails
    assert (mail.security, mail.port, mail.timeout_s, mail.drills) == (
        Security.STARTTLS,
        587,
        10.0,
        False,
    )
    assert mail.recipients == ("sro@district.example.org", "principal@lincoln.example.org")
    assert "mail-password" not in repr(config)  # never in a log line
    assert [d.name for d in config.destinations] == ["sro"]
    smtps = load_relay_config(write(tmp_path, SITE + MAIL + 'security = "tls"\n'))
    assert smtps is not None and smtps.emails[0].port == 465


def test_plain_smtp_is_refused_except_on_loopback(tmp_path: Path) -> None:
    message = fails(tmp_path, SITE + MAIL + 'security = "none"\n')
    assert "relay.toml: email[0].security: plain SMTP to smtp.district.example.org" in message
    assert 'use security = "starttls"' in message
    local = MAIL.replace("smtp.district.example.org", "127.0.0.1") + 'security = "none"\n'
    config = load_relay_config(write(tmp_path, SITE + local))
    assert config is not None and config.emails[0].port == 25


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('security = "ssl"\n', 'email[0].security: must be "starttls", "tls" (port 465)'),
        ("port = 70000\n", "email[0].port: must be between 1 and 65535"),
        ("to = []\n", "email[0].to: must be a list of addresses"),
        ('to = ["not an address"]\n', "email[0].to: must be a list of addresses"),
        ('to = "sro@district.example.org"\n', "email[0].to: must be list, not str"),
        ('password_file = "x"\n', "email[0].password: give one of password or password_file"),
        ("timeout_s = 0\n", "email[0].timeout_s: must be between 0.05 and 120"),
    ],
)
def test_a_wrong_key_is_named_with_the_fix(tmp_path: Path, change: str, expected: str) -> None:
    table = MAIL
    key = change.split(" ")[0]
    if key in ("to", "port", "timeout_s"):
        table = "\n".join(line for line in MAIL.splitlines() if not line.startswith(f"{key} "))
    assert expected in fails(tmp_path, SITE + table + "\n" + change)


def test_missing_keys_are_named(tmp_path: Path) -> None:
    no_from = MAIL.replace('from = "roomcast@lincoln.example.org"\n', "")
    assert "email[0].from: missing" in fails(tmp_path, SITE + no_from)
    no_user = MAIL.replace('username = "roomcast"\n', "")
    assert "email[0].username: give both username and password" in fails(tmp_path, SITE + no_user)


def test_a_password_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "sro.password"
    secret.write_text("from-a-file\n", encoding="utf-8")
    secret.chmod(0o640)
    by_file = MAIL.replace('password = "mail-password"', 'password_file = "sro.password"')
    message = fails(tmp_path, SITE + by_file)
    assert "email[0].password_file" in message and f"chmod 600 {secret}" in message
    secret.chmod(0o600)
    config = load_relay_config(write(tmp_path, SITE + by_file))
    assert config is not None and config.emails[0].password == "from-a-file"


def test_a_webhook_and_an_email_cannot_share_a_name(tmp_path: Path) -> None:
    assert "same name" in fails(tmp_path, SITE + HOOK + MAIL.replace('"sro"', '"police"'))


def test_the_time_is_the_hubs_clock_with_its_utc_offset() -> None:
    assert re.fullmatch(r"\d\d:\d\d:\d\d UTC[+-]\d\d:\d\d, \d{4}-\d\d-\d\d", local_time(0))


def test_a_panic_says_panic_the_room_and_the_time() -> None:
    body = press()
    assert subject(body) == f"PANIC: Room 101 (room 101) at {local_time(body['at_unix'])}"
    during = press(during_drill=True)
    assert subject(during).startswith("PANIC DURING A DRILL: Room 101")
    assert "treat it as REAL" in text(during)
    words = text(body)
    assert "Lincoln Elementary, 100 Main St, Austin, TX, 78701, US" in words
    assert "building main, floor 1, Room 101 (room 101)" in words
    assert "Device:   node-101" in words and body["console_url"] in words


def test_a_drill_directive_says_drill_and_an_all_clear_its_term() -> None:
    directive = {
        "term": "LOCKDOWN",
        "issued_by": "principal",
        "location": None,
        "hazard": None,
        "strategy": None,
        "note": "Drill: stay quiet",
    }
    site_wide = {"building": None, "floor": None, "room": None, "room_name": None}
    drill = press(kind="directive", drill=True, device=None, directive=directive) | site_wide
    assert subject(drill).startswith("DRILL: LOCKDOWN: all of Lincoln Elementary at ")
    assert "Note:     Drill: stay quiet" in text(drill)
    ended = drill | {"drill": False, "directive": directive | {"term": "ALL CLEAR"}}
    assert subject(ended).startswith("ALL CLEAR: all of Lincoln Elementary")


def test_the_message_is_the_same_on_every_retry_and_names_its_key() -> None:
    body = json.loads(json.dumps(press()))
    first = compose(body, sender="a@b.example", recipients=("c@d.example",))
    again = compose(body, sender="a@b.example", recipients=("c@d.example",))
    assert bytes(first) == bytes(again)
    assert first["Message-ID"] == "<event.3f2a9c0d7e@lincoln.roomcast.invalid>"
    assert first["X-Roomcast-Id"] == "event:3f2a9c0d7e"
    assert bytes(first).startswith(b"Subject: PANIC: Room 101")


def test_the_office_sees_email_destinations_beside_webhooks(tmp_path: Path) -> None:
    config = load_relay_config(write(tmp_path, SITE + HOOK + MAIL))
    assert config is not None
    labels = [d.label for d in destinations_of(config)]
    assert labels == ["Police (webhook)", "Sro (email)"]


def test_a_display_offline_during_a_lockdown_says_so_with_drill_when_it_is_one() -> None:
    lockdown = {"seq": 5, "term": "LOCKDOWN", "issued_by": "office", "action": "lockdown"}
    offline = press(id="offline:node-101:3", kind="offline_during_lockdown", directive=lockdown)
    assert subject(offline).startswith("OFFLINE DURING LOCKDOWN: Room 101 (room 101) at ")
    assert "directive 5, issued by office" in text(offline)
    drill = offline | {"drill": True, "during_drill": True}
    assert subject(drill).startswith("DRILL: OFFLINE DURING LOCKDOWN: Room 101")
