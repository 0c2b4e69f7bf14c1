"""``python -m benchmarks`` (``make bench``): Roomcast's latency and scale, measured.

For each room count N it provisions a throw-away site, starts a real TLS Mosquitto, measures
the bare-broker floor, then the hub, N classrooms (N-1 simulated in P processes, one real
device service) and measures directive fan-out, panic to console, and the resources used;
last, with the hub restarted with a relay, press to webhook received and to email accepted.
Then the district series (benchmarks.district): for each S, a NATS cluster and S bridged
schools, a district directive to the last room against one school's own directive.
Prints the tables and writes ``latest.json`` and ``latency.png`` (the rooms series) and
``district.json`` (the district series) to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.district import DistrictOptions, run_district_series
from benchmarks.procs import raise_on_sigterm
from benchmarks.report import (
    chart,
    district_table,
    district_targets,
    machine,
    table,
    targets,
    verdict_table,
    write_json,
)
from benchmarks.runner import Options, run_all

RESULTS = Path(__file__).resolve().parent / "results"


def _counts(text: str, *, what: str, low: int, high: int, example: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like {example}") from None
    if not counts or any(n < low or n > high for n in counts):
        raise argparse.ArgumentTypeError(f"each {what} count must be between {low} and {high}")
    return counts


def _rooms(text: str) -> tuple[int, ...]:
    return _counts(text, what="room", low=2, high=5000, example="50,200,500")


def _schools(text: str) -> tuple[int, ...]:
    return _counts(text, what="school", low=1, high=60, example="3,10,30")


def _series(text: str) -> tuple[str, ...]:
    series = tuple(part.strip() for part in text.split(",") if part.strip())
    if not series or any(s not in ("rooms", "district") for s in series):
        raise argparse.ArgumentTypeError("--series takes rooms, district or rooms,district")
    return series


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rooms", type=_rooms, default=(50, 200, 500, 1000, 2000))
    parser.add_argument("--quick", action="store_true", help="N=50, S=2 and short phases (smoke)")
    parser.add_argument(
        "--series", type=_series, default=("rooms", "district"), help="rooms, district or both"
    )
    parser.add_argument("--schools", type=_schools, default=(3, 10, 30), help="district sizes")
    parser.add_argument(
        "--rooms-per-school", type=int, help="default: what held per S (benchmarks.district)"
    )
    parser.add_argument("--district-rounds", type=int, default=4, help="district directives per S")
    parser.add_argument("--district-idle-s", type=float, default=30.0)
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


def district_options_from(args: argparse.Namespace) -> DistrictOptions:
    if args.quick:
        return DistrictOptions(
            schools=(2,), rooms_per_school=args.rooms_per_school or 4, idle_s=3.0, rounds=2,
            summary_s=2.0,
        )  # fmt: skip
    return DistrictOptions(
        schools=args.schools, rooms_per_school=args.rooms_per_school,
        idle_s=args.district_idle_s, rounds=args.district_rounds,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = options_from(args)
    district = district_options_from(args)
    raise_on_sigterm()
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    host = machine()
    runs: list[dict[str, Any]] = []
    district_runs: list[dict[str, Any]] = []

    def save() -> None:
        """The rooms series in latest.json and the district series in district.json, so a
        run of one series never overwrites the other's results."""
        common = {"schema": 1, "started_at": started, "quick": args.quick, "machine": host}
        if "rooms" in args.series:
            document = common | {
                "options": options.describe(),
                "runs": runs,
                "targets": targets(runs),
            }
            write_json(args.out / "latest.json", document)
            if not args.no_chart and runs:
                chart(args.out / "latency.png", runs)
        if "district" in args.series:
            district_document = common | {
                "options": district.describe(),
                "runs": district_runs,
                "targets": district_targets(district_runs),
            }
            write_json(args.out / "district.json", district_document)

    def saved_rooms(done: list[dict[str, Any]]) -> None:
        runs[:] = done
        save()

    def saved_district(done: list[dict[str, Any]]) -> None:
        district_runs[:] = done
        save()

    try:
        if "rooms" in args.series:
            runs[:] = run_all(options, sys.stdout, saved_rooms)
        if "district" in args.series:
            district_runs[:] = _district(district, args, saved_district)
    except KeyboardInterrupt:
        print("interrupted: every child process has been stopped", file=sys.stderr)
        return 130
    save()
    print()
    if runs:
        print(table(runs))
        print(verdict_table(targets(runs)))
    if district_runs:
        print(district_table(district_runs))
        print(verdict_table(district_targets(district_runs), by="schools"))
    written = [
        f
        for f, series in (("latest.json", "rooms"), ("district.json", "district"))
        if series in args.series
    ]
    chart_note = "" if args.no_chart or not runs else ", latency.png"
    print(f"results in {args.out}: {', '.join(written)}{chart_note}")
    return 1 if any("error" in run for run in runs + district_runs) else 0


def _district(
    options: DistrictOptions,
    args: argparse.Namespace,
    on_run: Callable[[list[dict[str, Any]]], None],
) -> list[dict[str, Any]]:
    """The district series in its own state directory, kept on failure or when asked."""
    base = (
        args.state_dir / "district"
        if args.state_dir
        else Path(tempfile.mkdtemp(prefix="roomcast-bench-district-"))
    )
    found: list[dict[str, Any]] = []
    try:
        found = run_district_series(options, base, sys.stdout, on_run)
        return found
    finally:
        if args.keep or args.state_dir is not None or any("error" in r for r in found):
            print(f"district state and logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
