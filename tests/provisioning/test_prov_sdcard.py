"""``provision sdcard`` on the three shapes of boot partition, and the first-boot hook run
against a fake system (its tools log how they were called; nothing on this machine changes).

The same hook under a real systemd on an arm64 root is ``make pi-test``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bundle_helpers import fake_system, fake_wheelhouse

from provisioning import issue_device
from provisioning.cli import main
from provisioning.errors import BundleError
from provisioning.sdcard import HOOK, MARKER, REPORT_NAME, sdcard
from provisioning.site import SiteLayout

CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait"
IMAGER_RUN = "systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot"
IMAGER_RUN += " systemd.unit=kernel-command-line.target"
FIRSTRUN = "#!/bin/bash\n\nset +e\n\nrm -f /boot/firstrun.sh\nsed -i 's| systemd.run.*||g' /boot/cmdline.txt\nexit 0\n"  # noqa: E501
USER_DATA = "#cloud-config\nhostname: rpi\nruncmd:\n    - [echo, hello]\nssh_pwauth: false\n"


def _boot(tmp_path: Path, cmdline: str = CMDLINE, **files: str) -> Path:
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text(cmdline + "\n")
    (boot / "config.txt").write_text("# For more options...\n#dtparam=i2c_arm=on\n[pi4]\n")
    for name, text in files.items():
        (boot / {"firstrun_sh": "firstrun.sh"}.get(name, name.replace("_", "-"))).write_text(text)
    return boot


def _hook(result_hook: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["/bin/sh", str(result_hook), *args], env=env, check=True, timeout=60)


def test_a_plain_card_is_hooked_on_cmdline_and_its_bus_switched_on(
    site: SiteLayout, tmp_path: Path
) -> None:
    boot = _boot(tmp_path)
    bundle = issue_device(site.root, "101")  # oled-4button: an I2C display
    result = sdcard(boot, bundle, wheelhouse=fake_wheelhouse(tmp_path))
    assert result.trigger == "cmdline.txt" and result.buses == ("dtparam=i2c_arm=on",)
    cmdline = (boot / "cmdline.txt").read_text()
    assert (
        f"{CMDLINE} systemd.run=/boot/firmware/{HOOK} systemd.run_success_action=reboot" in cmdline
    )
    config = (boot / "config.txt").read_text()
    assert config.endswith(f"[pi4]\n\n{MARKER}\n[all]\ndtparam=i2c_arm=on\n")
    assert sorted(p.name for p in (boot / "roomcast" / "wheels").iterdir()) == [
        "pip-25.0-py3-none-any.whl",
        "roomcast-0.1.0-py3-none-any.whl",
    ]
    sdcard(boot, bundle, wheelhouse=fake_wheelhouse(tmp_path / "again"))
    assert (boot / "cmdline.txt").read_text() == cmdline  # idempotent
    assert (boot / "config.txt").read_text() == config


def test_the_hook_installs_the_venv_bundle_unit_and_modules_then_cleans_the_card(
    site: SiteLayout, tmp_path: Path
) -> None:
    boot = _boot(tmp_path)
    result = sdcard(boot, issue_device(site.root, "101"), wheelhouse=fake_wheelhouse(tmp_path))
    env, log = fake_system(tmp_path, roomcast="logged")
    _hook(result.hook, env)
    calls = log.read_text().splitlines()
    groups = ["gpio", "i2c", "spi", "dialout"]
    assert [c for c in calls if c.startswith("groupadd")] == [
        f"groupadd --system {g}" for g in groups
    ]
    (useradd,) = [c for c in calls if c.startswith("useradd")]
    assert useradd.endswith("roomcast") and "--system" in useradd and "nologin" in useradd
    assert "usermod --append --groups gpio,i2c,spi,dialout roomcast" in calls
    (pip,) = [c for c in calls if c.startswith("python ")]
    assert "--no-index" in pip and pip.endswith(" roomcast")
    etc = env["ROOMCAST_ETC"]
    assert (
        f"roomcast provision install {boot}/roomcast/bundle.tar.gz --target {etc} "
        f"--owner roomcast --ca-fingerprint {result.ca_fingerprint}"
    ) in calls
    assert "modprobe i2c-dev" in calls
    assert Path(env["ROOMCAST_MODULES_LOAD"]).read_text() == "i2c-dev\n"
    assert calls[-3:] == [
        "systemctl daemon-reload",
        "systemctl enable roomcast-device.service",
        "systemctl start --no-block roomcast-device.service",
    ]
    unit = Path(env["ROOMCAST_UNITS"]) / "roomcast-device.service"
    assert "Type=notify" in unit.read_text()
    assert sorted(p.name for p in boot.iterdir()) == ["cmdline.txt", "config.txt"]
    assert (boot / "cmdline.txt").read_text() == CMDLINE + "\n"


def test_without_python_venv_the_bundle_waits_off_the_card_and_the_log_says_why(
    site: SiteLayout, tmp_path: Path
) -> None:
    boot = _boot(tmp_path)
    bundle = issue_device(site.root, "101")
    result = sdcard(boot, bundle, wheelhouse=fake_wheelhouse(tmp_path))
    env, _ = fake_system(tmp_path, roomcast="none")
    _hook(result.hook, env)
    assert not Path(env["ROOMCAST_ETC"]).exists()
    pending = Path(env["ROOMCAST_PENDING"])
    assert (pending / "bundle.tar.gz").stat().st_mode & 0o777 == 0o600
    assert (pending / "bundle.tar.gz").read_bytes() == bundle.read_bytes()
    report = (boot / REPORT_NAME).read_text()
    assert report.startswith("Roomcast first-boot install FAILED")
    assert f"roomcast provision install {pending}/bundle.tar.gz" in report
    assert "PRIVATE KEY" not in report and len(report.splitlines()) < 40
    assert sorted(p.name for p in boot.iterdir()) == ["cmdline.txt", "config.txt", REPORT_NAME]


def test_an_imager_card_is_chained_and_survives_the_move_to_boot_firmware(
    site: SiteLayout, tmp_path: Path
) -> None:
    boot = _boot(tmp_path, f"{CMDLINE} {IMAGER_RUN}", firstrun_sh=FIRSTRUN)
    result = sdcard(boot, issue_device(site.root, "101"), wheelhouse=fake_wheelhouse(tmp_path))
    assert result.trigger == "firstrun.sh (Imager)"
    lines = (boot / "firstrun.sh").read_text().splitlines()
    assert lines[0] == "#!/bin/bash" and "for b in /boot/firmware /boot" in lines[1]
    assert HOOK in lines[1] and "--chained" in lines[1] and "/boot/roomcast" not in lines[1]
    assert (boot / "cmdline.txt").read_text() == f"{CMDLINE} {IMAGER_RUN}\n"
    # bookworm's fix-up rewrites /boot/ to /boot/firmware/ in cmdline.txt only; the hook
    # finds its files from its own path, wherever the partition is mounted.
    moved = tmp_path / "root" / "boot" / "firmware"
    moved.parent.mkdir(parents=True)
    boot.rename(moved)
    env, log = fake_system(tmp_path, roomcast="logged")
    _hook(moved / HOOK, env, "--chained")
    assert f"--ca-fingerprint {result.ca_fingerprint}" in log.read_text()
    assert not (moved / REPORT_NAME).exists() and not (moved / "roomcast").exists()
    assert (moved / "cmdline.txt").read_text() == f"{CMDLINE} {IMAGER_RUN}\n"  # Imager's own


def test_a_cloud_init_card_gets_a_runcmd_entry(site: SiteLayout, tmp_path: Path) -> None:
    boot = _boot(tmp_path, user_data=USER_DATA, meta_data="instance-id: rpi\n")
    result = sdcard(boot, issue_device(site.root, "gym"), wheelhouse=fake_wheelhouse(tmp_path))
    assert result.trigger == "user-data (cloud-init)" and result.buses == ()
    lines = (boot / "user-data").read_text().splitlines()
    at = lines.index("runcmd:")
    assert lines[at + 1].startswith("    - [sh, -c, 'for b in /boot/firmware /boot;")
    assert lines[at + 2] == "    - [echo, hello]"
    assert (boot / "cmdline.txt").read_text() == CMDLINE + "\n"
    sdcard(boot, issue_device(site.root, "gym"), wheelhouse=fake_wheelhouse(tmp_path / "2"))
    assert (boot / "user-data").read_text().count(HOOK) == 2  # one entry, the name twice


def test_sdcard_refuses_what_it_cannot_use(site: SiteLayout, tmp_path: Path) -> None:
    wheels = fake_wheelhouse(tmp_path)
    with pytest.raises(BundleError, match=r"no cmdline\.txt"):
        sdcard(tmp_path, issue_device(site.root, "101"), wheelhouse=wheels)
    boot = _boot(tmp_path)
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"junk")
    with pytest.raises(BundleError):
        sdcard(boot, broken, wheelhouse=wheels)
    with pytest.raises(BundleError, match=r"not a Roomcast wheelhouse.*provision wheelhouse"):
        sdcard(boot, issue_device(site.root, "101"), wheelhouse=tmp_path / "none")
    assert sorted(p.name for p in boot.iterdir()) == ["cmdline.txt", "config.txt"]


def test_sdcard_room_issues_the_bundle_itself(
    site: SiteLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot = _boot(tmp_path)
    argv = ["provision", "sdcard", str(boot), "--room", "102", "--site-dir", str(site.root)]
    assert main([*argv, "--wheelhouse", str(fake_wheelhouse(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "lincoln-rc-102-" in out and "started by cmdline.txt; 2 wheels" in out
    assert "config.txt: dtparam=i2c_arm=on" in out and "reload the broker" in out
    assert (boot / "roomcast" / "bundle.tar.gz").exists()


def test_sdcard_room_checks_the_card_before_issuing_a_device(
    site: SiteLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong path must not cost the site a device (and a private key on disk)."""
    argv = ["provision", "sdcard", str(tmp_path), "--room", "102", "--site-dir", str(site.root)]
    assert main([*argv, "--wheelhouse", str(fake_wheelhouse(tmp_path))]) != 0
    assert "no cmdline.txt" in capsys.readouterr().err
    assert not list(site.bundles_dir.iterdir()) and not list(site.devices_dir.iterdir())
