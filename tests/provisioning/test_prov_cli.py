"""The ``roomcast provision`` subcommands, end to end through argparse."""

from __future__ import annotations

import io
import os
import pwd
from pathlib import Path

import pytest

from provisioning import Role, verify_password
from provisioning.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["provision", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _init(capsys: pytest.CaptureFixture[str], site: str) -> None:
    code, out, _ = _run(
        capsys,
        "init",
        "--site-dir",
        site,
        "--site",
        "lincoln",
        "--hub-host",
        "hub.lincoln.example",
        "--broker-user",
        "",
        "--hub-user",
        "",
        "--building",
        "main",
    )
    assert code == 0 and "shown only once" in out
    password = out.split("password: ")[1].split()[0]
    assert verify_password(site, "admin", password) is Role.ADMIN
    code, _, err = _run(capsys, "init", "--site-dir", site, "--site", "lincoln")
    assert code == 2 and "refusing to overwrite" in err


def test_a_site_from_init_to_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = str(tmp_path / "site")
    _init(capsys, site)

    csv = tmp_path / "rooms.csv"
    csv.write_text(
        "building,floor,room,name,hardware\nmain,1,101,Lab,oled-4button\n"
        "main,1,102,Art,oled-4button\n"
    )
    code, out, _ = _run(capsys, "rooms", "--site-dir", site, str(csv))
    assert code == 0 and "added 2 rooms: 101, 102" in out

    code, out, _ = _run(capsys, "device", "--site-dir", site, "--all")
    bundles = sorted((tmp_path / "site" / "bundles").glob("*.tar.gz"))
    assert code == 0 and len(bundles) == 2 and "reload the broker" in out
    assert "issued 2 bundles: lincoln-rc-10" in out and ".tar.gz" not in out.split(" in ")[-1]

    code, out, _ = _run(
        capsys, "install", str(bundles[0]), "--target", str(tmp_path / "node"), "--site", "lincoln"
    )
    assert code == 0 and "installed rc-" in out
    device_id = out.split()[1]

    code, out, _ = _run(capsys, "check", "--site-dir", site)
    assert code == 0 and "0 error(s), 0 warning(s)" in out

    code, out, _ = _run(capsys, "revoke", "--site-dir", site, device_id)
    assert code == 0 and f"revoked {device_id}" in out

    monkeypatch.setattr("sys.stdin", io.StringIO("a chosen long password\n"))
    code, out, _ = _run(
        capsys, "user", "--site-dir", site, "add", "ana", "--role", "office", "--password-stdin"
    )
    assert code == 0 and "a chosen" not in out
    assert verify_password(site, "ana", "a chosen long password") is Role.OFFICE
    code, out, _ = _run(capsys, "user", "--site-dir", site, "list")
    assert out.splitlines() == ["admin\tadmin", "ana\toffice"]
    code, _, err = _run(capsys, "user", "--site-dir", site, "role", "ana")
    assert code == 2 and "needs --role" in err
    code, out, _ = _run(capsys, "user", "--site-dir", site, "role", "ana", "--role", "viewer")
    assert code == 0 and "new role at once" in out
    assert verify_password(site, "ana", "a chosen long password") is Role.VIEWER

    code, out, _ = _run(capsys, "rotate", "--site-dir", site)
    assert code == 0 and "nothing is due: no certificate expires within 30 days" in out


def test_errors_are_printed_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "check", "--site-dir", str(tmp_path / "missing"))
    assert code == 2 and "is not a Roomcast site" in err
    code, _, err = _run(capsys, "user", "--site-dir", str(tmp_path), "add")
    assert code == 2 and "needs a user name" in err


def test_init_as_root_wants_the_hub_user_to_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = "rc-no-such-user"  # never an account on any machine this runs on
    with pytest.raises(KeyError):
        pwd.getpwnam(absent)
    site = tmp_path / "site"
    code, _, err = _run(
        capsys, "init", "--site-dir", str(site), "--site", "lincoln", "--hub-user", absent
    )
    if os.geteuid() != 0:
        assert code == 0  # only root hands files over
        return
    assert code == 2 and f"'{absent}' (key hub.user" in err and "useradd --system" in err
    assert not site.exists()


def test_the_ca_fingerprint_is_printed_and_checked_on_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = str(tmp_path / "site")
    code, out, _ = _run(
        capsys, "init", "--site-dir", site, "--site", "lincoln", "--broker-user", "",
        "--hub-user", "", "--building", "main",
    )  # fmt: skip
    fingerprint = out.split("site CA fingerprint (SHA-256): ")[1].split()[0]
    assert code == 0 and len(fingerprint) == 95
    csv = tmp_path / "rooms.csv"
    csv.write_text("building,floor,room,name,hardware\nmain,1,101,Lab,oled-4button\n")
    _run(capsys, "rooms", "--site-dir", site, str(csv))
    code, out, _ = _run(capsys, "device", "--site-dir", site, "--room", "101")
    assert code == 0 and f"site CA fingerprint (SHA-256): {fingerprint}" in out
    bundle = out.splitlines()[0]
    wrong = "00" * 32
    code, _, err = _run(
        capsys, "install", bundle, "--target", f"{tmp_path}/n", "--ca-fingerprint", wrong
    )
    assert code == 2 and f"not the expected {':'.join(['00'] * 32)}" in err
    assert not (tmp_path / "n").exists()
    code, out, _ = _run(
        capsys, "install", bundle, "--target", f"{tmp_path}/n", "--ca-fingerprint", fingerprint
    )
    assert code == 0 and fingerprint in out
