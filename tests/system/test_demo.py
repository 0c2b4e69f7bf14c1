"""The demo and the command line, as a person uses them: whole processes, real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from roomcast.broker import free_port

pytestmark = pytest.mark.slow

ROOMCAST = [sys.executable, "-m", "roomcast"]


def roomcast(*args: str, state_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--state-dir", str(state_dir)] if state_dir else []
    return subprocess.run(
        [*ROOMCAST, *args, *extra], capture_output=True, text=True, timeout=60, check=False
    )


def _processes_mentioning(text: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


def test_lockdown_drill_scenario_reports_every_room(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    result = subprocess.run(
        [
            *ROOMCAST,
            "demo",
            "--rooms",
            "30",
            "--scenario",
            "lockdown-drill",
            "--json",
            "--state-dir",
            str(state),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["rooms"] == 30
    assert [d["action"] for d in report["directives"]] == [
        "lockdown",
        "release",
        "release",
        "all_clear",
    ]
    assert all(d["drill"] for d in report["directives"])
    assert [d["total"] for d in report["directives"]] == [30, 1, 1, 30]
    assert all(d["acked"] == d["total"] for d in report["directives"])
    assert all(d["ack_ms"]["max"] >= d["ack_ms"]["p50"] > 0 for d in report["directives"])
    (alert,) = report["alerts"]
    assert alert["room"] == "101" and alert["press_to_hub_ms"] >= 0
    assert _processes_mentioning(str(state)) == []
    assert not (state / "demo.json").exists()


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "demo"
    demo = subprocess.Popen(
        [*ROOMCAST, "demo", "--rooms", "4", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    printed = []
    for line in demo.stdout:  # the demo prints its banner once everything is up
        printed.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        pytest.fail("demo exited before it was ready:\n" + "".join(printed))
    yield state
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=30)  # also closes the pipe
    assert demo.returncode == 0, rest
    assert "stopping the demo" in rest
    assert _processes_mentioning(str(state)) == []
    assert not (state / "demo.json").exists()


def test_office_commands_against_a_running_demo(running_demo: Path) -> None:
    state = running_demo
    issued = roomcast("issue", "lockdown", "--drill", state_dir=state)
    assert issued.returncode == 0, issued.stderr
    assert "LOCKDOWN (DRILL)" in issued.stdout and "4 room(s)" in issued.stdout

    pressed = roomcast("press", "101", state_dir=state)
    assert pressed.returncode == 0, pressed.stderr

    released = roomcast("release", "--room", "102", state_dir=state)
    assert released.returncode == 0 and "RELEASED" in released.stdout

    status = roomcast("status", "--json", state_dir=state)
    campus = json.loads(status.stdout)
    rooms = {r["room"]: r for r in campus["rooms"]}
    assert rooms["101"]["directive"]["term"] == "LOCKDOWN"
    assert rooms["102"]["directive"]["action"] == "release"
    assert [a["room"] for a in campus["alerts"]] == ["101"]

    table = roomcast("status", state_dir=state)
    assert "OPEN ALERT: PANIC in room 101" in table.stdout
    assert (state / "screens" / "101.png").stat().st_size > 0


def test_the_demo_gives_a_person_the_admin_code_for_the_console(running_demo: Path) -> None:
    secret_file = running_demo / "admin-totp"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    totp = pyotp.TOTP(secret_file.read_text().strip())
    before = {totp.at(time.time() + d) for d in (0, 30)}  # the step may turn meanwhile
    result = roomcast("code", state_dir=running_demo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] in before
    assert "each code works once" in result.stdout


def test_bad_commands_say_what_is_wrong_and_change_nothing(running_demo: Path) -> None:
    state = running_demo
    cases = {
        ("issue", "evacuate"): "evacuate needs --location",
        ("issue", "shelter"): "shelter needs --hazard",
        ("issue", "lockdown", "--room", "999"): "unknown room '999'",
        ("release", "--room", "101"): "not in Lockdown",
        ("press", "999"): "unknown room '999'",
    }
    for args, message in cases.items():
        result = roomcast(*args, state_dir=state)
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    campus = json.loads(roomcast("status", "--json", state_dir=state).stdout)
    assert campus["latest_seq"] == 0
    assert campus["alerts"] == []


def test_unreachable_hub_is_a_clear_message(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("x" * 40)
    url = f"http://127.0.0.1:{free_port()}"
    result = roomcast("status", "--hub", url, "--token-file", str(token))
    assert result.returncode == 2
    assert f"cannot reach the hub at {url}" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_running_demo_is_a_clear_message(tmp_path: Path) -> None:
    result = roomcast("issue", "hold", state_dir=tmp_path / "nothing-here")
    assert result.returncode == 2
    assert "no demo is running" in result.stderr


def test_demo_refuses_to_wipe_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = roomcast("demo", "--rooms", "2", state_dir=tmp_path)
    assert result.returncode == 2
    assert "was not made by roomcast demo" in result.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert os.listdir(tmp_path) == ["precious.txt"]


def test_lockdown_drill_with_relay_hands_every_record_to_every_receiver(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    result = roomcast(
        "demo", "--rooms", "4", "--relay", "--scenario", "lockdown-drill", "--json",
        state_dir=state,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "deprecated" not in result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    handoffs = report["handoffs"]
    press = handoffs[0]["key"]
    assert press.startswith("event:") and handoffs[0]["what"] == "panic"
    keys = [press] + [f"directive:{d['seq']}" for d in report["directives"]]
    assert [(h["key"], h["destination"], h["kind"]) for h in handoffs] == [
        (key, name, kind)
        for key in keys
        for name, kind in (("dispatch", "webhook"), ("office-email", "email"), ("signage", "CAP"))
    ]
    assert all(h["delivered"] and h["delivery_ms"] > 0 for h in handoffs)
    assert all(h["signature_valid"] is True for h in handoffs if h["kind"] == "webhook")
    subjects = [h["subject"] for h in handoffs if h["kind"] == "email"]
    assert subjects[0].startswith("PANIC: Room 101") and subjects[1].startswith("DRILL: LOCKDOWN")
    # What a person is told to look at: one file per message, in each receiver's folder.
    for folder, suffix in (("webhook", ".json"), ("email", ".eml"), ("cap", ".xml")):
        files = sorted((state / "relay" / folder).glob(f"*{suffix}"))
        assert len(files) == len(keys), folder
        logged = (state / "relay" / folder / "received.log").read_text().splitlines()
        assert [json.loads(line)["key"] for line in logged] == keys
    (lockdown,) = (state / "relay" / "cap").glob("*-directive_1.xml")
    assert "<status>Exercise</status>" in lockdown.read_text()
    assert _processes_mentioning(str(state)) == []


def test_lockdown_drill_without_relay_has_no_handoffs(tmp_path: Path) -> None:
    result = roomcast(
        "demo", "--rooms", "3", "--scenario", "lockdown-drill", "--json",
        state_dir=tmp_path / "demo",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["handoffs"] == []
    assert not (tmp_path / "demo" / "relay").exists()
