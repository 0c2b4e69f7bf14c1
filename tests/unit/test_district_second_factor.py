"""The district console's second factor on a real SQLite store, the real district app and
the users file IT writes: a safety officer without one is sent to enrolment and cannot
send; with one, a missing, wrong or reused code is refused and counted; a recovery code
works once; IT's ``provision district user totp`` (0600, ``--clear``) and a promotion end
sessions; district.json may extend it to viewers but not drop it for senders unasked.
TOTP codes come from pyotp on a controlled clock (no sleeps)."""

from __future__ import annotations

import json
import logging
import re
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest

from district.board import DistrictBoard
from district.console.app import ConsoleParts, create_console_app
from district.store import DistrictStore
from protocol.district_accounts import SENDERS, DistrictRole
from protocol.factors import current_code
from provisioning.district import add_school, init_district, open_district
from provisioning.district_config import NatsNode
from provisioning.district_users import add_user, set_password, set_role, users_file
from roomcast.cli import main
from roomcast.district_config import service_config
from tests.district.console_kit import PASSWORD, TotpClock, totp_secret

Client = httpx.AsyncClient
NODE = NatsNode(name="n1", host="127.0.0.1", client_port=1, cluster_port=2, mqtt_port=3)
SEND = "/requests/new"
REQUEST = {"schools": ["lincoln"], "action": "secure", "mode": "drill", "scope": "school"}


@pytest.fixture
def district_dir(tmp_path: Path) -> Path:
    layout = init_district(tmp_path / "district", "metro", [NODE])
    add_school(layout.root, "lincoln")
    add_user(layout.root, "ann-admin", DistrictRole.ADMIN.value, PASSWORD)
    add_user(layout.root, "sam-safety", DistrictRole.SAFETY_OFFICER.value, PASSWORD)
    add_user(layout.root, "val-viewer", DistrictRole.VIEWER.value, PASSWORD)
    return layout.root


@pytest.fixture
def clock() -> TotpClock:
    return TotpClock()


@pytest.fixture
async def console(
    tmp_path: Path, district_dir: Path, clock: TotpClock
) -> AsyncIterator[tuple[httpx.ASGITransport, ConsoleParts]]:
    store = DistrictStore(tmp_path / "state" / "district.db")
    board = DistrictBoard(store=store, schools=("lincoln",), clock=time.time)
    app, parts = create_console_app(
        district="metro", board=board, record=store, users_file=users_file(district_dir),
        state_dir=tmp_path / "state", sender=None, factor_clock=clock,
    )  # fmt: skip
    yield httpx.ASGITransport(app=app), parts
    parts.close()
    store.close()


def login(user: str, otp: str | None = None, kind: str = "console") -> dict[str, str]:
    body = {"user": user, "password": PASSWORD, "kind": kind}
    return body | ({} if otp is None else {"otp": otp})


def actions(parts: ConsoleParts, user: str) -> list[str]:
    return [e["action"] for e in reversed(parts.store.audit_search()) if e["user"] == user]


