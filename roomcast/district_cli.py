"""``roomcast district serve | request | requests``: the district service, one district
action, and the record of those sent.

The directory is the one ``roomcast provision district init`` made: the service's
identity (``service/``), the request-signing key, the NATS nodes and the schools.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roomcast.district_config import check_users, service_config

if TYPE_CHECKING:  # the service (uvicorn, starlette) loads only when it runs
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from district.requests import DistrictAction
    from roomcast.district_sender import CommandLineSender

STORE_NAME = "district.db"
"""The district service's store, which holds the record of requests (district.store)."""
CONNECT_S = 30.0
SUMMARIES_S = 12.0
"""How long a request waits for the named schools to be heard live before asking: a
retained summary replayed on subscribe is no sign of life (district.board), the next
heartbeat (10 s by default) is."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("district", help="the district: its service, its requests")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="run the district service (every school)")
    _common(serve)
    serve.add_argument("--state-dir", type=Path, help="default: <district-dir>/state")
    serve.add_argument("--http-port", type=int, default=8090)
    serve.add_argument(
        "--http-host",
        default="127.0.0.1",
        help="where the console listens (default loopback only; put TLS in front: "
        "docs/district.md, 'The console')",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        help="a reverse proxy (address or CIDR) whose X-Forwarded-For/-Proto to believe",
    )
    serve.add_argument("--verbose", action="store_true")
    serve.set_defaults(run=_serve)
    ask = actions.add_parser("request", help="ask the schools named for a directive (signed)")
    _common(ask)
    ask.add_argument("action", help="hold, secure, lockdown, evacuate, shelter, all_clear")
    ask.add_argument("--school", action="append", default=[], help="repeat per school")
    ask.add_argument("--group", help="a named group of schools (provision district group)")
    mode = ask.add_mutually_exclusive_group(required=True)
    mode.add_argument("--drill", action="store_true", dest="drill")
    mode.add_argument("--real", action="store_false", dest="drill")
    ask.add_argument("--building", help="one building of each school (default: the school)")
    for detail in ("location", "hazard", "strategy", "note"):
        ask.add_argument(f"--{detail}")
    ask.add_argument(
        "--user", required=True, help="the district user sending (safety-officer or admin)"
    )
    ask.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, not a prompt"
    )
    ask.add_argument("--code", help="the code from the user's app, if they have a second factor")
    ask.add_argument(
        "--override-control",
        action="store_true",
        help="send although a console has control (audited as such)",
    )
    ask.add_argument("--yes", action="store_true", help="confirmed already; still printed")
    ask.add_argument("--wait", type=float, default=60.0, help="seconds to follow the rooms")
    ask.add_argument("--state-dir", type=Path, help="the record; default: <district-dir>/state")
    ask.set_defaults(run=_request)
    sent = actions.add_parser("requests", help="the district requests sent and their outcomes")
    sent.add_argument("--district-dir", type=Path, required=True)
    sent.add_argument("--state-dir", type=Path, help="default: <district-dir>/state")
    sent.add_argument("--id", help="one request, school by school")
    sent.add_argument("--limit", type=int, default=20)
    sent.add_argument("--json", action="store_true")
    sent.set_defaults(run=_requests)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--district-dir", type=Path, required=True)
    parser.add_argument("--node", help="the NATS node to try first (default: the first)")


def _serve(args: argparse.Namespace) -> int:
    from district.service import DistrictService
    from transport.running import configure_logging, run_until_signalled

    configure_logging(args.verbose)
    check_users(args.district_dir)
    config = service_config(
        args.district_dir, node=args.node, state_dir=args.state_dir, http_port=args.http_port,
        http_host=args.http_host, trusted_proxies=tuple(args.trusted_proxy),
    )  # fmt: skip
    return run_until_signalled(DistrictService(config).run())


def _request(args: argparse.Namespace) -> int:
    from district.requests import DistrictAction
    from protocol.srp import parse_action
    from protocol.topics import ScopeKind
    from roomcast.district_sender import from_args

    sender = from_args(args)

    details = {d: getattr(args, d) for d in ("location", "hazard", "strategy", "note")}
    action = DistrictAction(
        action=parse_action(args.action),
        drill=args.drill,
        schools=tuple(args.school),
        group=args.group,
        issued_by=args.user,
        scope=ScopeKind.BUILDING if args.building else ScopeKind.SITE,
        target=args.building or "",
        details={k: v for k, v in details.items() if v is not None},
    )

    def confirm(words: str) -> bool:
        print(words, file=sys.stderr)
        if args.yes:
            return True
        return input("Type yes to send it: ").strip().lower() == "yes"

    try:
        result = asyncio.run(
            run_request(
                args.district_dir, action, node=args.node, confirm=confirm, wait_s=args.wait,
                state_dir=args.state_dir, sender=sender,
            )
        )  # fmt: skip
    finally:
        sender.close()
    print(json.dumps(result, indent=2))
    if result.get("no_answer"):
        print(
            f"NO ANSWER from {', '.join(result['no_answer'])}: the district does not know "
            "they have it (`roomcast district requests --id "
            f"{result['request_id']}`; the district service keeps sending it)",
            file=sys.stderr,
        )
    return 0 if result["ok"] else 1


async def run_request(
    district_dir: Path,
    action: DistrictAction,
    *,
    node: str | None,
    confirm: Callable[[str], bool],
    wait_s: float,
    state_dir: Path | None = None,
    sender: CommandLineSender | None = None,
) -> dict[str, Any]:
    """Connect to the district broker, read the schools' summaries, preview and confirm,
    send, follow; the request stays in the district's record (the service's store), and
    the send in the console's audit log when a ``sender`` (the proven user) is given."""
    from district.board import DistrictBoard
    from district.preview import PreviewError, targets
    from district.requests import carry_out
    from district.store import DistrictStore
    from protocol.topics import DISTRICT_VIEW
    from provisioning.district import open_district
    from transport.link import Link

    _, record = open_district(district_dir)
    try:
        sites = targets(action, list(record.schools), record.groups)
    except PreviewError as error:
        return {"ok": False, "error": str(error)}
    key = signing_key(district_dir)
    config = service_config(district_dir, node=node, state_dir=state_dir)
    clock = _clock()
    # The board's own state (latest per school, timeline) in a scratch store: the service
    # keeps the real one, and two writers would tell each change twice. The request and
    # its outcomes go to the service's record.
    with tempfile.TemporaryDirectory() as scratch:
        seen = DistrictStore(Path(scratch) / STORE_NAME)
        store = DistrictStore(config.state_dir / STORE_NAME)
        board = DistrictBoard(store=seen, schools=config.schools, clock=clock, record=store)
        link = Link(config.brokers, client_id=cli_client_id(config.district), will=None)
        for topic_filter in DISTRICT_VIEW:
            link.route(topic_filter, board.on_message, retained=board.on_retained)
        task = asyncio.create_task(link.run())
        try:
            async with asyncio.timeout(CONNECT_S):
                await link.connected.wait()
            await _summaries_of(board, sites)
            return await carry_out(
                action, link=link, board=board, store=store, key=key, district=config.district,
                confirm=confirm, groups=record.groups, wait_s=wait_s, clock=clock,
                on_sent=None if sender is None else sender.sent,
            )  # fmt: skip
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            store.close()
            seen.close()


