"""Preparing a Raspberry Pi SD card so the node installs itself on first boot.

Only the FAT boot partition is writable from an IT laptop, so everything goes there: the
bundle, a wheelhouse (Roomcast and its dependencies built for the Pi: no internet needed
at first boot), the device unit, and a hook script (``provisioning/firstboot.sh``) with its
settings. What starts the hook depends on the image:

* Raspberry Pi Imager customised it (user, Wi-Fi, SSH): its ``firstrun.sh`` is already run
  by ``systemd.run=`` on ``cmdline.txt``; ours is called from it. The call searches
  ``/boot/firmware`` and ``/boot``, because bookworm's first-boot fix-up moves the
  partition to ``/boot/firmware`` and rewrites only ``cmdline.txt``.
* a cloud-init image (``user-data`` on the partition, 2025+): a ``runcmd`` entry.
* otherwise our own ``systemd.run=`` on ``cmdline.txt``, as Imager does.

The hook installs the bundle only through ``roomcast provision install``, which checks its
signature, with the site CA's fingerprint taken here, so a bundle swapped on the card for
one re-signed by another CA is refused even on a fresh node. (Someone who rewrites the hook
or the card's system can defeat any check on the card itself: keep prepared cards in
custody.) The bus the bundle's display uses is switched on in ``config.txt`` here, so it
is on from the first boot and no extra reboot is needed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from provisioning.devices import CA_CERT
from provisioning.errors import BundleError
from provisioning.fsutil import make_private_dir, write_file, write_private
from provisioning.install import read_bundle
from provisioning.pki import fingerprint
from provisioning.units import unit_file

HOOK = "roomcast-firstrun.sh"
BUNDLE_DIR = "roomcast"
BUNDLE_NAME = "bundle.tar.gz"
REPORT_NAME = "roomcast-install.log"
"""Left on the boot partition (no secret in it) when the first-boot install fails."""
DEFAULT_MOUNT = "/boot/firmware"
SERVICE_USER = "roomcast"
"""The user ``roomcast-device.service`` runs as (``User=``)."""
HARDWARE_GROUPS = ("gpio", "i2c", "spi", "dialout")
"""The unit's ``SupplementaryGroups=``: GPIO, the display's I2C or SPI, serial devices."""
_RUN = (
    "systemd.run={hook} systemd.run_success_action=reboot systemd.unit=kernel-command-line.target"
)
_CHAIN = (
    'for b in /boot/firmware /boot; do if [ -f "$b/{hook}" ]; then '
    '/bin/sh "$b/{hook}" --chained; break; fi; done'
)
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9/_.-]*$")
MARKER = "# Roomcast: the buses this node's hardware uses"


@dataclass(frozen=True)
class SdcardResult:
    """What was written to the boot partition, and how the hook is reached."""

    bundle: Path
    hook: Path
    trigger: str
    """"cmdline.txt", "firstrun.sh (Imager)" or "user-data (cloud-init)"."""
    ca_fingerprint: str
    """The site CA the hook will insist on, for IT to compare with ``provision init``'s."""
    buses: tuple[str, ...] = ()
    """``config.txt`` lines switched on for the node's display."""
    wheels: int = 0


def sdcard(
    boot_partition: Path | str,
    bundle: Path | str,
    *,
    wheelhouse: Path | str,
    mount_point: str = DEFAULT_MOUNT,
    ca_fingerprint: str | None = None,
) -> SdcardResult:
    """Write the bundle, the wheelhouse and the first-boot hook onto a boot partition.

    ``mount_point`` is where the Pi mounts the partition when our own ``systemd.run=``
    starts the hook (``/boot/firmware`` on bookworm and later). ``ca_fingerprint`` refuses
    a bundle of any other site CA, as ``install`` does; the hook insists on the bundle's
    CA either way.
    """
    boot = Path(boot_partition)
    wheels = check_card(boot, wheelhouse=wheelhouse, mount_point=mount_point)
    config, files = read_bundle(bundle, ca_fingerprint)  # refuse a bad bundle first
    ca = fingerprint(x509.load_pem_x509_certificate(files[CA_CERT]))
    card = make_private_dir(boot / BUNDLE_DIR)
    write_private(card / BUNDLE_NAME, Path(bundle).read_bytes())
    _copy_wheels(wheels, card / "wheels")
    write_file(card / "roomcast-device.service", unit_file("roomcast-device.service"), 0o644)
    buses, modules = bus_settings(config.get("hardware", {}))
    write_file(card / "firstboot.env", _env(ca, config.get("hardware", {}), modules), 0o644)
    write_file(boot / HOOK, (Path(__file__).parent / "firstboot.sh").read_bytes(), 0o755)
    enable_buses(boot / "config.txt", buses)
    (boot / REPORT_NAME).unlink(missing_ok=True)  # an old failure's report
    trigger = _hook(boot, mount_point)
    return SdcardResult(
        bundle=card / BUNDLE_NAME,
        hook=boot / HOOK,
        trigger=trigger,
        ca_fingerprint=ca,
        buses=buses,
        wheels=len(wheels),
    )


