"""The shipped systemd units (``systemd/`` in the source), wherever Roomcast is installed.

A wheel installs them under ``<venv>/share/roomcast/systemd`` (``data-files`` in
``pyproject.toml``); a source checkout has them in ``systemd/`` beside the packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

from provisioning.errors import ProvisioningError

_PLACES = (
    Path(sys.prefix) / "share" / "roomcast" / "systemd",
    Path(__file__).resolve().parents[1] / "systemd",
)


def unit_path(name: str) -> Path:
    """Where the unit (or drop-in, ``mosquitto.service.d/roomcast.conf``) ``name`` is."""
    for place in _PLACES:
        if (place / name).is_file():
            return place / name
    raise ProvisioningError(
        f"the unit {name} is not installed with Roomcast (looked in "
        f"{', '.join(str(p) for p in _PLACES)}); reinstall Roomcast from its wheel"
    )


def unit_file(name: str) -> bytes:
    return unit_path(name).read_bytes()