def cli_client_id(district: str) -> str:
    """A client id of its own per run: two `district request` runs at once (two officers)
    with one id would each take the other's session over, over and over."""
    import secrets

    return f"roomcast-district-{district}-cli-{secrets.token_hex(4)}"


def signing_key(district_dir: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from provisioning.district import open_district

    layout, _ = open_district(district_dir)
    key = load_pem_private_key(layout.signing_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{layout.signing_key} is not the district's Ed25519 key")
    return key


async def _summaries_of(board: Any, sites: tuple[str, ...]) -> None:
    """Until each named school's summary came and it was heard live (bounded: the
    preview says which schools have none or are unreachable)."""
    changed = asyncio.Event()
    board.watchers.add(changed.set)
    try:
        async with asyncio.timeout(SUMMARIES_S):
            while not all(
                v["reachable"] and v["summary"] for v in board.view() if v["site"] in sites
            ):
                changed.clear()
                await changed.wait()
    except TimeoutError:
        pass
    finally:
        board.watchers.discard(changed.set)


def _requests(args: argparse.Namespace) -> int:
    from district.store import DistrictStore

    state = args.state_dir or args.district_dir / "state"
    if not (state / STORE_NAME).exists():
        raise SystemExit(f"{state / STORE_NAME}: no district record here yet (no request sent)")
    store = DistrictStore(state / STORE_NAME)
    try:
        if args.id:
            found = store.request(args.id)
            if found is None:
                raise SystemExit(f"no request {args.id!r} in {state / STORE_NAME}")
            listed = [found]
        else:
            listed = store.requests(limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps(listed[0] if args.id else {"requests": listed}, indent=2))
    else:
        print("\n".join(request_lines(r, detail=bool(args.id)) for r in listed) or "none sent")
    return 0


def request_lines(request: dict[str, Any], *, detail: bool) -> str:
    """One request in plain words: drill or real first, then each school's outcome."""
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(request["sent_at"], UTC).isoformat(timespec="seconds")
    kind = "DRILL" if request["drill"] else "REAL"
    group = f" (group {request['group']})" if request["group"] else ""
    lines = [
        f"{request['id']} {when} {kind} {request['action'].upper()} by "
        f"{request['issued_by']}{group}"
    ]
    for site, o in request["schools"].items():
        text = o["state"] if o["sent"] else "no answer (could not be sent)"
        if o["state"] == "no answer" and o["gave_up"]:
            text = o["last_error"] or f"NO ANSWER after {o['attempts']} copies"  # loud
        elif o["state"] == "no answer" and o["attempts"] > 1:
            text += f" (copy {o['attempts']} sent; last: {o['last_error'] or 'acknowledged'})"
        if o["state"] == "refused":
            text += f": {o['reason']}"
        elif o["state"] in ("issued", "confirmed"):
            text += f" as #{o['seq']}, {o['confirmed']}/{o['total']} rooms confirmed"
            if not o["in_force"]:
                text += " (no longer in force)"
            if detail and o["pending_rooms"]:
                text += f"; pending: {', '.join(o['pending_rooms'])}"
        lines.append(f"  {site}: {text}")
    return "\n".join(lines)


def _clock() -> Callable[[], float]:
    import time

    return time.time
