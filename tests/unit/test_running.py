"""Stopping a service on SIGTERM, also when a library loses the first cancellation."""

from __future__ import annotations

import asyncio
import os
import signal

from transport.running import run_until_signalled


async def _stubborn(cancels: list[str]) -> None:
    # What Python 3.11's wait_for does when the cancellation races a completing future:
    # the CancelledError never reaches the caller, which carries on.
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        cancels.append("lost")
    try:
        await asyncio.sleep(3600)
    finally:
        cancels.append("stopped")


async def _polite(cancels: list[str]) -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        cancels.append("stopped")


async def _service(*, stubborn: bool, cancels: list[str]) -> None:
    """Shaped like ours (a task group of long-lived tasks); sends itself SIGTERM."""
    async with asyncio.TaskGroup() as group:
        group.create_task(_stubborn(cancels) if stubborn else _polite(cancels))
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_stops_a_service_and_runs_its_cleanup() -> None:
    cancels: list[str] = []
    assert run_until_signalled(_service(stubborn=False, cancels=cancels), recancel_s=0.2) == 0
    assert cancels == ["stopped"]


def test_a_service_that_lost_its_cancellation_is_cancelled_again() -> None:
    cancels: list[str] = []
    assert run_until_signalled(_service(stubborn=True, cancels=cancels), recancel_s=0.2) == 0
    assert cancels == ["lost", "stopped"]
