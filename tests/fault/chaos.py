"""`make chaos`: random faults for a set time, then the count of what was lost (must be 0).

    python -m tests.fault.chaos --minutes 5 --rooms 30

Each round: some panic presses, one random fault (broker kill -9, hub kill -9, a room's
link black-holed, the crowd's link cut), more presses and a directive while it lasts,
recovery, then a check that every display converged. At the end: presses sent, received,
duplicates removed, lost, and the worst time to converge.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from roomcast.client import ClientError
from tests.fault.harness import Rooms, School, wait_until
from tests.fault.proxy import ThreadedProxy

ACTIONS = ["hold", "secure", "lockdown", "all_clear"]


class Chaos:
    def __init__(self, root: Path, rooms: int, rng: random.Random) -> None:
        self.rng = rng
        self.school = School(root, rooms=rooms)
        self.school.broker.start()
        ids = self.school.room_ids
        self.crowd_link = ThreadedProxy(self.school.broker.port)
        self.loner_link = ThreadedProxy(self.school.broker.port)
        self.crowd = Rooms(
            self.school, "crowd", self.school.route_rooms(ids[1:], self.crowd_link.port)
        )
        self.loner = Rooms(
            self.school, "loner", self.school.route_rooms(ids[:1], self.loner_link.port)
        )
        self.school.start_hub()
        self.crowd.start()
        self.loner.start()
        self.pressed: list[str] = []
        self.worst_converge_s = 0.0

    def faults(self) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
        school = self.school
        return {
            "broker kill -9": (school.broker.kill, school.broker.start),
            "hub kill -9": (school.kill_hub, school.start_hub),
            "room link black-holed": (self.loner_link.blackhole, self.loner_link.restore),
            "crowd link cut": (self.crowd_link.cut, self.crowd_link.restore),
        }

    def press_some(self) -> None:
        for room in self.rng.sample(self.school.room_ids, k=min(5, len(self.school.room_ids))):
            group = self.loner if room == self.school.room_ids[0] else self.crowd
            self.pressed.append(group.press(room))

    def round(self) -> str:
        name, (start, stop) = self.rng.choice(sorted(self.faults().items()))
        self.press_some()
        start()
        self.press_some()
        seq = self._issue()
        time.sleep(self.rng.uniform(0.5, 3.0))  # chaos: let the fault last a random while
        stop()
        if seq is None:  # the hub was down: issue once it is back
            seq = self._issue(retry=True)
        took = wait_until(
            lambda: self.school.converged([self.crowd, self.loner], seq["seq"]),
            within_s=60,
            what=f"convergence after {name}",
        )
        self.worst_converge_s = max(self.worst_converge_s, took)
        return name

    def _issue(self, *, retry: bool = False) -> dict[str, object] | None:
        """A random directive; over a Lockdown only an All clear is accepted (409)."""
        action = self.rng.choice(ACTIONS)
        try:
            return dict(self.school.api.post("/api/directives", {"action": action}))
        except ClientError as error:
            if "in Lockdown" in str(error):
                return dict(self.school.api.post("/api/directives", {"action": "all_clear"}))
            if retry:
                raise
            return None  # the hub is down: issued once it is back

    def totals(self) -> dict[str, object]:
        wait_until(
            lambda: set(self.pressed) <= set(self.school.panic_event_ids()),
            within_s=60,
            what="every press to arrive",
        )
        received = self.school.panic_event_ids()
        return {
            "presses sent": len(self.pressed),
            "received": len(received),
            "duplicates removed": self.school.rejected().get("duplicate event", 0),
            "lost": len(set(self.pressed) - set(received)),
            "worst converge s": round(self.worst_converge_s, 2),
        }

    def close(self) -> None:
        self.school.stop_all([self.crowd, self.loner])
        self.crowd_link.close()
        self.loner_link.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"chaos: {args.rooms} rooms for {args.minutes} min, seed {seed}")
    with tempfile.TemporaryDirectory(prefix="roomcast-chaos-") as root:
        chaos = Chaos(Path(root), args.rooms, random.Random(seed))
        try:
            deadline = time.monotonic() + args.minutes * 60
            rounds = 0
            while time.monotonic() < deadline:
                rounds += 1
                began = time.monotonic()
                name = chaos.round()
                print(f"  round {rounds}: {name} ... converged ({time.monotonic() - began:.1f} s)")
            totals = chaos.totals()
        finally:
            chaos.close()
    for key, value in totals.items():
        print(f"{key:>20}: {value}")
    return 0 if totals["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
