"""The benchmark's device runs in the environment the shipped systemd unit gives it."""

from __future__ import annotations

from pathlib import Path

from benchmarks.stack import DEVICE_UNIT, unit_environment


def test_the_device_is_measured_with_the_shipped_units_environment() -> None:
    environment = unit_environment(DEVICE_UNIT)
    assert environment["MALLOC_ARENA_MAX"] == "1"
    assert DEVICE_UNIT.name == "roomcast-device.service"


def test_unit_environment_reads_every_assignment_as_systemd_does(tmp_path: Path) -> None:
    unit = tmp_path / "x.service"
    unit.write_text(
        "[Service]\n"
        "Environment=A=1 B=two\n"
        'Environment="C=with space" D=\n'
        "# Environment=E=commented\n"
        "EnvironmentFile=/etc/x\n",
        encoding="utf-8",
    )
    assert unit_environment(unit) == {"A": "1", "B": "two", "C": "with space", "D": ""}
