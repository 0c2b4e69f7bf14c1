"""The ``roomcast`` command. Each subcommand imports what it needs when it runs, so that
``roomcast issue`` on an office PC never loads the device's hardware libraries."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardware.config import BUTTON_KINDS
from protocol.messages import CommandKind
from protocol.srp import Action, parse_action
from protocol.topics import ScopeKind
from roomcast.handle import ClientError, DemoError, DemoHandle, default_state_dir

if TYPE_CHECKING:
    from roomcast.client import HubClient

ACTIONS = ("hold", "secure", "lockout", "lockdown", "evacuate", "shelter", "all-clear")


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if words[:1] == ["provision"]:
        from provisioning.cli import main as provision

        return provision(words)
    parser = _parser()
    args = parser.parse_args(words)
    try:
        result: int = args.run(args)
        return result
    except (ClientError, DemoError) as error:
        print(f"roomcast: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a config or OS problem: say it, no traceback
        from roomcast.broker import BrokerError
        from transport.settings import ConfigError

        if isinstance(error, ConfigError | BrokerError | OSError):
            print(f"roomcast: {error}", file=sys.stderr)
            return 2
        raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roomcast",
        description="Classroom panic buttons and Standard Response Protocol displays.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_services(commands)
    _add_office(commands)
    _add_it(commands)
    return parser


def _add_services(commands: Any) -> None:
    """The processes: the demo, the hub, a classroom node, the simulator."""
    demo = commands.add_parser("demo", help="broker + hub + simulated classrooms on this machine")
    demo.add_argument("--rooms", type=int, default=12, help="simulated classrooms (default 12)")
    demo.add_argument(
        "--schools",
        type=int,
        help="a whole district: a NATS cluster and this many schools, bridged (docs/district.md)",
    )
    demo.add_argument(
        "--scenario",
        choices=["lockdown-drill", "district-secure"],
        help="run a scripted scenario (district-secure: with --schools)",
    )
    demo.add_argument("--json", action="store_true", help="scenario result as one JSON line")
    demo.add_argument(
        "--relay",
        action="store_true",
        help="also a webhook receiver, SMTP sink and CAP receiver on loopback, wired to the hub",
    )
    demo.add_argument(
        "--wording", type=Path, help="the site's wording.toml: its screens in its languages"
    )
    demo.add_argument("--state-dir", type=Path, default=default_state_dir())
    demo.set_defaults(run=_demo)

    hub = commands.add_parser("hub", help="run the hub service")
    hub.add_argument("--config", type=Path, required=True)
    hub.add_argument("--verbose", action="store_true")
    hub.set_defaults(run=_hub)

    from device.cli import add_parsers as add_device_parsers

    add_device_parsers(commands)

    simulate = commands.add_parser("simulate", help="N classroom services, simulated hardware")
    simulate.add_argument("configs", type=Path, nargs="+", help="device.json of each room")
    simulate.add_argument("--screens", type=Path, required=True)
    simulate.add_argument("--control", type=Path, help="control socket for `roomcast press`")
    simulate.set_defaults(run=_simulate)


def _add_office(commands: Any) -> None:
    """What the front office does from a terminal."""
    issue = commands.add_parser("issue", help="issue a directive through the hub")
    issue.add_argument("action", choices=(*ACTIONS, "release"))
    where = issue.add_mutually_exclusive_group()
    where.add_argument("--building", help="only this building")
    where.add_argument("--room", help="only this room (release: the room to release)")
    issue.add_argument("--drill", action="store_true", help="a drill: every screen says DRILL")
    issue.add_argument("--location", help="Evacuate: where to go")
    issue.add_argument("--hazard", help="Shelter: the hazard (tornado, hazmat, ...)")
    issue.add_argument("--strategy", help="Shelter: the safety strategy")
    issue.add_argument("--note", help="extra text for the displays")
    _hub_options(issue)
    issue.set_defaults(run=_issue)

    release = commands.add_parser("release", help="release one room from Lockdown")
    release.add_argument("--room", required=True)
    _hub_options(release)
    release.set_defaults(run=_release)

    press = commands.add_parser("press", help="a simulated button activation in a room")
    press.add_argument("room")
    press.add_argument("--kind", default="panic", choices=BUTTON_KINDS)
    press.add_argument("--state-dir", type=Path, default=default_state_dir())
    press.set_defaults(run=_press)

    code = commands.add_parser("code", help="the demo admin's current second-factor code")
    code.add_argument("--state-dir", type=Path, default=default_state_dir())
    code.set_defaults(run=_code)

    status = commands.add_parser("status", help="the campus: directives, acks, alerts")
    status.add_argument("--json", action="store_true")
    _hub_options(status)
    status.set_defaults(run=_status)


def _add_it(commands: Any) -> None:
    """What IT does: sessions, device commands, provisioning."""
    command = commands.add_parser("command", help="send a signed command to one device (IT)")
    command.add_argument("device", help="the device id, e.g. rc-101-3f2a")
    command.add_argument("kind", choices=[kind.value for kind in CommandKind])
    _hub_options(command)
    command.set_defaults(run=_command)

    login = commands.add_parser("login", help="log the command line in to a hub")
    login.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.school")
    login.add_argument("--user", required=True)
    login.add_argument(
        "--otp",
        help="the second-factor code (else $ROOMCAST_OTP, else asked for when the hub needs it)",
    )
    login.set_defaults(run=_login)

    relay = commands.add_parser("relay", help="the hand-offs beyond the building (IT)")
    relay_commands = relay.add_subparsers(required=True, metavar="ACTION")
    test = relay_commands.add_parser("test", help="send a Test message and print the result")
    test.add_argument("destination", nargs="?", help="one destination (default: every one)")
    _hub_options(test)
    test.set_defaults(run=_relay_test)

    # Listed here for --help; `main` hands the whole command line to provisioning.cli, so
    # the classroom node never loads the provisioning code (and its memory) to start.
    from roomcast.district_cli import add_parser as add_district_parser

    add_district_parser(commands)

    commands.add_parser(
        "provision", help="IT tooling: site, rooms, device bundles, users, revocation"
    )


def _hub_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", help="hub URL (default: the running demo's)")
    parser.add_argument("--token-file", type=Path, help="session token file (default: the demo's)")
    parser.add_argument(
        "--state-dir", type=Path, default=default_state_dir(), help=argparse.SUPPRESS
    )


def session_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "roomcast" / "session.json"


def _client(args: argparse.Namespace) -> HubClient:
    """The hub to talk to: --hub, else a running demo, else the last `roomcast login`."""
    from roomcast.client import HubClient, read_token  # httpx: only for office commands

    if args.hub and args.token_file:
        return HubClient(args.hub, read_token(args.token_file))
    saved = _saved_session()
    if args.hub:
        if saved is None or saved.url != args.hub:
            raise ClientError(f"not logged in to {args.hub}: run roomcast login --hub {args.hub}")
        return saved
    try:
        handle = DemoHandle.read(args.state_dir)
    except DemoError:
        if saved is None:
            raise
        return saved
    return HubClient(handle.hub_url, read_token(args.token_file or handle.token_file))


def _saved_session() -> HubClient | None:
    from roomcast.client import HubClient

    try:
        saved = json.loads(session_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return HubClient(str(saved["hub"]), str(saved["token"]))


def _login(args: argparse.Namespace) -> int:
    from roomcast.client import SecondFactorNeeded, login, write_secret

    password = getpass.getpass(f"password for {args.user} at {args.hub}: ")
    otp = args.otp or os.environ.get("ROOMCAST_OTP") or None
    try:
        token = login(args.hub, args.user, password, otp)
    except SecondFactorNeeded:
        if otp is not None:
            raise
        # Asked only now, so accounts without a second factor see no extra prompt.
        otp = getpass.getpass("code from your authenticator app (or a recovery code): ")
        token = login(args.hub, args.user, password, otp)
    write_secret(session_file(), json.dumps({"hub": args.hub, "token": token}))
    print(f"logged in to {args.hub} as {args.user} (session saved in {session_file()})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from roomcast.demo import run_demo

    if args.rooms < 1 or args.rooms > 2000:
        raise DemoError("--rooms must be between 1 and 2000")
    if args.scenario is None and args.json:
        raise DemoError("--json goes with --scenario")
    if args.schools is not None or args.scenario == "district-secure":
        return _district_demo(args)
    return run_demo(
        args.state_dir,
        args.rooms,
        args.scenario,
        args.json,
        sys.stdout,
        relay=args.relay,
        wording=args.wording,
    )


def _district_demo(args: argparse.Namespace) -> int:
    from roomcast.demo_district import run_district_demo

    if args.schools is None or not 1 <= args.schools <= 30:
        raise DemoError("--schools must be between 1 and 30 (district-secure needs 3)")
    if args.scenario == "district-secure" and args.schools < 3:
        raise DemoError("the district-secure scenario needs at least 3 schools (--schools 3)")
    if args.rooms > 200 or args.relay or args.wording:
        raise DemoError("a district demo takes --rooms up to 200, and no --relay or --wording")
    return run_district_demo(
        args.state_dir, args.schools, args.rooms, args.scenario, args.json, sys.stdout
    )


def _hub(args: argparse.Namespace) -> int:
    from hub.config import load_hub_config
    from hub.service import HubService
    from transport.running import configure_logging, run_until_signalled
    from transport.systemd import Notifier

    configure_logging(args.verbose)
    service = HubService(load_hub_config(args.config), notifier=Notifier())
    return run_until_signalled(service.run())


def _simulate(args: argparse.Namespace) -> int:
    from roomcast.simulate import Simulator
    from transport.running import configure_logging, run_until_signalled

    configure_logging()
    return run_until_signalled(Simulator(args.configs, args.screens).run(args.control))


def _issue(args: argparse.Namespace) -> int:
    client = _client(args)
    action = parse_action(args.action)
    if action is Action.RELEASE:
        if not args.room:
            raise ClientError("release needs --room ROOM (Lockdown is released room by room)")
        return _print_issued(client.post(f"/api/rooms/{args.room}/release"))
    if action is Action.EVACUATE and not args.location:
        raise ClientError('evacuate needs --location WHERE (for example --location "Flag pole")')
    if action is Action.SHELTER and not args.hazard:
        raise ClientError(
            "shelter needs --hazard (tornado, hazmat, earthquake, tsunami or your district's) "
            "and, for a hazard the site does not know, --strategy"
        )
    body: dict[str, Any] = {"action": action.value}
    if args.drill:
        body["drill"] = True  # without it the hub decides: real, or an All clear's own kind
    if args.building:
        body |= {"scope": ScopeKind.BUILDING.value, "target": args.building}
    elif args.room:
        body |= {"scope": ScopeKind.ROOM.value, "target": args.room}
    for key in ("location", "hazard", "strategy", "note"):
        if getattr(args, key):
            body[key] = getattr(args, key)
    return _print_issued(client.post("/api/directives", body))


def _release(args: argparse.Namespace) -> int:
    return _print_issued(_client(args).post(f"/api/rooms/{args.room}/release"))


def _print_issued(report: dict[str, Any]) -> int:
    drill = " (DRILL)" if report["drill"] else ""
    where = report["scope"] if not report["target"] else f"{report['scope']} {report['target']}"
    print(f"#{report['seq']} {report['term']}{drill} -> {where}: {report['total']} room(s)")
    if not report.get("published", True):
        print("warning: the hub is not connected to the broker; it will publish on reconnect")
    return 0


def _command(args: argparse.Namespace) -> int:
    sent = _client(args).post(f"/api/devices/{args.device}/command", {"kind": args.kind})
    print(f"command #{sent['seq']} {sent['kind']} sent to {sent['device_id']}")
    return 0


def _relay_test(args: argparse.Namespace) -> int:
    """0 when every destination took its Test message, 1 when one did not."""
    body = {} if args.destination is None else {"destination": args.destination}
    results = _client(args).post("/api/relay/test", body)["results"]
    for result in results:
        print(f"{result['key']}: {result['words']}")
    return 0 if all(r["state"] == "delivered" for r in results) else 1


def _press(args: argparse.Namespace) -> int:
    from roomcast import control

    handle = DemoHandle.read(args.state_dir)
    try:
        reply = control.call_sync(
            handle.control_socket, {"cmd": "press", "room": args.room, "kind": args.kind}
        )
    except control.ControlError as error:
        raise DemoError(str(error)) from None
    print(f"{args.kind} pressed in room {args.room} (event {reply['event_id']})")
    return 0


def _code(args: argparse.Namespace) -> int:
    """What the demo admin's authenticator app would show now (the demo only)."""
    import time

    from protocol.factors import STEP_S, current_code
    from roomcast.demo import ADMIN_TOTP

    DemoHandle.read(args.state_dir)  # a clear message when no demo runs
    secret = (args.state_dir / ADMIN_TOTP).read_text(encoding="utf-8").strip()
    now = time.time()
    left = STEP_S - int(now % STEP_S)
    print(f"{current_code(secret, now)}  (valid for {left} s more; each code works once)")
    return 0


def _status(args: argparse.Namespace) -> int:
    from roomcast.status import format_status

    status = _client(args).get("/api/status")
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0