async def test_an_officer_without_a_second_factor_is_sent_to_enrolment_and_cannot_send(
    console: tuple[httpx.ASGITransport, ConsoleParts], clock: TotpClock
) -> None:
    transport, parts = console
    async with Client(transport=transport, base_url="http://district.test") as sam:
        cli = await sam.post("/api/login", json=login("sam-safety", kind="cli"))
        assert cli.status_code == 403 and "district user totp sam-safety" in cli.json()["error"]
        first = await sam.post("/api/login", json=login("sam-safety"))
        assert first.status_code == 200 and first.json()["enrol"] is True
        csrf = first.json()["csrf"]
        for path in ("/board", SEND, "/requests"):  # the enrolment session opens nothing else
            page = await sam.get(path)
            assert (page.status_code, page.headers.get("location")) == (303, "/login"), path
        headers = {"X-CSRF-Token": csrf}
        sent = await sam.post("/api/requests", json=REQUEST, headers=headers)
        taken = await sam.post("/api/control/take", json={}, headers=headers)
        assert (sent.status_code, taken.status_code) == (401, 401)

        page = await sam.get("/enrol")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "can send directives to many schools at once" in page.text
        assert 'Roomcast <span class="site">district metro</span>' in page.text
        assert 'src="data:image/svg+xml' in page.text
        secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page.text)
        assert secret is not None
        secret_text = secret.group(1).replace(" ", "")
        assert (await sam.get("/enrol")).text == page.text  # the same secret on a reload

        no_csrf = await sam.post("/api/enrol", json={"code": "000000"})
        assert no_csrf.status_code == 401
        wrong = f"{(int(current_code(secret_text, clock())) + 1) % 10**6:06d}"
        refused = await sam.post("/api/enrol", json={"code": wrong}, headers=headers)
        assert refused.status_code == 401 and "wrong code" in refused.json()["error"]
        right = pyotp.TOTP(secret_text).at(clock())
        enrolled = await sam.post("/api/enrol", json={"code": right}, headers=headers)
        assert enrolled.status_code == 200, enrolled.text
        assert len(enrolled.json()["recovery_codes"]) == 10
        assert (await sam.get(SEND)).status_code == 200  # now a console session
    async with Client(transport=transport, base_url="http://district.test") as again:
        reused = await again.post("/api/login", json=login("sam-safety", right))
        assert reused.status_code == 401 and "code already used" in reused.json()["error"]
        fresh = await again.post(
            "/api/login", json=login("sam-safety", clock.next_code(secret_text))
        )
        assert fresh.status_code == 200 and "enrol" not in fresh.json()
    assert actions(parts, "sam-safety") == [
        "login refused (second factor not set up)",
        "login (second factor enrolment)",
        "second factor failed",
        "second factor enrolled (console)",
        "login (console)",
        "second factor failed",
        "login (console)",
    ]


