"""A wheelhouse for the node: Roomcast and every dependency, built for the Pi (arm64).

Made once per release on a machine with internet access and put on each card by
``provision sdcard``, so a node installs itself at first boot with no network at all.
Binary wheels only (``--only-binary=:all:``): a Pi with no compiler cannot build an sdist.
Each Python the images may have gets its wheels (bookworm 3.11; trixie-based images 3.13);
pure and abi3 wheels are shared.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from provisioning.errors import ProvisioningError

PYTHONS = ("3.11", "3.13")
PLATFORMS = (
    "manylinux2014_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux_2_34_aarch64",
    "manylinux_2_36_aarch64",
    "linux_aarch64",
)
"""Bookworm has glibc 2.36: every manylinux wheel up to 2.36 runs there."""
SOURCE = Path(__file__).resolve().parents[1]
ARM_ONLY = {"3.11": ("lgpio>=0.2.2",), "3.13": ()}
"""Dependencies behind an arm64 environment marker: pip evaluates markers for the machine
it runs on, not for ``--platform``, so on an x86 laptop it would leave them out. lgpio has
no 3.13 wheel: those images' venvs see Raspberry Pi OS's python3-lgpio (firstboot.sh)."""


def build_wheelhouse(
    out: Path | str, *, source: Path = SOURCE, pythons: Sequence[str] = PYTHONS
) -> list[Path]:
    """Build the roomcast wheel from ``source`` and download its dependencies into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not (source / "pyproject.toml").is_file():
        raise ProvisioningError(
            f"{source} is not a Roomcast source tree; pass the checkout with --source"
        )
    _pip("wheel", "--no-deps", "--wheel-dir", str(out), str(source))
    (wheel,) = sorted(out.glob("roomcast-*.whl"))[-1:]
    for python in pythons:
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        _pip(
            "download", "--only-binary=:all:", "--dest", str(out), *platforms,
            "--python-version", python, "--implementation", "cp",
            str(wheel), "pip", *ARM_ONLY.get(python, ()),
        )  # fmt: skip
    return sorted(out.glob("*.whl"))


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise ProvisioningError(
            f"`pip {args[0]}` failed (exit {result.returncode}); it needs access to PyPI:\n{tail}"
        )
