"""Boot partitions shaped like Raspberry Pi OS's, and the first-boot fix-up bookworm runs.

Three shapes: bookworm customised by Raspberry Pi Imager (``firstrun.sh`` hooked on
``cmdline.txt`` as ``/boot/firstrun.sh``), bookworm as flashed (no customisation), and a
2025+ cloud-init image (``user-data``, ``meta-data``, ``network-config``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait"
CONFIG_TXT = """# For more options and information see
# http://rptl.io/configtxt
#dtparam=i2c_arm=on
#dtparam=i2s=on
#dtparam=spi=on
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
arm_64bit=1

[cm4]
otg_mode=1

[all]
"""
IMAGER_RUN = (
    "systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot "
    "systemd.unit=kernel-command-line.target"
)
FIRSTRUN = """#!/bin/bash

set +e

# (Imager sets the hostname, the user, Wi-Fi and SSH here; the stand-in only marks it ran.)
echo imager > /var/lib/imager-firstrun-ran
rm -f /boot/firstrun.sh /boot/firmware/firstrun.sh
sed -i 's| systemd.run.*||g' /boot/firmware/cmdline.txt
exit 0
"""
USER_DATA = """#cloud-config
hostname: rpi-101
manage_etc_hosts: true
users:
  - name: it
    groups: users,adm,dialout,audio,netdev,video,plugdev,cdrom,games,input,gpio,spi,i2c
    shell: /bin/bash
    lock_passwd: true
runcmd:
  - [sh, -c, 'echo cloud-init ran > /var/lib/cloud-runcmd']
"""


RPI_CLOUD_CFG = """# What Raspberry Pi OS's cloud-init images install (pi-gen stage2/04-cloud-init,
# 99_raspberry-pi.cfg): the NoCloud datasource, seeded from the boot partition.
datasource_list: [ NoCloud, None ]
datasource:
  NoCloud:
    # The trailing slash: bookworm's cloud-init (22.4) appends "user-data" without one.
    seedfrom: file:///boot/firmware/
# (Its ssh_genkeytypes: [] is left out: bookworm's cloud-init schema refuses an empty list,
# and this root has no ssh.)
# make pi-test only: the container shares the host's network, which cloud-init must not
# configure.
network: {config: disabled}
"""
DROP_IN = """[Service]
# make pi-test only: mock pins, and SIGUSR1 presses the panic button (device/testpins.py)
Environment=ROOMCAST_TEST_PIN_FACTORY=mock
"""


@dataclass(frozen=True)
class Card:
    """A card shape, and how its first boot reaches Roomcast's hook."""

    kind: str
    """One of "imager", "plain", "cloud-init" (``lay_out``)."""
    trigger: str
    """What ``provision sdcard`` reports as starting the hook."""
    reboots: bool
    """The install ends in a reboot (``systemd.run_success_action=reboot``)."""
    ran: str
    """A file the image's own first-boot step leaves in the root ("" if it has none)."""
    flashed_at: str
    """Where the partition is in the root before the first boot."""


IMAGER = Card("imager", "firstrun.sh (Imager)", True, "var/lib/imager-firstrun-ran", "boot")
PLAIN = Card("plain", "cmdline.txt", True, "", "boot/firmware")
CLOUD_INIT = Card("cloud-init", "user-data (cloud-init)", False, "var/lib/cloud-runcmd",
                  "boot/firmware")  # fmt: skip


def prepare_root(upper: Path, card: Card) -> None:
    """What differs between the cached root and the image a card stands for, in the
    overlay's upper directory: a node runs no broker (the root has one for the hub case),
    cloud-init is on only on the cloud-init image; and the test's own drop-in."""
    units = upper / "etc/systemd/system"
    (units / "roomcast-device.service.d").mkdir(parents=True, exist_ok=True)
    (units / "roomcast-device.service.d/pitest.conf").write_text(DROP_IN)
    os.symlink("/dev/null", units / "mosquitto.service")
    cloud = upper / "etc/cloud"
    (cloud / "cloud.cfg.d").mkdir(parents=True, exist_ok=True)
    if card.kind == "cloud-init":
        (cloud / "cloud.cfg.d/99_raspberry-pi.cfg").write_text(RPI_CLOUD_CFG)
    else:
        (cloud / "cloud-init.disabled").touch()


def lay_out(boot: Path, kind: str) -> Path:
    """A boot partition of ``kind`` ("imager", "plain" or "cloud-init") at ``boot``."""
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "config.txt").write_text(CONFIG_TXT)
    cmdline = f"{CMDLINE} {IMAGER_RUN}" if kind == "imager" else CMDLINE
    (boot / "cmdline.txt").write_text(cmdline + "\n")
    if kind == "imager":
        (boot / "firstrun.sh").write_text(FIRSTRUN)
    if kind == "cloud-init":
        (boot / "user-data").write_text(USER_DATA)
        (boot / "meta-data").write_text("instance-id: rpi-101\n")
        (boot / "network-config").write_text("version: 2\n")
    return boot


def imager_fixup(root: Path) -> Path:
    """What bookworm's first boot (raspberrypi-sys-mods) does: the boot partition moves
    from /boot to /boot/firmware, and /boot/ paths are rewritten in cmdline.txt only."""
    old, new = root / "boot", root / "boot" / "firmware"
    new.mkdir(parents=True, exist_ok=True)
    for entry in list(old.iterdir()):
        if entry != new:
            entry.rename(new / entry.name)
    cmdline = new / "cmdline.txt"
    cmdline.write_text(cmdline.read_text().replace("=/boot/", "=/boot/firmware/"))
    return new


def kernel_arguments(boot: Path) -> list[str]:
    """The systemd.* options of cmdline.txt: in a container, PID 1's arguments are its
    kernel command line."""
    return [
        word for word in (boot / "cmdline.txt").read_text().split() if word.startswith("systemd.")
    ]
