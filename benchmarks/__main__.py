"""``python -m benchmarks`` (``make bench``): Roomcast's latency and scale, measured.

For each room count N it provisions a throw-away site, starts a real TLS Mosquitto, measures
the bare-broker floor, then the hub, N classrooms (N-1 simulated in P processes, one real
device service) and measures directive fan-out, panic to console, and the resources used;
last, with the hub restarted with a relay, press to webhook received and to email accepted.
Prints two tables and writes ``latest.json`` and ``latency.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

from benchmarks.procs import raise_on_sigterm
from benchmarks.report import chart, machine, table, targets, verdict_table, write_json
from benchmarks.runner import Options, run_all

RESULTS = Path(__file__).resolve().parent / "results"


def _rooms(text: str) -> tuple[int, ...]:
    try:
        rooms = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 50,200,500") from None
    if not rooms or any(n < 2 or n > 5000 for n in rooms):
        raise argparse.ArgumentTypeError("each room count must be between 2 and 5000")
    return rooms


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rooms", type=_rooms, default=(50, 200, 500, 1000, 2000))
    parser.add_argument("--quick", action="store_true", help="N=50 and short phases (smoke)")
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--idle-s", type=float, default=60.0, help="idle phase length")
    parser.add_argument("--rounds", type=int, default=5, help="site-wide directives per N")
    parser.add_argument("--floor-reps", type=int, default=5, help="bare-broker publishes per N")
    parser.add_argument("--presses", type=int, default=100, help="panic presses per N")
    parser.add_argument("--press-interval-ms", type=float, default=50.0)
    parser.add_argument("--device-directives", type=int, default=100)
    parser.add_argument(
        "--handoff-presses", type=int, help="presses handed to a webhook and email (0: none)"
    )
    parser.add_argument("--handoff-interval-ms", type=float, default=200.0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON and PNG go")
    parser.add_argument("--state-dir", type=Path, help="keep sites and logs here")
    parser.add_argument("--keep", action="store_true", help="keep the state directory")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument(
        "--screens-on-disk",
        action="store_true",
        help="simulated screens' PNGs in the state dir, not on /dev/shm",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy flame graphs of every process during the fan-out, into DIR",
    )
    return parser


def options_from(args: argparse.Namespace) -> Options:
    if args.quick:
        return Options(
            rooms=(50,),
            processes=args.processes,
            idle_s=3.0,
            rounds=2,
            floor_reps=2,
            presses=10,
            press_interval_s=0.05,
            device_directives=10,
            handoff_presses=10 if args.handoff_presses is None else args.handoff_presses,
            handoff_interval_s=args.handoff_interval_ms / 1000,
            state_dir=args.state_dir,
            keep=args.keep,
            screens_on_disk=args.screens_on_disk,
            profile=args.profile,
        )
    return Options(
        rooms=args.rooms,
        processes=args.processes,
        idle_s=args.idle_s,
        rounds=args.rounds,
        floor_reps=args.floor_reps,
        presses=args.presses,
        press_interval_s=args.press_interval_ms / 1000,
        device_directives=args.device_directives,
        handoff_presses=50 if args.handoff_presses is None else args.handoff_presses,
        handoff_interval_s=args.handoff_interval_ms / 1000,
        state_dir=args.state_dir,
        keep=args.keep or args.state_dir is not None,
        screens_on_disk=args.screens_on_disk,
        profile=args.profile,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = options_from(args)
    raise_on_sigterm()
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    host = machine()

    def save(runs: list[dict[str, Any]]) -> None:
        document = {
            "schema": 1,
            "started_at": started,
            "quick": args.quick,
            "machine": host,
            "options": options.describe(),
            "runs": runs,
            "targets": targets(runs),
        }
        write_json(args.out / "latest.json", document)
        if not args.no_chart:
            chart(args.out / "latency.png", runs)

    try:
        runs = run_all(options, sys.stdout, save)
    except KeyboardInterrupt:
        print("interrupted: every child process has been stopped", file=sys.stderr)
        return 130
    verdicts = targets(runs)
    print()
    print(table(runs))
    print(verdict_table(verdicts))
    print(f"results: {args.out / 'latest.json'}" + ("" if args.no_chart else ", latency.png"))
    return 1 if any("error" in run for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
