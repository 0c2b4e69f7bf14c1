"""Helpers for tests that take bundles apart, doctor them and put them back together.

``resign`` re-signs a doctored bundle with a CA key the test holds: the real site CA (to
reach the checks behind the signature) or a CA the test made itself (what an attacker can do).
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any, Literal

from provisioning.devices import ARCHIVE_MODES, DEVICE_CONFIG
from provisioning.manifest import MANIFEST, MANIFEST_SIG, SIGNATURE_MEMBERS, sign_manifest
from provisioning.pki import Authority

Files = dict[str, bytes]


def read_members(bundle: Path) -> Files:
    with tarfile.open(bundle, "r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


def write_bundle(path: Path, files: Files) -> Path:
    """A bundle archive as ``provision device`` writes one, from whatever ``files`` hold."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), ARCHIVE_MODES.get(name, 0o644)
            archive.addfile(info, io.BytesIO(data))
    path.chmod(0o600)
    return path


def config_of(files: Files) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(files[DEVICE_CONFIG])
    return config


def with_config(files: Files, **changes: Any) -> Files:
    """``files`` with ``device.json`` edited (and the manifest left as it was)."""
    data = json.dumps(config_of(files) | changes, indent=2, sort_keys=True) + "\n"
    return {**files, DEVICE_CONFIG: data.encode()}


def resign(files: Files, ca: Authority) -> Files:
    """A fresh manifest over the content members, signed by ``ca``."""
    content = {n: d for n, d in files.items() if n not in SIGNATURE_MEMBERS}
    return {**content, **sign_manifest(ca, config_of(content), content)}


def without_manifest(files: Files) -> Files:
    return {n: d for n, d in files.items() if n not in (MANIFEST, MANIFEST_SIG)}


def fake_system(
    tmp_path: Path, *, roomcast: Literal["none", "logged", "real"]
) -> tuple[dict[str, str], Path]:
    """A PATH whose system tools only log how they were called: a fresh image, without the
    service user or the hardware groups, that the test must not really change. ``roomcast``
    is "none" (the venv cannot be made: python3 lacks venv), "logged" like the others, or
    "real" (the real command, without ``--owner``, which would touch this machine's
    users). pip in the venv is logged. Returns the hook's environment and the log."""
    bin_dir, log = tmp_path / "fake-bin", tmp_path / "calls.log"
    venv = tmp_path / "opt-venv"
    bin_dir.mkdir()
    missing = ["id", "getent"] + ["python3"] * (roomcast == "none")
    logged = ["useradd", "groupadd", "usermod", "chown", "systemctl", "modprobe"]
    for name in missing + logged:
        _script(bin_dir / name, name, log, 2 if name in missing else 0)
    if roomcast != "none":
        (venv / "bin").mkdir(parents=True)
        _script(venv / "bin" / "python", "python", log, 0)
    if roomcast == "logged":
        _script(venv / "bin" / "roomcast", "roomcast", log, 0)
    if roomcast == "real":
        (venv / "bin" / "roomcast").write_text(
            _REAL_ROOMCAST.format(python=sys.executable, log=log)
        )
        (venv / "bin" / "roomcast").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "ROOMCAST_ETC": str(tmp_path / "etc-rc"),
        "ROOMCAST_PENDING": str(tmp_path / "var-lib-pending"),
        "ROOMCAST_VENV": str(venv),
        "ROOMCAST_UNITS": str(_dir(tmp_path / "etc-systemd")),
        "ROOMCAST_MODULES_LOAD": str(tmp_path / "modules-load.conf"),
        "ROOMCAST_FIRSTBOOT_LOG": str(tmp_path / "var-log" / "firstboot.log"),
    }
    return env, log


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _script(path: Path, name: str, log: Path, status: int) -> None:
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit {status}\n')
    path.chmod(0o755)


def fake_wheelhouse(tmp_path: Path) -> Path:
    """What ``provision wheelhouse`` makes, as far as ``sdcard`` looks (names, not wheels)."""
    wheels = _dir(tmp_path / "wheelhouse")
    for name in ("roomcast-0.1.0-py3-none-any.whl", "pip-25.0-py3-none-any.whl"):
        (wheels / name).write_bytes(b"PK")
    return wheels


_REAL_ROOMCAST = """#!{python}
import sys
from provisioning.cli import main

args = sys.argv[1:]
with open("{log}", "a") as log:
    log.write("roomcast " + " ".join(args) + "\\n")
if "--owner" in args:
    at = args.index("--owner")
    del args[at : at + 2]
sys.exit(main(args))
"""
