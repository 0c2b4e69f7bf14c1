"""The classroom node's commands: ``roomcast device``, ``device selftest``, ``screens``.

``roomcast.cli`` adds them with :func:`add_parsers`. Like every subcommand, they import
what they need when they run, so building the parser never loads gpiozero or luma.

* ``roomcast device --config X [--display png|emulator]``: run the classroom service on
  the parts in the config's ``hardware`` section (none: a PNG screen, as in the demo).
* ``roomcast device selftest --config X [--input-wait S]``: try every configured part.
* ``roomcast screens [--out docs/screens]``: render every directive screen at every
  supported display size (the documentation and the golden test frames).

Exit codes: 0 done (selftest: every part passed), 1 a selftest part failed, 2 the config
is wrong (the message names the file and key; no traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

DISPLAYS = ("png", "emulator")
DEFAULT_SCREENS = Path("docs/screens")


def add_parsers(subparsers: Any) -> None:
    """Add ``device`` (with ``selftest``) and ``screens`` to ``roomcast``'s subcommands."""
    device = subparsers.add_parser("device", help="run the classroom service (or selftest)")
    device.add_argument("--config", type=Path, help="the node's device.json")
    device.add_argument(
        "--display",
        choices=DISPLAYS,
        help="instead of the configured display: png (one file) or emulator (luma frames)",
    )
    device.add_argument("--screen", type=Path, help="PNG file for --display png")
    device.add_argument("--frames", type=Path, help="directory for --display emulator")
    device.add_argument("--verbose", action="store_true")
    device.set_defaults(run=run_device)
    actions = device.add_subparsers(dest="device_command", metavar="SUBCOMMAND")
    selftest = actions.add_parser("selftest", help="try every configured part once")
    selftest.add_argument("--config", type=Path, required=True, help="the node's device.json")
    selftest.add_argument(
        "--input-wait",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for each button press (0: do not wait; default 10)",
    )
    selftest.add_argument(
        "--pace", type=float, default=0.5, metavar="S", help="seconds per LED colour or pulse"
    )
    selftest.set_defaults(run=run_selftest_command)
    screens = subparsers.add_parser("screens", help="render every screen at every size")
    screens.add_argument("--out", type=Path, default=DEFAULT_SCREENS, help="default docs/screens")
    screens.add_argument(
        "--wording", type=Path, help="a site's wording.toml: draw its screens in its languages"
    )
    screens.set_defaults(run=run_screens)


def _fail(message: str) -> int:
    print(f"roomcast: {message}", file=sys.stderr)
    return 2


def run_device(args: argparse.Namespace) -> int:
    """Run the classroom service until SIGINT/SIGTERM."""
    from device.build import DisplayChoice, build_hardware
    from device.config import load_device_config
    from device.fonts import MissingGlyphs, check_wording, face_for
    from device.node import node_service
    from device.testpins import test_pin_factory
    from hardware.config_parse import parse_hardware_config
    from hardware.errors import HardwareError
    from transport.running import configure_logging, run_until_signalled
    from transport.systemd import Notifier

    if args.config is None:
        return _fail("device needs --config PATH (the node's device.json)")
    configure_logging(args.verbose)
    config = load_device_config(args.config)
    if not config.hardware and not config.simulated:
        return _fail(
            f"{args.config}: no hardware section, so this node would run on simulated "
            "buttons and a PNG screen while looking like a classroom node; refusing. Install "
            "a bundle issued with a hardware profile (the rooms CSV's `hardware` column, "
            'docs/provisioning.md), or set "hardware": {"simulated": true} for a simulator'
        )
    try:  # before any part is opened: a directive in empty boxes must not look installed
        check_wording(config.wording)
    except MissingGlyphs as error:
        return _fail(f"{args.config}: wording: {error}; the node cannot show it")
    try:  # the room's name is not the directive: boxes in it are worth a warning only
        face_for(config.room_label)
    except MissingGlyphs as error:
        logging.getLogger("roomcast.device").warning("room_name: %s", error)
    _warn_unchecked(config.wording.unchecked)
    choice = DisplayChoice(
        kind=args.display or ("png" if args.screen else None),
        png=args.screen or config.state_dir / "screen.png",
        frames=args.frames or config.state_dir / "frames",
    )
    try:
        pins = test_pin_factory(parse_hardware_config(config.hardware))
        parts = build_hardware(config.hardware, choice=choice, pin_factory=pins)
    except HardwareError as error:
        return _fail(f"{args.config}: {error}")
    service = node_service(config, parts, notifier=Notifier())
    try:
        return run_until_signalled(service.run())
    finally:
        parts.close()


def _warn_unchecked(languages: tuple[str, ...]) -> None:
    for code in languages:
        logging.getLogger("roomcast.device").warning(
            "wording: %s is Roomcast's shipped translation, not yet checked by the district; "
            "review it and set %s.checked = true in the site's wording.toml",
            code,
            code,
        )


def run_selftest_command(args: argparse.Namespace) -> int:
    """Test the parts in the config's ``hardware`` section; 0 only if all passed."""
    from device.fonts import MissingGlyphs, check_wording
    from device.selftest import SelftestOptions, run_selftest
    from hardware.config_parse import parse_hardware_config
    from hardware.errors import HardwareError
    from transport.settings import ConfigError, Settings
    from transport.wording_file import wording_setting

    # Only the hardware section and the room's name: a technician can test the wiring
    # before the node's bundle (keys, certificates) is installed.
    settings = Settings.load(args.config, missing_hint="give the node's device.json")
    raw = settings.get("hardware", dict, {})
    if raw.get("simulated") is True:
        return _fail(f"{args.config}: a simulated node (hardware.simulated) has no parts to test")
    if not raw:
        return _fail(f"{args.config}: no hardware section, so nothing to test")
    try:
        config = parse_hardware_config(raw)
    except HardwareError as error:
        return _fail(f"{args.config}: {error}")
    room = settings.get("room_name", str, "") or settings.get("room", str, "selftest")
    try:
        wording = wording_setting(settings)
        check_wording(wording)
    except (ConfigError, MissingGlyphs) as error:
        return _fail(str(error))
    options = SelftestOptions(
        out=sys.stdout,
        room=room,
        input_wait_s=max(0.0, args.input_wait),
        pace_s=args.pace,
        wording=wording,
    )
    print(f"selftest of {args.config} (stop the roomcast-device service first)")
    results = run_selftest(config, options)
    failed = [r.part for r in results if not r.passed]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all passed"
    print(f"selftest: {len(results) - len(failed)} of {len(results)} parts passed; {verdict}")
    return 1 if failed else 0


def run_screens(args: argparse.Namespace) -> int:
    """Write every screen's PNG and the README that shows them."""
    from device.catalogue import write_catalogue, write_site_screens
    from device.fonts import MissingGlyphs, check_wording
    from transport.settings import ConfigError
    from transport.wording_file import load_wording_file

    if args.wording is not None:
        try:
            wording = load_wording_file(args.wording)
            check_wording(wording)
        except ConfigError as error:
            return _fail(str(error))
        except MissingGlyphs as error:
            return _fail(f"{args.wording}: {error}")
        written = write_site_screens(args.out, wording)
        print(f"wrote {len(written) - 1} screens in {', '.join(wording.codes)} to {args.out}")
        return 0
    written = write_catalogue(args.out)
    print(f"wrote {len(written) - 1} screens and {args.out / 'README.md'}")
    return 0
