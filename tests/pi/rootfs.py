"""The emulated Pi for ``make pi-test``: a Debian bookworm arm64 root (debootstrap +
qemu-user-static), the node's wheelhouse, and boot partitions shaped like Raspberry Pi OS's.

Both the root and the wheelhouse are cached under ``~/.cache/roomcast/`` (``make pi-clean``
removes them): the root takes minutes to build, the wheelhouse needs PyPI. The root's
directory is named by a hash of ``PACKAGES``, so a changed list builds a new root (and a
branch with another list, on the same machine, keeps its own). Each boot runs on an overlay
of the cached root, so the cache is never changed by a test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("ROOMCAST_PI_CACHE", Path.home() / ".cache" / "roomcast"))
COMPLETE = ".roomcast-complete"
REPO = Path(__file__).resolve().parents[2]
PACKAGES = ",".join([
    "systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "ca-certificates",
    "iproute2", "kmod", "udev",
    "mosquitto",  # the hub case: install-hub.sh finds Debian's broker installed (no network)
    "cloud-init",  # the cloud-init card: Raspberry Pi OS's newer images boot with it
    "python3-cffi-backend",  # provides a virtual dependency of cloud-init; debootstrap misses it
])  # fmt: skip
"""What debootstrap installs besides minbase. A node's card masks mosquitto and disables
cloud-init where the image it stands for has neither (cards.prepare_root)."""
MIRROR = "http://deb.debian.org/debian"
ROOT = CACHE / f"bookworm-arm64-{hashlib.sha256(PACKAGES.encode()).hexdigest()[:10]}"
TOOLS = {
    "debootstrap": "debootstrap",
    "qemu-aarch64-static": "qemu-user-static",
    "systemd-nspawn": "systemd-container",
    "update-binfmts": "binfmt-support",
    "mosquitto": "mosquitto",
}
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BUILD_TIMEOUT_S = 1800
ATTEMPTS = 2


class PiTestError(RuntimeError):
    """Something the test needs is missing or broke; the message names the fix."""


def check_tools() -> None:
    """Fail loudly, naming the Debian package, for every tool that is missing."""
    missing = sorted(
        {pkg for tool, pkg in TOOLS.items() if not shutil.which(tool) and not _sbin(tool)}
    )
    if missing:
        raise PiTestError(f"missing tools; install them: apt-get install -y {' '.join(missing)}")
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False)
    if not (BINFMT / "qemu-aarch64").exists():
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=False)
    if not (BINFMT / "qemu-aarch64").exists():
        raise PiTestError(
            "arm64 binaries cannot run here: binfmt_misc has no qemu-aarch64 entry "
            "(apt-get install -y qemu-user-static binfmt-support; update-binfmts --enable)"
        )


def _sbin(tool: str) -> bool:
    return Path("/usr/sbin", tool).exists()


def bookworm_root() -> Path:
    """The cached arm64 root for ``PACKAGES``, built with debootstrap when it is missing
    or incomplete."""
    if (ROOT / COMPLETE).exists():
        return ROOT
    work = ROOT.with_name(ROOT.name + ".tmp")
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"pi-test: building the bookworm arm64 root in {ROOT} (minutes; cached)", flush=True)
    failure = ""
    for _ in range(ATTEMPTS):
        failure = _debootstrap(work)
        if not failure:
            break
        print(f"pi-test: debootstrap failed, trying again from scratch:\n{failure}", flush=True)
    else:
        raise PiTestError(f"debootstrap failed {ATTEMPTS} times; the last:\n{failure}")
    (work / COMPLETE).write_text(PACKAGES)
    others = sorted(p.name for p in CACHE.glob("bookworm-arm64*") if p not in (ROOT, work))
    if others:
        print(f"pi-test: other roots in {CACHE}: {others} (make pi-clean)", flush=True)
    shutil.rmtree(ROOT, ignore_errors=True)
    work.rename(ROOT)
    return ROOT


def _debootstrap(work: Path) -> str:
    """One debootstrap into an empty ``work``: what went wrong, or "" when it worked.

    A failed second stage can leave the root's /proc mounted (debootstrap mounts it to run
    the arm64 maintainer scripts), and debootstrap's own retries then try to delete the
    host's /proc through it; so each attempt starts from a new directory, unmounted first."""
    _unmount_under(work)
    shutil.rmtree(work, ignore_errors=True)
    command = ["debootstrap", "--arch=arm64", "--variant=minbase", f"--include={PACKAGES}"]
    try:
        result = subprocess.run(
            [*command, "bookworm", str(work), MIRROR],
            capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        log = work / "debootstrap" / "debootstrap.log"
        raise PiTestError(f"debootstrap took more than {BUILD_TIMEOUT_S} s; see {log}") from None
    finally:
        _unmount_under(work)
    if result.returncode == 0:
        return ""
    return f"{result.stdout[-2000:]}{result.stderr[-2000:]}"


def _unmount_under(path: Path) -> None:
    """Lazily unmount every mount point inside ``path``, deepest first."""
    inside = str(path.resolve()) + "/"
    with Path("/proc/self/mounts").open(encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(inside)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)


def wheelhouse() -> Path:
    """The node's wheelhouse for this source (cached by a hash of what goes into it)."""
    digest = hashlib.sha256()
    for path in [*sorted(REPO.glob("*/**/*.py")), REPO / "pyproject.toml"]:
        if ".venv" not in path.parts and "tests" not in path.parts:
            digest.update(path.read_bytes())
    target = CACHE / f"wheelhouse-{digest.hexdigest()[:12]}"
    if (target / COMPLETE).exists():
        return target
    for old in CACHE.glob("wheelhouse-*"):
        shutil.rmtree(old, ignore_errors=True)
    command = [sys.executable, "-m", "roomcast", "provision", "wheelhouse", str(target)]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=REPO, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise PiTestError(f"the wheelhouse took more than {BUILD_TIMEOUT_S} s to build") from None
    if result.returncode != 0:
        raise PiTestError(f"the wheelhouse could not be built:\n{result.stderr[-3000:]}")
    (target / COMPLETE).touch()
    return target
