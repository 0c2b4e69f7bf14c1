"""The aiomqtt client the link opens, and what it is opened with.

Only :mod:`transport.link` creates one; it is here, apart from the link's routing and
publishing, because it is tuned (``NO_DELAY``, :class:`EagerClient`) and measured.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
from aiomqtt.types import PahoSocket

from transport.endpoint import BrokerEndpoint

log = logging.getLogger(__name__)

NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""Send each small packet (an alert, an ack) at once: with Nagle's algorithm and delayed
ACKs, Linux held them ~40 ms per hop (measured: one room, issue to ack at the hub,
went from 86 ms to 10 ms)."""

Screen = Callable[[str, bytes | bytearray], bool]
"""Called as paho hands over each message: False drops it there (see EagerClient)."""


class EagerClient(aiomqtt.Client):
    """aiomqtt's client, sending each packet when paho queues it, not a loop turn later.

    paho asks for the socket's writer whenever it queues a packet (a publish, the PUBACK
    of each message received). aiomqtt 2.x answers through ``call_soon_threadsafe``,
    because paho asks from an executor thread while it connects; on the loop that cost
    every packet a self-pipe wake-up, two ``epoll_ctl`` calls and two loop turns. On the
    loop's thread this client writes at once, as paho itself does when no outside loop
    drives it (``paho.mqtt.client.Client._packet_queue``), and leaves the writer to
    aiomqtt only when the socket would block or anything unexpected happens. Measured
    on a device: 10 fewer system calls and 6 % fewer instructions on its loop per
    directive. Overrides a private aiomqtt method: ``tests/integration/test_link.py``
    fails if an aiomqtt upgrade renames it; without it the client is plain aiomqtt.
    """

    def __init__(self, *args: Any, screen: Screen | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._screen = screen

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        """Drop what ``screen`` refuses before aiomqtt wraps and queues it: a flooding
        device's messages then cost the hub a dict lookup each, not a trip through the
        queue (measured in ``make bench``'s flood phase)."""
        if self._screen is not None and not self._screen(message.topic, message.payload):
            return
        super()._on_message(client, userdata, message)

    def _on_socket_register_write(
        self, client: mqtt.Client, userdata: Any, sock: PahoSocket
    ) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # paho's connect, in aiomqtt's executor thread
            super()._on_socket_register_write(client, userdata, sock)
            return
        try:
            client.loop_write()
        except Exception:  # unexpected: aiomqtt's writer tries again, and disconnects on it
            log.warning("could not write to the broker at once", exc_info=True)
        else:
            if not client.want_write():
                return
        if client.socket() is not None:  # None: paho closed it and reported the loss
            super()._on_socket_register_write(client, userdata, sock)


def tls_parameters(endpoint: BrokerEndpoint) -> aiomqtt.TLSParameters | None:
    if endpoint.tls is None:
        return None
    return aiomqtt.TLSParameters(
        ca_certs=str(endpoint.tls.ca),
        certfile=str(endpoint.tls.cert),
        keyfile=str(endpoint.tls.key),
        cert_reqs=ssl.CERT_REQUIRED,
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )


def persistent_client(
    endpoint: BrokerEndpoint, *, client_id: str, will: aiomqtt.Will | None, screen: Screen | None
) -> EagerClient:
    """A client for one connection attempt. The id is fixed and the session persistent
    (MQTT 3.1.1 ``clean_session=False``), so QoS 1 messages sent while this side is away
    (receipts to a node, events to the hub) are queued for it by the broker."""
    return EagerClient(
        endpoint.host,
        endpoint.port,
        identifier=client_id,
        clean_session=False,
        keepalive=endpoint.keepalive_s,
        will=will,
        tls_params=tls_parameters(endpoint),
        timeout=5,  # also bounds the PUBACK wait of each publish and the DISCONNECT on shutdown
        max_queued_outgoing_messages=1000,
        socket_options=NO_DELAY,
        screen=screen,
    )


def payload_bytes(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()
