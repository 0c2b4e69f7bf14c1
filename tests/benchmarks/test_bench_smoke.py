"""The benchmark harness in its quick mode: the shape of its results, and no orphans.

Whole processes (broker, floor clients, hub, simulators, one device): no timing is
asserted here, only that every room acked and that everything was stopped.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, "-m", "benchmarks"]


def _processes_mentioning(text: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


@pytest.mark.timeout(240)
def test_quick_run_writes_results_in_the_expected_shape(tmp_path: Path) -> None:
    out, state = tmp_path / "out", tmp_path / "state"
    result = subprocess.run(
        [*BENCH, "--quick", "--series", "rooms", "--out", str(out), "--state-dir", str(state)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| N |" in result.stdout and "| target |" in result.stdout

    document = json.loads((out / "latest.json").read_text())
    assert document["quick"] is True
    assert {"cpu", "cores", "memory_gb", "python", "mosquitto"} <= set(document["machine"])
    (run,) = document["runs"]
    assert run["rooms"] == 50 and "error" not in run

    fanout = run["fanout"]
    assert fanout["all_acked"] is True
    for directive in fanout["directives"]:
        assert directive["acked"] == directive["total"] == 50
    assert set(fanout["room_ack_ms"]) == {"count", "p50", "p95", "p99", "max"}
    assert fanout["room_ack_ms"]["count"] == 50 * len(fanout["directives"])
    assert fanout["last_room_ms"]["median"] is not None
    # The warm-up is waited for in the 49 simulated rooms; the real device's ack of it
    # (after its start) is what "ready" means.
    assert run["warmup"]["acked"] == 49 and run["warmup"]["total"] == 50

    floor = run["floor"]
    assert floor["clients"] == 50 and floor["one_way_ms"]["count"] == 50 * floor["reps"]
    assert run["ratio_to_floor"] is not None

    assert run["panic"]["received"] == run["panic"]["presses"] == 10
    assert run["panic"]["console_ms"]["p99"] is not None
    page = run["page_panic"]  # the teacher's page, beside the button
    assert page["received"] == page["presses"] == 10 and page["not_seen"] == []
    assert page["console_ms"]["count"] == 10 and page["post_ms"]["p99"] is not None

    flood = run["flood"]
    assert flood["without"]["received"] == 10
    # During a flood a press may reach the console after the phase's window (that delay
    # is what the phase measures), but none may be lost: the hub has every one after it.
    assert flood["with"]["recorded"] == flood["with_1000_per_s"]["recorded"] == 10
    assert flood["with"]["flood"]["sent"] > 0 and flood["ratio_p99"] is not None
    # A flood flat out is cut off at the broker (hub.quarantine) well within the phase
    # (one at 1,000/s takes about 1.5 s to reach the cut-off, longer than a quick phase).
    assert flood["with"]["cut_off_after_s"] is not None

    # Hand-offs: every press reached the webhook (signed) and the mail server, once each.
    handoff = run["handoff"]
    assert handoff["presses"] == 10
    webhook, mail = handoff["webhook"], handoff["email"]
    assert webhook["received"] == mail["accepted"] == 10
    assert webhook["lost"] == mail["lost"] == [] and webhook["repeats"] == mail["repeats"] == 0
    assert webhook["signatures_valid"] is True
    assert webhook["press_to_received_ms"]["count"] == mail["press_to_accepted_ms"]["count"] == 10
    assert "Session.login_data" not in result.stderr + result.stdout

    device = run["device"]
    assert device["ready_s"] is not None and device["memory_after"]["rss_mb"] > 0
    assert device["cpu"]["acked"] == device["cpu"]["directives"] == 10
    new = device["cpu_new_wording"]
    assert new["new_wording"] and new["acked"] == new["directives"] == 10
    assert run["hub"]["cpu_percent"] >= 0 and run["hub"]["rss_mb"] > 0
    assert {"hub", "broker", "device", "simulate-0", "simulate-1"} <= set(run["idle"])

    assert [t["target"] for t in document["targets"]] and all(
        t["measured"] is not None for t in document["targets"]
    )
    assert (out / "latency.png").read_bytes().startswith(b"\x89PNG")
    assert _processes_mentioning(str(state)) == []


@pytest.mark.timeout(120)
def test_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    state = tmp_path / "state"
    quick = [*BENCH, "--quick", "--series", "rooms", "--no-chart"]
    process = subprocess.Popen(
        [*quick, "--out", str(tmp_path), "--state-dir", str(state)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        for line in process.stdout:
            if "idle for" in line or time.monotonic() > deadline:
                break
        assert len(_processes_mentioning(str(state))) >= 4  # broker, hub, 2 simulators, device
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=40) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert _processes_mentioning(str(state)) == []


@pytest.mark.timeout(120)
def test_quick_district_series_writes_its_results(tmp_path: Path) -> None:
    """S=2 schools of 4 rooms bridged to a 3-node NATS cluster, a node killed last."""
    out, state = tmp_path / "out", tmp_path / "state"
    command = [*BENCH, "--quick", "--series", "district", "--no-chart"]
    result = subprocess.run(
        [*command, "--out", str(out), "--state-dir", str(state)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| S |" in result.stdout and "| target |" in result.stdout

    assert not (out / "latest.json").exists()  # the rooms series was not asked for
    document = json.loads((out / "district.json").read_text())
    assert document["quick"] is True and document["machine"]["cores"]
    (run,) = document["runs"]
    assert run["schools"] == 2 and run["rooms_per_school"] == 4 and "error" not in run
    assert run["total_rooms"] == 8
    for series in ("district", "single_school"):
        assert run[series]["all_acked"] is True and run[series]["rounds"] == 2
        assert run[series]["last_room_ms"]["median"] is not None
    assert run["district"]["room_ack_ms"]["count"] == 2 * 8
    assert run["ratio_to_single_school"] is not None
    idle = run["idle"]
    assert idle["service_rss_mb"] > 0 and idle["service_rss_mb_per_school"] > 0
    assert idle["service_cpu_percent"] >= 0
    killed = run["node_killed"]
    assert killed["node"] == "n1" and killed["total"] == 8
    assert killed["missed"] == 0, killed  # the target, and what the tests hold the district to
    verdicts = document["targets"]
    assert len(verdicts) == 2 and all(t["measured"] is not None for t in verdicts)
    assert run["bridges_restarted_at_start"] >= 0 and run["district"]["hub_issued_ms"]["count"]
    assert _processes_mentioning(str(state)) == []
