"""The throw-away site the demo uses: production steps, loopback addresses, generated rooms."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path

import pytest
from prov_helpers import Broker, Connector, Session, TlsIdentity, free_port

from device.config import load_device_config
from hub.config import load_hub_config
from protocol.topics import DeviceChannel, Topics
from provisioning import create_throwaway_site


def test_throwaway_site_has_one_installed_node_per_room(tmp_path: Path) -> None:
    site = create_throwaway_site(tmp_path / "demo", rooms=12, broker_port=18999)
    assert len(site.devices) == 12
    assert sorted(d.room for d in site.devices)[:2] == ["101", "102"]
    assert load_hub_config(site.hub.config).broker.port == 18999
    for node in site.devices:
        config = load_device_config(node.config, state_dir=tmp_path / "state")
        assert config.broker.tls is not None and config.broker.tls.key == node.key
        assert (config.broker.host, config.broker.port) == ("127.0.0.1", 18999)
    assert "listener 18999 127.0.0.1" in site.layout.broker.conf.read_text()
    again = create_throwaway_site(tmp_path / "demo", rooms=2, broker_port=18999)
    assert len(again.devices) == 2  # replaced, not merged


@pytest.mark.integration
def test_the_generated_broker_config_runs_as_is(
    tmp_path: Path, run_mosquitto: Callable[[Path, int, Path], ContextManager[Broker]]
) -> None:
    port = free_port()
    site = create_throwaway_site(tmp_path / "demo", rooms=2, broker_port=port)
    topics = Topics(site.site)
    conf = site.layout.broker.conf
    with run_mosquitto(conf, port, tmp_path / "mosquitto.log") as broker:
        clients = Connector(broker)
        try:
            hub = clients.session("hub", TlsIdentity(site.hub.ca, site.hub.cert, site.hub.key))
            hub.subscribe(topics.device_wildcard(DeviceChannel.STATUS))
            node = site.devices[0]
            device = clients.session(node.device_id, TlsIdentity(node.ca, node.cert, node.key))
            assert isinstance(device, Session)
            device.publish(topics.device(node.device_id, DeviceChannel.STATUS), b"online")
            hub.expect(topics.device(node.device_id, DeviceChannel.STATUS), b"online")
        finally:
            clients.close_all()
