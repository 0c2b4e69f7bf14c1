"""relay.toml is re-read on SIGHUP by a running ``roomcast hub`` process, nothing queued lost.

Real processes (Mosquitto, ``roomcast hub``, ``roomcast simulate``) and real HTTPS
receivers with the test's own CA. The hub's log is read from its stderr as it is written:
each step waits for the line that says the hub did it, bounded, never a sleep.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.fault.harness import Rooms, School
from tests.relay_receiver import Authority, Receiver, Reply, hook, make_authority, write_relay

pytestmark = pytest.mark.fault

WAIT_S = 20.0


class HubLog:
    """The hub's stderr, line by line, as it arrives (a thread reads the pipe)."""

    def __init__(self, pipe: IO[str]) -> None:
        self._pipe = pipe
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def close(self) -> None:
        """After the hub exited: the reader has met the pipe's end."""
        self._thread.join(5)
        self._pipe.close()

    def mark(self) -> int:
        with self._changed:
            return len(self.lines)

    def wait_for(self, text: str, *, after: int = 0, within_s: float = WAIT_S) -> str:
        """The first line after line ``after`` that contains ``text``; fail after the bound."""

        def found() -> str | None:
            return next((line for line in self.lines[after:] if text in line), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, within_s):
                tail = "".join(self.lines[-20:])
                raise AssertionError(f"no hub log line with {text!r} in {within_s} s:\n{tail}")
            line = found()
        assert line is not None
        return line


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[tuple[Authority, dict[str, Receiver]]]:
    authority = make_authority(tmp_path / "receiver-ca", "receiver")
    found = {name: Receiver(authority) for name in ("dispatch", "police", "signage")}
    for receiver in found.values():
        receiver.start()
    yield authority, found
    for receiver in found.values():
        receiver.close()


def _arrived(receiver: Receiver, key: str) -> None:
    assert receiver.wait_for(lambda: key in receiver.accepted, within_s=WAIT_S), key


def test_sighup_reloads_destinations_keeps_the_queue_and_refuses_a_broken_file(
    tmp_path: Path, receivers: tuple[Authority, dict[str, Receiver]]
) -> None:
    authority, got = receivers
    dispatch, police, signage = got["dispatch"], got["police"], got["signage"]
    dispatch.reply = lambda _: Reply(503)  # its queue fills while the file changes
    school = School(tmp_path, rooms=3)
    relay_toml = school.site.hub.dir / "relay.toml"
    write_relay(
        school.site,
        [hook(dispatch, authority), hook(police, authority, name="police")],
    )
    school.broker.start()
    rooms = Rooms(school, "rooms", [device.config for device in school.site.devices])
    hub = subprocess.Popen(
        [sys.executable, "-m", "roomcast", "hub", "--config", str(school.site.hub.config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert hub.stderr is not None
    log = HubLog(hub.stderr)
    try:
        log.wait_for("hub ready: API on")
        rooms.start()
        first = f"event:{rooms.press('101')}"
        _arrived(police, first)

        # A broken file: the old configuration stays, the log names the file and the key.
        good = relay_toml.read_text()
        relay_toml.write_text(good.replace(police.url(), "ftp://police.example.org/hook"))
        mark = log.mark()
        hub.send_signal(signal.SIGHUP)
        refused = log.wait_for("SIGHUP", after=mark)
        assert str(relay_toml) in refused and "webhook[1].url" in refused
        assert "keeping the relay's current configuration" in refused
        second = f"event:{rooms.press('102')}"
        _arrived(police, second)  # still a destination: nothing changed

        # police removed, signage added, dispatch's pace changed (its sender restarted).
        write_relay(
            school.site,
            [
                hook(dispatch, authority, backoff_max_s=0.3),
                hook(signage, authority, name="signage"),
            ],
        )
        mark = log.mark()
        hub.send_signal(signal.SIGHUP)
        reloaded = log.wait_for("SIGHUP: reloaded", after=mark)
        assert "added signage" in reloaded and "removed police" in reloaded
        assert "changed dispatch" in reloaded
        # The office's view follows: the board, /api/status and relay test name what is now.
        listed = [h["destination"] for h in school.api.get("/api/status")["handoffs"]]
        assert listed == ["dispatch", "signage"]
        third = f"event:{rooms.press('103')}"
        _arrived(signage, third)
        assert signage.accepted_keys() == [third]  # a new destination starts at the present
        assert police.accepted_keys() == [first, second]  # a removed one hears no more

        # What dispatch queued before and across both reloads is all delivered, in order.
        dispatch.reply = lambda _: Reply(200)
        assert dispatch.wait_for(lambda: third in dispatch.accepted, within_s=WAIT_S)
        assert list(dict.fromkeys(dispatch.accepted_keys())) == [first, second, third]
        assert hub.poll() is None  # SIGHUP never stopped the hub
    finally:
        rooms.stop()
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            hub.wait(timeout=15)
        log.close()
        school.broker.stop()