def check_card(
    boot: Path, *, wheelhouse: Path | str, mount_point: str = DEFAULT_MOUNT
) -> list[Path]:
    """Refuse a card, a mount point or a wheelhouse that cannot work, before anything is
    issued or written (``sdcard --room`` checks first, then issues the room's device);
    the wheels to copy."""
    if not (boot / "cmdline.txt").is_file():
        raise BundleError(
            f"{boot} has no cmdline.txt: not a Raspberry Pi boot partition "
            "(mount the card's first, FAT partition and pass its path)"
        )
    if not _SAFE_PATH.match(mount_point):
        raise BundleError(f"mount point {mount_point!r} must be an absolute path")
    return _wheels(Path(wheelhouse))


def _wheels(wheelhouse: Path) -> list[Path]:
    wheels = sorted(wheelhouse.glob("*.whl")) if wheelhouse.is_dir() else []
    names = [w.name for w in wheels]
    if not any(n.startswith("roomcast-") for n in names) or not any(
        n.startswith("pip-") for n in names
    ):
        raise BundleError(
            f"{wheelhouse} is not a Roomcast wheelhouse (it needs roomcast-*.whl and "
            "pip-*.whl); build one with `roomcast provision wheelhouse DIR` on a machine "
            "with internet access"
        )
    return wheels


def _copy_wheels(wheels: list[Path], target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for wheel in wheels:
        shutil.copyfile(wheel, target / wheel.name)


def bus_settings(hardware: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ``config.txt`` lines and kernel modules the node's display needs."""
    display = hardware.get("display") or {}
    if "i2c" in display:
        return ("dtparam=i2c_arm=on",), ("i2c-dev",)
    if "spi" in display:
        return ("dtparam=spi=on",), ()
    return (), ()


def _env(ca: str, hardware: dict[str, Any], modules: tuple[str, ...]) -> bytes:
    spi = "spi" in (hardware.get("display") or {})
    values = {
        "CA_FINGERPRINT": ca,
        "SERVICE_USER": SERVICE_USER,
        "HARDWARE_GROUPS": " ".join(HARDWARE_GROUPS),
        # SPI panels use the image's python3-spidev and python3-rpi-lgpio (firstboot.sh).
        "SYSTEM_SITE_PACKAGES": "1" if spi else "0",
        "MODULES": " ".join(modules),
        "EXTRAS": "",
    }
    return "".join(f"{k}='{v}'\n" for k, v in values.items()).encode()


def enable_buses(config_txt: Path, lines: tuple[str, ...]) -> None:
    """Switch the buses on in ``config.txt``, in an ``[all]`` section at its end."""
    text = config_txt.read_text(encoding="utf-8") if config_txt.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        return
    block = "\n".join([MARKER, "[all]", *missing])
    write_file(config_txt, f"{text.rstrip()}\n\n{block}\n".encode(), 0o644)


def _hook(boot: Path, mount: str) -> str:
    """Make the Pi run the hook once at first boot; returns what starts it."""
    user_data = boot / "user-data"
    if user_data.is_file():
        _runcmd(user_data, _CHAIN.format(hook=HOOK))
        return "user-data (cloud-init)"
    cmdline = boot / "cmdline.txt"
    line = cmdline.read_text(encoding="ascii").strip()
    match = re.search(r"systemd\.run=(\S+)", line)
    if match is not None and not match.group(1).endswith(f"/{HOOK}"):
        _chain(boot / Path(match.group(1)).name, _CHAIN.format(hook=HOOK))
        return "firstrun.sh (Imager)"
    run = _RUN.format(hook=f"{mount}/{HOOK}")
    if match is None:
        write_file(cmdline, f"{line} {run}\n".encode("ascii"), 0o644)
    return "cmdline.txt"


def _chain(script: Path, call: str) -> None:
    """Call our hook from Imager's first-run script, right after its shebang line."""
    if not script.is_file():
        raise BundleError(
            f"cmdline.txt runs {script.name}, which is not on {script.parent}; "
            "remove that systemd.run= entry or restore the script"
        )
    text = script.read_text(encoding="utf-8")
    if call in text:
        return
    first, _, rest = text.partition("\n")
    if not first.startswith("#!"):
        first, rest = "#!/bin/sh", text
    write_file(script, f"{first}\n{call}\n{rest}".encode(), 0o755)


def _runcmd(user_data: Path, call: str) -> None:
    """Add our hook to cloud-init's ``runcmd`` (the list it runs once, late in first boot)."""
    text = user_data.read_text(encoding="utf-8")
    if HOOK in text:
        return
    if not text.lstrip().startswith("#cloud-config"):
        raise BundleError(
            f"{user_data} is not a #cloud-config file; Roomcast can only add to that kind"
        )
    entry = f"- [sh, -c, '{call}']"
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^runcmd:\s*$", line):
            indent = _item_indent(lines[index + 1 :])
            lines.insert(index + 1, f"{indent}{entry}")
            break
    else:
        lines += ["runcmd:", f"  {entry}"]
    write_file(user_data, ("\n".join(lines) + "\n").encode(), 0o644)


def _item_indent(following: list[str]) -> str:
    for line in following:
        item = re.match(r"^(\s*)- ", line)
        if item:
            return item.group(1)
        if line.strip():
            break
    return "  "
