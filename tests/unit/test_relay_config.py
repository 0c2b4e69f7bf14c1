"""relay.toml: read as documented, and every mistake named with the file, the key and the fix.

Also the webhook's pure parts: the signature a receiver checks, Retry-After in both forms.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from hub.relay.config import load_relay_config
from hub.relay.webhook import retry_after_s, signature
from transport.settings import ConfigError

SITE = """
[site]
name = "Lincoln Elementary"
console_url = "https://hub.lincoln.example.org/"
latitude = 30.2672
longitude = -97.7431
[site.address]
street = "100 Main St"
city = "Austin"
region = "TX"
postal_code = "78701"
country = "US"
"""
HOOK = """
[[webhook]]
name = "police"
url = "https://dispatch.example.org/roomcast"
secret = "0123456789abcdef0123"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fails(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_relay_config(write(tmp_path, text))
    return str(raised.value)


def test_no_file_means_no_relay(tmp_path: Path) -> None:
    assert load_relay_config(tmp_path / "relay.toml") is None


def test_a_documented_file_reads_with_its_defaults(tmp_path: Path) -> None:
    config = load_relay_config(write(tmp_path, SITE + HOOK))
    assert config is not None
    (hook,) = config.webhooks
    assert (hook.name, hook.drills, hook.staff_assist, hook.timeout_s) == (
        "police",
        False,
        False,
        5.0,
    )
    assert config.site.console_url == "https://hub.lincoln.example.org"
    assert config.site.address["region"] == "TX"
    assert "0123456789abcdef" not in repr(config)  # a secret never reaches a log line


def test_plain_http_is_refused_except_on_loopback(tmp_path: Path) -> None:
    message = fails(tmp_path, SITE + HOOK.replace("https://dispatch", "http://dispatch"))
    assert "relay.toml: webhook[0].url: plain http to dispatch.example.org" in message
    assert "use https://" in message
    local = HOOK.replace("https://dispatch.example.org", "http://127.0.0.1:9")
    assert load_relay_config(write(tmp_path, SITE + local)) is not None


def test_a_missing_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    message = fails(tmp_path, SITE.replace("latitude = 30.2672\n", "") + HOOK)
    assert message.startswith(str(tmp_path / "relay.toml"))
    assert "site.latitude: missing; see docs/integrations.md" in message


def test_values_out_of_range_and_wrong_types_say_what_is_wanted(tmp_path: Path) -> None:
    assert "site.latitude: must be between -90 and 90" in fails(
        tmp_path, SITE.replace("30.2672", "300") + HOOK
    )
    assert "webhook[0].drills: must be bool, not str" in fails(
        tmp_path, SITE + HOOK + 'drills = "yes"\n'
    )
    assert "not valid TOML" in fails(tmp_path, SITE + "[[webhook]\n")


def test_a_secret_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "police.secret"
    secret.write_text("a-long-random-secret-from-a-file\n", encoding="utf-8")
    secret.chmod(0o644)
    by_file = HOOK.replace('secret = "0123456789abcdef0123"', 'secret_file = "police.secret"')
    message = fails(tmp_path, SITE + by_file)
    assert "webhook[0].secret_file" in message and f"chmod 600 {secret}" in message
    secret.chmod(0o600)
    config = load_relay_config(write(tmp_path, SITE + by_file))
    assert config is not None and config.webhooks[0].secret == b"a-long-random-secret-from-a-file"


def test_a_secret_is_given_once_and_long_enough(tmp_path: Path) -> None:
    both = HOOK + 'secret_file = "x"\n'
    assert "give exactly one of secret or secret_file" in fails(tmp_path, SITE + both)
    short = HOOK.replace("0123456789abcdef0123", "short")
    assert "shorter than 16 characters" in fails(tmp_path, SITE + short)


def test_destination_names_are_unique(tmp_path: Path) -> None:
    assert "same name" in fails(tmp_path, SITE + HOOK + HOOK)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"event:x"}'
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(b"k" * 16, "1700000000", body) == f"sha256={expected}"


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = 1_700_000_000.0
    assert retry_after_s("7", now=now) == 7.0
    date = format_datetime(datetime.fromtimestamp(now + 30, UTC), usegmt=True)
    assert retry_after_s(date, now=now) == pytest.approx(30.0)
    assert retry_after_s("yesterday", now=now) is None
    assert retry_after_s(None, now=now) is None


def test_a_ca_file_that_is_not_a_certificate_is_named(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n", encoding="utf-8")
    message = fails(tmp_path, SITE + HOOK + 'ca_file = "ca.pem"\n')
    assert "webhook[0].ca_file:" in message and "is not a PEM CA certificate" in message
    assert "webhook[0].ca_file: " in fails(tmp_path, SITE + HOOK + 'ca_file = "gone.pem"\n')


def test_a_display_offline_during_a_lockdown_goes_only_where_asked(tmp_path: Path) -> None:
    asks = HOOK.replace('name = "police"', 'name = "asks"') + "offline_during_lockdown = true\n"
    drills = asks.replace('name = "asks"', 'name = "drills"') + "drills = true\n"
    config = load_relay_config(write(tmp_path, SITE + HOOK + asks + drills))
    assert config is not None
    takes = {
        hook.name: (
            hook.takes("offline_during_lockdown", False),
            hook.takes("offline_during_lockdown", True),
        )
        for hook in config.webhooks
    }
    assert takes == {"police": (False, False), "asks": (True, False), "drills": (True, True)}
    assert all(hook.takes("panic", False) for hook in config.webhooks)
    wrong = fails(tmp_path, SITE + HOOK + 'offline_during_lockdown = "yes"\n')
    assert "webhook[0].offline_during_lockdown" in wrong
