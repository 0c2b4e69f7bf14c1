"""``systemd/install-hub.sh`` for real: a hub on a Pi, under the container's own systemd.

The same cached root boots on a fresh overlay with the source tree and the wheelhouse
bound in read-only; the install runs as docs/deploy.md says (install-hub.sh, ``provision
init``, install-hub.sh again) with no network: Debian's mosquitto and python3-venv are in
the root, Roomcast and its dependencies come from the wheelhouse (``--wheelhouse``). Then
``roomcast-hub.service`` must be an active ``Type=notify`` unit running as its own user
and answer ``/api/health`` over HTTP from the host (the container shares the host's
network) with its broker connected. The broker and HTTP ports are free ones, not 8883 and
8080.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from pathlib import Path

from roomcast.broker import free_port
from tests.pi.container import Pi, wait_until
from tests.pi.rootfs import REPO, PiTestError

SRC, WHEELS, SITE = "/opt/roomcast-src", "/opt/roomcast-wheels", "/etc/roomcast/site"
INSTALL = ("sh", f"{SRC}/systemd/install-hub.sh", "--wheelhouse", WHEELS)
SET_HTTP = (
    "import json, sys; path, port = sys.argv[1], int(sys.argv[2]); "
    "config = json.load(open(path)); config['http'] = {'host': '127.0.0.1', 'port': port}; "
    "open(path, 'w').write(json.dumps(config, indent=2))"
)
"""Where the console listens (docs/operations.md: ``http.host``, ``http.port``), edited in
place so ``hub.json`` keeps its owner (the hub's user) and mode."""
CUT_OFF_REQUEST = json.dumps(
    {
        "format": 1,
        "devices": {"rc-999-none": {"room": "999", "since": 0, "until": 4e9, "messages": 1}},
    }
)
STOCK_BROKER = """# make pi-test only: Debian's stock broker (before Roomcast's drop-in) listens
# on 1883, which is the host's too: this container shares the host's network.
listener {port} 127.0.0.1
"""


def prepare_root(upper: Path) -> None:
    conf = upper / "etc/mosquitto/conf.d"
    conf.mkdir(parents=True)
    (conf / "pitest.conf").write_text(STOCK_BROKER.format(port=free_port()))
    (upper / "etc/cloud").mkdir(parents=True)
    (upper / "etc/cloud/cloud-init.disabled").touch()  # a bookworm image has no cloud-init


def health(port: int) -> dict[str, object] | None:
    """The hub's ``/api/health``, or None while it does not answer."""
    url = f"http://127.0.0.1:{port}/api/health"
    with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=3) as got:
        found = json.load(got)
        return found if isinstance(found, dict) else None
    return None


async def install_hub(root: Path, wheels: Path, work: Path, results: dict[str, str]) -> None:
    upper = work / "upper-hub"
    prepare_root(upper)
    binds = (f"--bind-ro={REPO}:{SRC}", f"--bind-ro={wheels}:{WHEELS}")
    pi = Pi(root, upper, work / "console-hub.log", binds=binds)
    http, broker = free_port(), free_port()
    try:
        clock = time.monotonic()
        await pi.boot()
        await pi.started(180)
        results["hub: boot to a running systemd"] = f"{time.monotonic() - clock:.0f} s"
        clock = time.monotonic()
        await pi.run(*INSTALL, within_s=600)
        results["hub: install-hub.sh --wheelhouse (venv, user, units)"] = (
            f"{time.monotonic() - clock:.0f} s"
        )
        clock = time.monotonic()
        await pi.run("/usr/local/bin/roomcast", "provision", "init", "--site-dir", SITE,
                     "--site", "pihub", "--hub-host", "127.0.0.1", "--bind", "127.0.0.1",
                     "--port", str(broker), "--building", "main", within_s=300)  # fmt: skip
        await pi.run("python3", "-c", SET_HTTP, f"{SITE}/hub/hub.json", str(http))
        await pi.run(*INSTALL, within_s=300)
        found = await wait_until(
            lambda: (h := health(http)) and h.get("broker_connected") and h, 120,
            f"the hub's /api/health on port {http} with its broker connected",
        )  # fmt: skip
        results["hub: provision init, install-hub.sh again, to /api/health"] = (
            f"{time.monotonic() - clock:.0f} s: {json.dumps(found)}"
        )
        await hub_units(pi)
        results["hub: roomcast-hub.service, mosquitto.service"] = "active (Type=notify)"
        clock = time.monotonic()
        await cut_off_request(pi)
        results["hub: a cut-off request, applied by roomcast-quarantine.path as root"] = (
            f"{time.monotonic() - clock:.0f} s"
        )
    except PiTestError as error:
        raise PiTestError(f"hub (install-hub.sh): {error}\n{await hub_diagnosis(pi)}") from None
    finally:
        await pi.kill()


async def cut_off_request(pi: Pi) -> None:
    """The hub's user asks for a cut-off as the hub does (hub/quarantine.py): the path unit
    must run ``provision quarantine`` as root, which records what it applied in broker/
    (here nothing: the name is no device of this site), reloads the broker through systemd
    and writes the confirmation the hub waits for."""
    state = "/var/lib/roomcast-hub"
    ask = (
        f"printf '%s\\n' '{CUT_OFF_REQUEST}' > {state}/quarantine.json.tmp && "
        f"mv {state}/quarantine.json.tmp {state}/quarantine.json"
    )
    await pi.run("runuser", "-u", "roomcast", "--", "sh", "-c", ask)
    applied = pi.upper / SITE.lstrip("/") / "broker/quarantine.json"
    await wait_until(applied.exists, 120, f"{applied} from roomcast-quarantine.service")
    confirmation = pi.upper / "var/lib/roomcast-hub/quarantine.applied"
    await wait_until(confirmation.exists, 60, f"{confirmation}, which the hub waits for")
    unit = await pi.unit("Result", "ExecMainStatus", name="roomcast-quarantine.service")
    if unit["Result"] != "success" or json.loads(applied.read_text()) != {}:
        raise PiTestError(f"roomcast-quarantine.service: {unit}, applied {applied.read_text()}")


async def hub_units(pi: Pi) -> None:
    for name, user in (("roomcast-hub.service", "roomcast"), ("mosquitto.service", "")):
        unit = await pi.unit("Type", "ActiveState", "User", "NRestarts", name=name)
        if unit["Type"] != "notify" or unit["ActiveState"] != "active" or unit["User"] != user:
            raise PiTestError(f"{name} is {unit}, not an active Type=notify unit of {user!r}")


async def hub_diagnosis(pi: Pi) -> str:
    """The hub's and the broker's journal, from inside the running container."""
    try:
        return await pi.run(
            "journalctl", "--unit=roomcast-hub", "--unit=mosquitto",
            "--unit=roomcast-quarantine.path", "--unit=roomcast-quarantine.service",
            "--boot", "--lines=80",
            "--no-pager", "--output=short-monotonic", within_s=60,
        )  # fmt: skip
    except PiTestError as error:
        log = pi.log.read_text(errors="replace") if pi.log.exists() else "(none)"
        tail = "\n".join(log.splitlines()[-40:])
        return f"(no journal: {error})\n--- console ({pi.log}), last 40 lines:\n{tail}"
