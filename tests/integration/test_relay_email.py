"""The relay's email destination against a real SMTP server on loopback (aiosmtpd).

STARTTLS with a certificate from a CA the test made, AUTH, and a server that can be
down, busy (451) or broken (554); the hub is the real service on a real Mosquitto and the
presses come from real classroom services (tests/smtp_receiver.py).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.srp import Action
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests import relay_waits
from tests.conftest import StartNode, hub_with
from tests.relay_receiver import Authority, Receiver, hook, make_authority, running
from tests.relay_waits import press
from tests.smtp_receiver import USER, SmtpServer, mailbox, serving, write_relay_with_email

pytestmark = pytest.mark.integration


attempted = functools.partial(relay_waits.attempted, name="sro")
"""The mailbox's attempts, unless a test names another destination."""


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path / "mail-ca", "mail")


@pytest.fixture
def smtp(authority: Authority) -> Iterator[SmtpServer]:
    with serving(SmtpServer(authority)) as started:
        yield started


@contextlib.asynccontextmanager
async def relaying(
    site: ThrowawaySite, *emails: dict[str, Any], hooks: tuple[dict[str, Any], ...] = ()
) -> AsyncIterator[HubService]:
    write_relay_with_email(site, list(hooks), list(emails))
    async with hub_with(site) as service:
        assert service.relay is not None
        yield service


def delivered(attempts: list[dict[str, Any]]) -> bool:
    return bool(attempts) and attempts[-1]["result"] == "delivered"


async def test_a_panic_reaches_the_email_destination_over_starttls_with_auth(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    smtp: SmtpServer,
    authority: Authority,
) -> None:
    async with relaying(site, mailbox(smtp, authority)) as hub:
        device = site.devices[0].device_id
        node = await start_node(device)
        panic = await press(node, hub)
        (mail,) = await smtp.until(lambda m: len(m) >= 1)
        room = hub.engine.presence.inventory.room_of(device)
        assert room is not None
        assert mail.tls and mail.user == USER
        assert mail.sender == "roomcast@lincoln.example.org"
        assert mail.recipients == ["sro@district.example.org", "principal@lincoln.example.org"]
        assert mail.subject.startswith(f"PANIC: {room.label} (room {room.id}) at ")
        assert "UTC" in mail.subject and "DRILL" not in mail.subject
        assert mail.message["X-Roomcast-Id"] == f"event:{panic}"
        assert mail.message["Message-ID"] == f"<event.{panic}@{hub.config.site}.roomcast.invalid>"
        text = mail.text
        assert "A panic button was pressed" in text
        assert "Lincoln Elementary, 100 Main St, Austin, TX, 78701, US" in text
        assert f"building {room.building}" in text and f"Device:   {device}" in text
        assert f"https://hub.lincoln.example.org/alerts#alert-{panic}" in text
        (attempt,) = await attempted(hub, delivered)
        assert attempt["status"] == 250 and attempt["key"] == f"event:{panic}"


