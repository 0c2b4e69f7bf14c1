"""``roomcast provision user``'s second factor: admins are enrolled when added, anyone can be
(re-)enrolled or cleared, the secret and QR code are shown once, files stay 0600."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp
import pytest

from protocol.factors import recovery_digest
from provisioning.cli import main
from provisioning.fsutil import write_json
from provisioning.site import SiteLayout

URI = re.compile(r"otpauth://totp/Roomcast%20lincoln:(\S+)\?secret=([A-Z2-7]+)&\S+")
RECOVERY = re.compile(r"^  ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$", re.M)


def _run(capsys: pytest.CaptureFixture[str], site: SiteLayout, *argv: str) -> tuple[int, str]:
    code = main(["provision", "user", "--site-dir", str(site.root), *argv])
    out, err = capsys.readouterr()
    return code, out + err


def _stored(site: SiteLayout, name: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(site.hub.users.read_text())["users"][name]
    return record


def test_adding_an_admin_sets_up_the_second_factor_and_shows_it_once(
    site: SiteLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, site, "add", "ben", "--role", "admin")
    assert code == 0
    match = URI.search(out)
    assert match is not None and match.group(1) == "ben"
    secret = match.group(2)
    assert f"secret: {secret}" in out
    assert "█" in out or "▀" in out  # the QR code, in the terminal
    codes = RECOVERY.findall(out)
    assert len(codes) == 10
    stored = _stored(site, "ben")
    totp = stored["totp"]
    assert isinstance(totp, dict) and totp["secret"] == secret
    assert recovery_digest("ben", codes[0]) in totp["recovery"]
    assert codes[0] not in site.hub.users.read_text()  # only digests are stored
    assert site.hub.users.stat().st_mode & 0o777 == 0o600
    assert pyotp.parse_uri(match.group(0)).now() == pyotp.TOTP(secret).now()


def test_office_users_are_enrolled_only_when_the_site_requires_it(
    site: SiteLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, site, "add", "ana", "--role", "office")
    assert code == 0 and "otpauth://" not in out and "totp" not in _stored(site, "ana")
    config = json.loads(site.hub.config.read_text())
    write_json(site.hub.config, config | {"totp_required_for": ["admin", "office"]})
    code, out = _run(capsys, site, "add", "cy", "--role", "office")
    assert code == 0 and URI.search(out) is not None


def test_totp_re_enrols_to_a_png_and_clear_removes_it(
    site: SiteLayout, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _run(capsys, site, "add", "ana", "--role", "office")
    png = tmp_path / "ana-qr.png"
    code, out = _run(capsys, site, "totp", "ana", "--qr-png", str(png))
    assert code == 0 and f"QR code written to {png}" in out
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_mode & 0o777 == 0o600
    first = _stored(site, "ana")
    code, _ = _run(capsys, site, "totp", "ana")
    second = _stored(site, "ana")
    assert second["totp"] != first["totp"] and second["factor_epoch"] != first["factor_epoch"]

    code, out = _run(capsys, site, "totp", "ana", "--clear")
    assert code == 0 and "set up a new one at the next login" in out
    cleared = _stored(site, "ana")
    assert "totp" not in cleared and cleared["factor_epoch"] != second["factor_epoch"]


def test_a_new_password_keeps_the_second_factor(
    site: SiteLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, site, "add", "ben", "--role", "admin")
    before = _stored(site, "ben")["totp"]
    code, _ = _run(capsys, site, "passwd", "ben")
    assert code == 0 and _stored(site, "ben")["totp"] == before


def test_promoting_to_admin_says_the_second_factor_comes_at_login(
    site: SiteLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, site, "add", "ana", "--role", "office")
    code, out = _run(capsys, site, "role", "ana", "--role", "admin")
    assert code == 0 and "sets up a second factor at the next console login" in out
    code, out = _run(capsys, site, "totp", "nobody")
    assert code == 2 and "no user 'nobody'" in out
