"""The session's MQTT client on a real broker: every packet goes out when it is queued."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import aiomqtt
import pytest

from protocol.topics import DeviceChannel, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import WAIT, identity
from transport.endpoint import BrokerEndpoint
from transport.session import NO_DELAY, EagerClient, tls_parameters

pytestmark = pytest.mark.integration


def test_the_aiomqtt_method_the_client_overrides_is_still_there() -> None:
    # If an aiomqtt upgrade renames or reshapes it, EagerClient silently stops applying.
    method = vars(aiomqtt.Client)["_on_socket_register_write"]
    assert list(inspect.signature(method).parameters) == ["self", "client", "userdata", "sock"]


def eager(site: ThrowawaySite, broker: MosquittoProcess, who: str) -> EagerClient:
    endpoint = BrokerEndpoint(host="127.0.0.1", port=broker.port, tls=identity(site, who))
    return EagerClient(
        "127.0.0.1",
        broker.port,
        identifier=f"test-eager-{who}",
        tls_params=tls_parameters(endpoint),
        socket_options=NO_DELAY,
    )


async def test_publishes_and_their_acks_are_written_without_a_loop_turn(
    site: ThrowawaySite, mosquitto: MosquittoProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = site.devices[0].device_id
    topic = Topics(site.site).device(device, DeviceChannel.EVENT)
    loop = asyncio.get_running_loop()
    writers: list[object] = []
    add_writer: Callable[..., None] = loop.add_writer

    def counting(fd: Any, callback: Callable[..., object], *args: Any) -> None:
        writers.append(fd)
        add_writer(fd, callback, *args)

    async with eager(site, mosquitto, "hub") as hub, eager(site, mosquitto, device) as node:
        await hub.subscribe(topic, qos=1)
        monkeypatch.setattr(loop, "add_writer", counting)
        for number in range(20):  # each waits for the broker's PUBACK
            await node.publish(topic, f"event {number}".encode(), qos=1)
        received = []
        async with asyncio.timeout(WAIT):
            async for message in hub.messages:  # the hub's PUBACKs go out as they arrive
                received.append(message.payload)
                if len(received) == 20:
                    break
    assert received == [f"event {number}".encode() for number in range(20)]
    assert writers == []  # no packet waited for the socket's writer
