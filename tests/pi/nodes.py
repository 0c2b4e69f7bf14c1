"""A blank card of each shape to a node online at the hub: what the three cases share.

Each card gets a fresh overlay upper directory on the same cached root: the card is laid
out where the image has its boot partition, ``provision sdcard`` prepares it, and the Pi
boots with the card's ``cmdline.txt`` options until the node is online at the hub. Then,
whatever started the hook, the card must hold nothing secret.
"""

from __future__ import annotations

import time
from pathlib import Path

from hub.service import HubService
from provisioning import issue_device
from provisioning.sdcard import HOOK, sdcard
from tests.pi.cards import Card, imager_fixup, kernel_arguments, lay_out, prepare_root
from tests.pi.container import Pi, wait_until
from tests.pi.rootfs import PiTestError

FIRST_BOOT_S = 900
ONLINE_S = 600


def write_card(
    card: Card, upper: Path, site: Path, wheels: Path, broker_pid: int
) -> tuple[Path, float]:
    """The card as IT hands it over, in ``upper``: its boot partition as the Pi will see it
    at first boot, and the MB ``provision sdcard`` wrote on it. The running broker is
    reloaded so the new device may connect (``sdcard --pid``)."""
    boot = lay_out(upper / card.flashed_at, card.kind)
    bundle = issue_device(site, "101", reload_pid=broker_pid)
    result = sdcard(boot, bundle, wheelhouse=wheels)
    if result.trigger != card.trigger:
        raise PiTestError(f"sdcard hooked the {card.kind} card by {result.trigger!r}")
    check_hooked(card, boot)
    written = sum(p.stat().st_size for p in boot.rglob("*") if p.is_file()) / 1e6
    prepare_root(upper, card)
    return (imager_fixup(upper) if card.kind == "imager" else boot), written


def check_hooked(card: Card, boot: Path) -> None:
    """The hook is where this image's first boot will run it."""
    cmdline, chained = (boot / "cmdline.txt").read_text(), f'{HOOK}" --chained'
    if card.kind == "imager":
        hooked = chained in (boot / "firstrun.sh").read_text()
    elif card.kind == "plain":
        hooked = f"systemd.run=/boot/firmware/{HOOK}" in cmdline
    else:
        hooked = chained in (boot / "user-data").read_text() and "systemd.run" not in cmdline
    if not hooked:
        raise PiTestError(f"the {card.kind} card's hook is not where its first boot runs it")


def card_is_clean(boot: Path) -> None:
    """Nothing secret on the FAT partition; no failure report."""
    report = boot / "roomcast-install.log"
    if report.exists():
        raise PiTestError(f"the first-boot install failed:\n{report.read_text()}")
    for path in boot.rglob("*"):
        if path.is_file() and b"PRIVATE KEY" in path.read_bytes():
            raise PiTestError(f"{path} holds a private key after first boot")
    leftovers = {"roomcast", HOOK, "firstrun.sh"} & {p.name for p in boot.iterdir()}
    if leftovers:
        raise PiTestError(f"left on the boot partition: {sorted(leftovers)}")


async def online(hub: HubService, within_s: float, known: set[str]) -> str:
    """A device online at the hub that was not (``known``): its id."""
    found = await wait_until(
        lambda: [d for d, r in hub.engine.presence.devices.items() if r.online and d not in known],
        within_s, "the node to come online at the hub",
    )  # fmt: skip
    return str(found[0])  # type: ignore[index]


async def install_from_card(
    pi: Pi, hub: HubService, card: Card, boot: Path, results: dict[str, str]
) -> str:
    """Boot a fresh card until its node is online at the hub; its device id."""
    # Online before this boot: the hub knows every issued device, this card's too.
    known = {d for d, r in hub.engine.presence.devices.items() if r.online}
    started = time.monotonic()
    await pi.boot(*kernel_arguments(boot))
    if card.reboots:
        code = await pi.exited(FIRST_BOOT_S)
        if code not in (0, 133):  # 133: the container asked for a reboot
            raise PiTestError(f"the first boot ended with {code}; see {pi.log}")
        results[f"{card.kind} card: first boot (install, reboot)"] = (
            f"{time.monotonic() - started:.0f} s"
        )
        card_is_clean(boot)
        await pi.boot(*kernel_arguments(boot))
    device = await online(hub, ONLINE_S, known)
    what = "blank card to online" + ("" if card.reboots else " (no reboot)")
    results[f"{card.kind} card: {what}"] = f"{time.monotonic() - started:.0f} s"
    # Under cloud-init the node starts while the hook still tidies up the card.
    await wait_until(lambda: not (boot / HOOK).exists(), 120, "the hook to remove itself")
    card_is_clean(boot)
    if card.ran:
        await wait_until(
            (pi.upper / card.ran).exists, 120, f"the image's own first boot ({card.ran})"
        )
    return device
