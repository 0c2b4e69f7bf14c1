"""`roomcast demo --schools 3 --scenario district-secure --json`, run as a user runs it:
a real 3-node NATS cluster, three schools bridged to it, hubs, rooms, the district
service, all child processes of the command; the test reads only its output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.district.conftest import nats_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _processes_mentioning(text: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


@pytest.mark.timeout(120)
def test_the_district_secure_scenario_reaches_two_schools_and_leaves_the_third(
    tmp_path: Path,
) -> None:
    nats_server()  # fails naming the package when it is missing
    state = tmp_path / "demo"
    command = [sys.executable, "-m", "roomcast", "demo", "--schools", "3", "--rooms", "6"]
    command += ["--scenario", "district-secure", "--json", "--state-dir", str(state)]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=100, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)  # one JSON object, nothing else

    assert report["ok"] is True and report["drill"] is True
    assert "DRILL" in report["note"]
    assert report["targeted"] == ["lincoln", "adams"]
    assert report["untouched"] == {"jefferson": True}
    assert set(report["schools"]) == {"lincoln", "adams"}
    for school in report["schools"].values():
        assert school["acked"] == school["total"] == 6
        ack = school["ack_ms"]
        assert 0 < ack["p50"] <= ack["p95"] <= ack["max"] < 30_000
    secure, all_clear = report["directives"]
    assert (secure["action"], all_clear["action"]) == ("secure", "all_clear")
    for directive in (secure, all_clear):
        assert directive["drill"] is True and directive["ok"] is True
        # The district's record, from the schools' summaries, saw every room confirm too.
        assert directive["district_record_ok"] is True
        assert directive["confirmation"].startswith("DRILL: ")
        assert "jefferson" not in directive["confirmation"]
        assert {s["acked"] for s in directive["schools"].values()} == {6}
    assert secure["request_id"] != all_clear["request_id"]
    assert _processes_mentioning(str(state)) == []  # every node, broker, hub stopped


@pytest.mark.timeout(30)
def test_the_district_secure_scenario_needs_three_schools(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "roomcast", "demo", "--schools", "2", "--rooms", "2"]
    command += ["--scenario", "district-secure", "--json", "--state-dir", str(tmp_path / "d")]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=25, check=False
    )
    assert result.returncode == 2
    assert "needs at least 3 schools" in result.stderr
