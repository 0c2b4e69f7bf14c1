"""`roomcast demo --schools N`: a whole district on one machine.

A 3-node NATS cluster (JetStream, MQTT listener), N schools each with its own Mosquitto
bridged to it over TLS, its hub (in the district) and simulated rooms, and the district
service; all provisioned by the production steps (provisioning.throwaway_district) in one
state directory, each school's own commands reachable with ``--state-dir <state>/<site>``.
Ctrl-C stops everything. With ``--scenario district-secure`` it runs the scenario
(roomcast.scenario_district) and prints one JSON object instead.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from protocol.factors import otpauth_uri
from provisioning.throwaway_district import create_throwaway_district, distinct_free_ports
from roomcast.demo import interrupted, prepare_state_dir
from roomcast.demo_district_stack import RunningDistrict
from roomcast.handle import DemoError

if TYPE_CHECKING:
    from pathlib import Path

SUMMARY_S = 2.0
"""The schools' summary heartbeat in the demo (10 s in production): the district's board
notices a stopped school within seconds."""


def run_district_demo(
    state_dir: Path,
    schools: int,
    rooms: int,
    scenario: str | None,
    as_json: bool,
    out: IO[str],
) -> int:
    prepare_state_dir(state_dir)
    if scenario not in (None, "district-secure"):
        raise DemoError(f"--scenario {scenario} is a one-school scenario; drop --schools")
    # With --json, standard output is the one JSON object: progress goes to stderr.
    progress = sys.stderr if as_json else out
    progress.write(f"provisioning a district of {schools} schools, {rooms} rooms each ...\n")
    progress.flush()
    built = create_throwaway_district(
        state_dir, schools=schools, rooms=rooms, summary_s=SUMMARY_S, heartbeat_s=2.0
    )
    (service_port,) = distinct_free_ports(1)
    run = RunningDistrict(built, state_dir, service_port=service_port)
    try:
        run.start()
        if scenario is None:
            out.write(describe(run))
            out.flush()
            _wait(run, out)
            return 0
        from roomcast.scenario_district import district_secure

        result: dict[str, Any] = district_secure(run)
        out.write(json.dumps(result, indent=None if as_json else 2) + "\n")
        return 0 if result["ok"] else 1
    finally:
        run.stop()


def describe(run: RunningDistrict) -> str:
    built = run.built
    admin_uri = otpauth_uri(built.admin_totp_secret, built.admin_user, built.district)
    lines = [
        f"Roomcast district demo: district {built.district!r}, {len(run.schools)} schools of "
        f"{len(run.schools[0].school.site.devices)} simulated rooms, every link TLS",
        "",
        f"District console   {run.service_url}  (user {built.admin_user}, password "
        f"{built.admin_password}: generated for this demo; API {run.service_url}/api/schools)",
        f"  code             add {admin_uri}"
        " to an authenticator app (a district admin needs a second factor)",
        "NATS cluster       "
        + ", ".join(f"{n.name} mqtts://127.0.0.1:{n.mqtt_port}" for n in built.nodes),
        f"District files     {built.layout.root}  (CA, signing key, each node's nats.conf)",
        "",
    ]
    for school in run.schools:
        site = school.school.site
        uri = otpauth_uri(site.admin_totp_secret, site.admin_user, site.site)
        lines += [
            f"School {school.name}",
            f"  console   {school.hub_url}  (user {site.admin_user}, password "
            f"{site.admin_password}: generated for this demo)",
            f"  code      `roomcast code --state-dir {school.handle_dir}`, or add {uri}",
            f"  broker    mqtts://127.0.0.1:{site.broker.port}, bridged to the cluster "
            f"({school.school.bridge_dir}/bridge.conf)",
            f"  files     {site.layout.root}; screens in {school.screens}",
            "",
        ]
    first, second = run.schools[0], run.schools[min(1, len(run.schools) - 1)]
    lines += [
        f"Logs: {run.logs}/ (each node, hub, simulator, the district service)",
        "",
        "From another terminal, a district Secure DRILL to two schools:",
        f"  roomcast district request --district-dir {built.layout.root} secure --drill \\",
        f"      --school {first.name} --school {second.name} --user {built.admin_user} \\",
        "      --code CODE   (asks for the password above)",
        "One school's own commands (as the one-school demo):",
        f"  roomcast status --state-dir {first.handle_dir}",
        f"  roomcast press 101 --state-dir {first.handle_dir}",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines) + "\n"


def _wait(run: RunningDistrict, out: IO[str]) -> None:
    """Until Ctrl-C / SIGTERM, or until a part dies (then say which)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupted)
    try:
        while True:
            run.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        out.write("\nstopping the district demo ...\n")
