"""The device's commands as a person runs them: ``roomcast device`` with a display
override, a wrong hardware config, and ``roomcast screens``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from roomcast.broker import free_port
from tests.device.test_selftest import command

ROOT = Path(__file__).resolve().parents[2]
RUN_COMMAND = (
    "import argparse, sys\n"
    "from device.cli import add_parsers\n"
    "parser = argparse.ArgumentParser(prog='roomcast')\n"
    "add_parsers(parser.add_subparsers(required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.run(args))\n"
)
"""What ``roomcast`` does with these subcommands, without depending on its wiring."""


def device_config(tmp_path: Path, key: Ed25519PrivateKey, hardware: dict[str, Any]) -> Path:
    """A node config as the bundle installs it, with a broker nobody listens on."""
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "hub.pub").write_bytes(pem)
    body = {
        "site": "test",
        "device_id": "dev-101",
        "room": "101",
        "building": "main",
        "room_name": "Science Lab",
        "broker": {"host": "127.0.0.1", "port": free_port()},
        "hub_public_key": "hub.pub",
        "state_dir": "state",
        "hardware": hardware,
    }
    path = tmp_path / "device.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_device_with_a_wrong_hardware_config_exits_2_naming_the_key(
    tmp_path: Path, hub_key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    config = device_config(
        tmp_path,
        hub_key,
        {"display": {"type": "ssd1306", "i2c": {}}} | {"buttons": [{"pin": 3, "kind": "panic"}]},
    )
    assert command("device", "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert "hardware.buttons[0].pin: GPIO3 is already used by hardware.display.i2c" in err
    assert "Traceback" not in err


def test_device_needs_a_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert command("device") == 2
    assert "--config" in capsys.readouterr().err


def test_screens_writes_every_screen_and_the_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "screens"
    stale = out / "128x64" / "old-screen-p1.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    assert command("screens", "--out", str(out)) == 0
    assert not stale.exists()
    written = sorted(p.relative_to(out) for p in out.glob("*/*.png"))
    committed = sorted(
        p.relative_to(ROOT / "docs/screens") for p in (ROOT / "docs/screens").glob("*/*.png")
    )
    assert written == committed
    assert (out / "README.md").read_text() == (ROOT / "docs/screens/README.md").read_text()
    assert "wrote" in capsys.readouterr().out


def run_device(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
    return subprocess.Popen(
        [sys.executable, "-c", RUN_COMMAND, "device", "--config", str(config), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    return process.returncode, err.decode()


def wait_for_file(path: Path, process: subprocess.Popen[bytes], within_s: float = 20) -> None:
    deadline = time.monotonic() + within_s
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            _, err = process.communicate(timeout=5)
            raise AssertionError(f"{path} never appeared; stderr:\n{err.decode()}")
        time.sleep(0.05)


@pytest.mark.slow
def test_device_runs_on_mock_pins_with_the_emulator_display(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    hardware = {
        "pin_factory": "mock",
        "buttons": [{"pin": 17, "kind": "panic"}, {"pin": 27, "kind": "cancel"}],
        "display": {"type": "ssd1306", "width": 128, "height": 32, "i2c": {}},
        "relay": {"port": str(tmp_path / "unplugged"), "actions": {"lockdown": [1]}},
    }
    config = device_config(tmp_path, hub_key, hardware)
    frames = tmp_path / "frames"
    process = run_device(config, "--display", "emulator", "--frames", str(frames))
    wait_for_file(frames / "frame.png", process)
    code, err = stop(process)
    assert code == 0, err
    assert "Traceback" not in err


def test_device_without_a_hardware_section_refuses_to_pass_for_a_classroom(
    tmp_path: Path, hub_key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    config = device_config(tmp_path, hub_key, {})
    assert command("device", "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert f"{config}: no hardware section" in err and '"simulated": true' in err
    assert not (tmp_path / "state" / "screen.png").exists()


@pytest.mark.slow
def test_an_explicitly_simulated_device_writes_its_png_screen(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    config = device_config(tmp_path, hub_key, {"simulated": True})
    process = run_device(config)
    wait_for_file(tmp_path / "state" / "screen.png", process)
    code, err = stop(process)
    assert code == 0, err


def test_screens_draws_a_districts_own_wording_in_its_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wording = tmp_path / "wording.toml"
    wording.write_text(
        'languages = ["es", "en"]\n[es.lockdown]\nterm = "ENCIERRO"\n', encoding="utf-8"
    )
    out = tmp_path / "ours"
    assert command("screens", "--out", str(out), "--wording", str(wording)) == 0
    assert "in es, en" in capsys.readouterr().out
    pages = sorted(p.name for p in (out / "128x64").glob("lockdown-real-p*.png"))
    assert len(pages) >= 2  # Spanish first, then English
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Screens in es, en")
    assert 'src="256x64/lockdown-drill-p1.png"' in readme
    wording.write_text('languages = ["es"]\n[es.lockdown]\nterm = 1\n', encoding="utf-8")
    assert command("screens", "--out", str(out), "--wording", str(wording)) == 2
    assert f"{wording}: es.lockdown.term: must be text" in capsys.readouterr().err
