"""What a running classroom node has loaded: nothing of the hub, the office or IT tools.

A Raspberry Pi node has little memory to spare and every module it imports stays resident
(docs/BENCHMARKS.md measures each). These tests run ``roomcast device`` as the service
does, let it draw its first frame, and read the names in its ``sys.modules``: a top-level
import added in the wrong place fails here, not in a benchmark months later.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.device.test_cli import ROOT, device_config

LOADED_AFTER_FIRST_FRAME = """
import os, signal, sys, threading, time
from pathlib import Path
from roomcast.cli import main

config, screen, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

def report_when_drawn():
    while not screen.exists():
        time.sleep(0.02)
    out.write_text("\\n".join(sorted(sys.modules)), encoding="utf-8")
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=report_when_drawn, daemon=True).start()
sys.exit(main(["device", "--config", config, "--screen", str(screen)]))
"""

NEVER_ON_A_NODE = (
    "cryptography",  # the hub's and IT's (signing, certificates); a node verifies with PyNaCl
    "hub",
    "provisioning",
    "roomcast.client",  # the office commands' HTTP client
    "httpx",
    "starlette",
    "uvicorn",
)


def loaded_modules(
    tmp_path: Path, hub_key: Ed25519PrivateKey, hardware: dict[str, Any]
) -> set[str]:
    config = device_config(tmp_path, hub_key, hardware)
    screen, out = tmp_path / "screen.png", tmp_path / "modules.txt"
    process = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER_FIRST_FRAME, str(config), str(screen), str(out)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert out.exists(), f"no frame drawn; stderr:\n{process.stderr.decode()}"
    return set(out.read_text(encoding="utf-8").split())


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages or m.startswith(packages))


@pytest.mark.slow
def test_a_node_that_drew_its_first_frame_loaded_nothing_of_the_hub_office_or_it(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    modules = loaded_modules(tmp_path, hub_key, {"simulated": True})
    assert {"device.service", "device.screen", "nacl.signing"} <= modules  # it really ran
    assert among(modules, NEVER_ON_A_NODE) == []
    # no buttons, LEDs, panel, relays or signs configured: their drivers stay unloaded
    assert among(modules, ("gpiozero", "colorzero", "luma", "serial", "hardware.buttons")) == []
    # its PNG screen writes frames with zlib, not through Pillow's plugin registry
    assert among(modules, ("PIL.PngImagePlugin", "PIL.JpegImagePlugin")) == []
