"""The site's ``wording.toml`` (``<site>/hub/wording.toml``, beside ``hub.json``), which
every device bundle carries inline in its ``device.json``.

One file, so the office's console and every classroom word a directive alike: the hub
reads it from its own folder, and each bundle issued after it changes takes a copy (a
node learns its site's languages from its signed bundle, never from the broker; see
docs/protocol.md "Wording"). It is checked here with the node's own parser, so a broken
file stops ``provision device`` naming the file and key instead of a node at boot.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from protocol.languages import WordingError, parse_wording
from provisioning.errors import DeviceError

WORDING_FILE = "wording.toml"


def bundle_wording(hub_dir: Path) -> dict[str, object] | None:
    """The site's wording as ``device.json`` carries it, or None: the site is English only."""
    path = hub_dir / WORDING_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise DeviceError(f"{path}: cannot read it ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise DeviceError(f"{path}: not valid TOML ({error})") from None
    try:
        parse_wording(data, str(path))
    except WordingError as error:
        raise DeviceError(f"{error}; fix it and issue the bundles again") from None
    return data
