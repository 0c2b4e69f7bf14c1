"""The site's wording.toml travels inline in every device bundle, checked first."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from device.config import load_device_config
from hub.config import ConfigError, load_hub_config
from protocol.languages import parse_wording
from protocol.srp import Action
from provisioning import issue_device
from provisioning.errors import DeviceError
from provisioning.site import SiteLayout
from provisioning.throwaway import create_throwaway_site
from transport.wording_file import load_wording_file

WORDING = """\
languages = ["en", "es"]

[es]
checked = true

[es.locations]
"Football field" = "Campo de fútbol"
"""


def device_json(bundle: Path) -> dict[str, object]:
    with tarfile.open(bundle, "r:gz") as archive:
        member = archive.extractfile("device.json")
        assert member is not None
        loaded: dict[str, object] = json.loads(member.read())
        return loaded


def test_a_bundle_carries_the_sites_wording_as_the_hub_reads_it(site: SiteLayout) -> None:
    assert "wording" not in device_json(issue_device(site.root, "101"))  # English only
    path = site.hub.dir / "wording.toml"
    path.write_text(WORDING, encoding="utf-8")
    carried = device_json(issue_device(site.root, "102"))["wording"]
    assert isinstance(carried, dict)
    on_node = parse_wording(carried, "device.json: wording")
    at_hub = load_wording_file(path)
    assert on_node.codes == at_hub.codes == ("en", "es")
    assert on_node.languages[1].location("football field") == "Campo de fútbol"
    assert on_node.unchecked == ()
    assert on_node.languages[1][Action.LOCKDOWN] == at_hub.languages[1][Action.LOCKDOWN]


def test_a_broken_wording_file_stops_the_bundle_naming_the_file_and_key(
    site: SiteLayout,
) -> None:
    path = site.hub.dir / "wording.toml"
    path.write_text('languages = ["en", "es"]\n[es.lockdown]\nterm = 7\n', encoding="utf-8")
    before = set(site.bundles_dir.glob("*")) if site.bundles_dir.exists() else set()
    with pytest.raises(DeviceError, match=f"{path}: es.lockdown.term: must be text"):
        issue_device(site.root, "101")
    after = set(site.bundles_dir.glob("*")) if site.bundles_dir.exists() else set()
    assert after == before


def test_the_hub_words_directives_in_the_sites_first_language(
    equipped_site: SiteLayout,
) -> None:
    assert load_hub_config(equipped_site.hub.config).wording.codes == ("en",)
    path = equipped_site.hub.dir / "wording.toml"
    path.write_text('languages = ["es", "en"]\n', encoding="utf-8")
    wording = load_hub_config(equipped_site.hub.config).wording
    assert wording.first[Action.ALL_CLEAR].term == "TODO DESPEJADO"
    assert wording.unchecked == ("es",)
    path.write_text('languages = ["es", "en"]\n[es.hold]\nterm = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path}: es.hold.term: must be 1 to 200"):
        load_hub_config(equipped_site.hub.config)


def test_a_demo_site_with_a_wording_file_has_it_on_the_hub_and_every_node(
    tmp_path: Path,
) -> None:
    wording = tmp_path / "wording.toml"
    wording.write_text(WORDING, encoding="utf-8")
    site = create_throwaway_site(tmp_path / "demo", rooms=2, broker_port=18998, wording=wording)
    assert load_hub_config(site.hub.config).wording.codes == ("en", "es")
    for node in site.devices:
        config = load_device_config(node.config, state_dir=tmp_path / "state")
        assert config.wording.codes == ("en", "es")
        assert config.wording.languages[1].location("Football field") == "Campo de fútbol"