async def test_with_a_second_factor_a_missing_wrong_or_reused_code_is_refused_and_limited(
    console: tuple[httpx.ASGITransport, ConsoleParts], district_dir: Path, clock: TotpClock
) -> None:
    transport, parts = console
    totp = ["provision", "district", "user", "totp", "sam-safety", "--qr-png"]
    assert main([*totp, str(district_dir / "q.png"), "--district-dir", str(district_dir)]) == 0
    secret = totp_secret(district_dir, "sam-safety")
    assert secret is not None
    async with Client(transport=transport, base_url="http://district.test") as sam:
        asked = await sam.post("/api/login", json=login("sam-safety"))
        assert asked.status_code == 401 and asked.json()["second_factor"] == "totp"
        code = clock.next_code(secret)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        refused = await sam.post("/api/login", json=login("sam-safety", wrong))
        assert refused.status_code == 401 and refused.json()["error"] == "wrong code"
        good = await sam.post("/api/login", json=login("sam-safety", code, kind="cli"))
        assert good.status_code == 200 and "token" in good.json()
        replayed = await sam.post("/api/login", json=login("sam-safety", code))
        assert replayed.status_code == 401
        assert replayed.json()["error"] == "code already used (wait for the next one)"
        # Wrong codes count against the password's own limit: 5 from an address, then 429.
        statuses = [
            (await sam.post("/api/login", json=login("sam-safety", wrong))).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        later = await sam.post("/api/login", json=login("sam-safety", clock.next_code(secret)))
        assert later.status_code == 429  # even the right code, from there, for now
    failed = [e for e in parts.store.audit_search() if e["action"] == "second factor failed"]
    assert {e["detail"]["why"] for e in failed} == {"wrong code", "code already used"}
    assert all(code not in json.dumps(e) for e in parts.store.audit_search())  # never logged


async def test_a_recovery_code_logs_in_once(
    console: tuple[httpx.ASGITransport, ConsoleParts],
    district_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    transport, parts = console
    argv = [
        "provision",
        "district",
        "user",
        "totp",
        "ann-admin",
        "--district-dir",
        str(district_dir),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "otpauth://totp/Roomcast%20district%20metro:ann-admin" in printed
    recovery = re.findall(r"^  ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$", printed, re.M)
    assert len(recovery) == 10
    async with Client(transport=transport, base_url="http://district.test") as ann:
        once = await ann.post("/api/login", json=login("ann-admin", recovery[0].upper()))
        assert once.status_code == 200, once.text
        twice = await ann.post("/api/login", json=login("ann-admin", recovery[0]))
        assert twice.status_code == 401 and twice.json()["error"] == "recovery code already used"
    used = [e for e in parts.store.audit_search() if e["action"] == "recovery code used"]
    assert [e["detail"]["recovery_codes_left"] for e in used] == [9]


async def test_it_resets_the_factor_or_promotes_a_viewer_and_open_sessions_end(
    console: tuple[httpx.ASGITransport, ConsoleParts], district_dir: Path, clock: TotpClock
) -> None:
    transport, parts = console
    png = district_dir / "ann.png"
    totp = ["provision", "district", "user", "totp", "ann-admin", "--qr-png", str(png)]
    assert main([*totp, "--district-dir", str(district_dir)]) == 0
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert stat.S_IMODE(users_file(district_dir).stat().st_mode) == 0o600
    secret = totp_secret(district_dir, "ann-admin")
    assert secret is not None
    async with Client(transport=transport, base_url="http://district.test") as ann:
        ok = await ann.post("/api/login", json=login("ann-admin", clock.next_code(secret)))
        assert ok.status_code == 200
        set_password(district_dir, "ann-admin", "a brand new long password")
        assert totp_secret(district_dir, "ann-admin") == secret  # a password keeps the factor
    async with Client(transport=transport, base_url="http://district.test") as ann:
        body = {"user": "ann-admin", "password": "a brand new long password", "kind": "console"}
        ok = await ann.post("/api/login", json=body | {"otp": clock.next_code(secret)})
        assert ok.status_code == 200 and (await ann.get("/board")).status_code == 200
        argv = ["provision", "district", "user", "totp", "ann-admin", "--clear"]
        assert main([*argv, "--district-dir", str(district_dir)]) == 0
        assert (await ann.get("/board")).status_code == 303  # the old factor's session ended
        again = await ann.post("/api/login", json=body)
        assert again.status_code == 200 and again.json()["enrol"] is True
    async with Client(transport=transport, base_url="http://district.test") as val:
        viewer = await val.post("/api/login", json=login("val-viewer"))
        assert viewer.status_code == 200 and "enrol" not in viewer.json()  # viewers: password
        set_role(district_dir, "val-viewer", DistrictRole.SAFETY_OFFICER.value)
        assert (await val.get("/api/schools")).status_code == 401
    assert "session ended (second factor now required)" in actions(parts, "val-viewer")


def test_district_json_may_extend_it_to_viewers_but_not_drop_it_for_senders_unasked(
    district_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert service_config(district_dir).totp_required_for == SENDERS
    record = district_dir / "district.json"

    def setting(**values: object) -> None:
        data = json.loads(record.read_text(encoding="utf-8"))
        record.write_text(json.dumps(data | values), encoding="utf-8")

    everyone = ["district-admin", "safety-officer", "viewer"]
    setting(totp_required_for=everyone)
    add_school(district_dir, "adams")  # provisioning rewrites district.json: the setting stays
    assert open_district(district_dir)[1].console == {"totp_required_for": everyone}
    assert service_config(district_dir).totp_required_for == frozenset(DistrictRole)
    setting(totp_required_for=["district-admin"])
    with pytest.raises(SystemExit, match=re.escape(
        "district.json: totp_required_for: must include safety-officer"
    )):  # fmt: skip
        service_config(district_dir)
    setting(totp_required_for=["admin"])
    with pytest.raises(SystemExit, match="'admin' is not a district role"):
        service_config(district_dir)
    setting(totp_required_for=["district-admin"], allow_directives_without_second_factor=True)
    with caplog.at_level(logging.WARNING):
        roles = service_config(district_dir).totp_required_for
    assert roles == {DistrictRole.ADMIN}
    assert "a safety-officer logs in with a password alone" in caplog.text


async def test_a_district_that_asks_it_of_viewers_sends_a_viewer_to_enrolment(
    tmp_path: Path, district_dir: Path, clock: TotpClock
) -> None:
    store = DistrictStore(tmp_path / "v" / "district.db")
    board = DistrictBoard(store=store, schools=("lincoln",), clock=time.time)
    app, parts = create_console_app(
        district="metro", board=board, record=store, users_file=users_file(district_dir),
        state_dir=tmp_path / "v", sender=None, factor_clock=clock,
        totp_required_for=frozenset(DistrictRole),
    )  # fmt: skip
    try:
        transport = httpx.ASGITransport(app=app)
        async with Client(transport=transport, base_url="http://district.test") as val:
            viewer = await val.post("/api/login", json=login("val-viewer"))
            assert viewer.status_code == 200 and viewer.json()["enrol"] is True
            assert (await val.get("/board")).status_code == 303
            assert "sees every school of the district" in (await val.get("/enrol")).text
    finally:
        parts.close()
        store.close()