async def test_a_drill_lockdown_reaches_only_the_mailbox_that_takes_drills(
    site: ThrowawaySite, mosquitto: MosquittoProcess, smtp: SmtpServer, authority: Authority
) -> None:
    office = mailbox(smtp, authority, name="office", to=["office@lincoln.example.org"])
    sro = mailbox(smtp, authority, to=["sro@district.example.org"])
    async with relaying(site, sro, office | {"drills": True}) as hub:
        issue = hub.engine.directives.issue
        drill = issue(DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t")
        issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        real = issue(DirectiveRequest(action=Action.HOLD), user="t")
        got = await smtp.until(lambda m: len(m) >= 4)
        to_office = [m for m in got if m.recipients == ["office@lincoln.example.org"]]
        to_sro = [m for m in got if m.recipients == ["sro@district.example.org"]]
        assert [m.message["X-Roomcast-Id"] for m in to_sro] == [f"directive:{real.seq}"]
        assert len(to_office) == 3
        assert to_office[0].message["X-Roomcast-Id"] == f"directive:{drill.seq}"
        assert to_office[0].subject.startswith("DRILL: LOCKDOWN: all of Lincoln Elementary at ")
        assert "this is a drill" in to_office[0].text
        assert to_office[1].subject.startswith("DRILL: ALL CLEAR")
        assert not to_sro[0].subject.startswith("DRILL") and "DRILL" not in to_sro[0].text


async def test_a_mail_server_that_is_down_then_up_gets_the_alert(
    site: ThrowawaySite, mosquitto: MosquittoProcess, authority: Authority
) -> None:
    with serving(SmtpServer(authority), start=False) as down:
        async with relaying(site, mailbox(down, authority)) as hub:
            seq = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t").seq
            refused = await attempted(hub, lambda a: len(a) >= 2)
            assert {a["result"] for a in refused} == {"connection refused"}
            assert all(a["status"] is None and a["retry_in_s"] > 0 for a in refused)
            down.start()
            (mail,) = await down.until(lambda m: len(m) >= 1)
            assert mail.message["X-Roomcast-Id"] == f"directive:{seq}"
            await attempted(hub, delivered)


async def test_a_451_is_retried_and_a_554_is_recorded_as_permanent_and_still_retried(
    site: ThrowawaySite, mosquitto: MosquittoProcess, smtp: SmtpServer, authority: Authority
) -> None:
    answers = {1: "451 4.3.0 Try again later", 2: "554 5.7.1 Message refused"}
    smtp.reply = lambda n: answers.get(n, "250 OK")
    async with relaying(site, mailbox(smtp, authority)) as hub:
        seq = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t").seq
        attempts = await attempted(hub, delivered)
        assert [a["status"] for a in attempts] == [451, 554, 250]
        assert attempts[0]["result"] == "smtp 451 4.3.0 Try again later"
        assert attempts[1]["result"] == "smtp 554 5.7.1 Message refused (permanent)"
        assert all(a["retry_in_s"] > 0 for a in attempts[:2])
        (mail,) = smtp.mail
        assert mail.message["X-Roomcast-Id"] == f"directive:{seq}"
        assert mail.message["X-Roomcast-Attempt"] == "3"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_implicit_tls_on_its_own_port_delivers(
    site: ThrowawaySite, mosquitto: MosquittoProcess, authority: Authority
) -> None:
    with serving(SmtpServer(authority, implicit_tls=True)) as smtps:
        async with relaying(site, mailbox(smtps, authority)) as hub:
            hub.engine.directives.issue(DirectiveRequest(action=Action.SECURE), user="t")
            (mail,) = await smtps.until(lambda m: len(m) >= 1)
            assert mail.tls and mail.user == USER
            await attempted(hub, delivered)


async def test_a_certificate_from_another_ca_is_refused_and_recorded(
    site: ThrowawaySite, mosquitto: MosquittoProcess, tmp_path: Path, authority: Authority
) -> None:
    stranger = make_authority(tmp_path / "stranger", "stranger")
    with serving(SmtpServer(stranger)) as impostor:
        async with relaying(site, mailbox(impostor, authority)) as hub:
            hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
            attempts = await attempted(hub, lambda a: len(a) >= 2)
            assert all(a["result"].startswith("tls: certificate refused") for a in attempts)
            assert all(a["status"] is None for a in attempts)
            assert not impostor.mail and impostor.tried == 0  # no password, no alert sent
            assert hub.connected.is_set()


async def test_a_panic_during_a_drill_reaches_a_webhook_and_a_mailbox_that_take_no_drills(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    smtp: SmtpServer,
    authority: Authority,
) -> None:
    """Two kinds of destination side by side: neither hears the drill's directive, both
    hear the press, and the email says it came during a drill."""
    with running(Receiver(authority)) as receiver:
        async with relaying(
            site, mailbox(smtp, authority), hooks=(hook(receiver, authority),)
        ) as hub:
            node = await start_node(site.devices[0].device_id)
            hub.engine.directives.issue(
                DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t"
            )
            panic = await press(node, hub)
            (mail,) = await smtp.until(lambda m: len(m) >= 1)
            (posted,) = await receiver.until(lambda r: len(r) >= 1)
            assert mail.message["X-Roomcast-Id"] == posted.key == f"event:{panic}"
            assert mail.subject.startswith("PANIC DURING A DRILL: ")
            assert "treat it as REAL" in mail.text
            await attempted(hub, delivered)
            await attempted(hub, delivered, name="dispatch")
