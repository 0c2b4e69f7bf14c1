"""``roomcast district request | requests`` without a broker: the sender is a district
user proven by password (and second factor) with the right to send, audited in the
console's log, and refused while a console holds control unless told to override; a
group or school the district does not have is refused before anything is sent, and the
record reads back in plain words (drill or real first) and as JSON."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from district.board import DistrictBoard
from district.console_store import ConsoleStore
from district.store import DistrictStore
from protocol.codec import encode
from protocol.district import DistrictSummary, RequestOutcome, SummaryDirective
from protocol.srp import Action
from protocol.topics import DistrictChannel, ScopeKind, Topics
from provisioning.district import add_school, init_district, set_group
from provisioning.district_config import NatsNode
from provisioning.district_users import enrol_totp
from roomcast.cli import main
from tests.unit.factories import T0

NODE = NatsNode(name="n1", host="127.0.0.1", client_port=1, cluster_port=2, mqtt_port=3)
PASSWORD = "correct horse battery"


def add_user(district: Path, name: str, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A district user made as IT makes one."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["provision", "district", "user", "add", name, "--role", role,
                 "--district-dir", str(district), "--password-stdin"])  # fmt: skip
    assert code == 0


@pytest.fixture
def district(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    layout = init_district(tmp_path / "d", "metro", [NODE])
    for site in ("lincoln", "adams"):
        add_school(layout.root, site)
    set_group(layout.root, "near-elm", ["lincoln", "adams"])
    add_user(layout.root, "kim", "safety-officer", monkeypatch)
    KIM_CODES[layout.root] = list(enrol_totp(layout.root, "kim").recovery_codes)
    add_user(layout.root, "val", "viewer", monkeypatch)
    return layout.root


KIM_CODES: dict[Path, list[str]] = {}
"""Kim's recovery codes (IT set up her second factor; a safety officer needs one): each
send in these tests, which are not about the second factor, uses one up."""


def kim_code(district: Path) -> list[str]:
    return ["--code", KIM_CODES[district].pop()]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def send_as(
    district: Path, monkeypatch: pytest.MonkeyPatch, user: str, password: str, *extra: str
) -> None:
    """`district request` to a school the district does not have: refused after the
    sender is checked, before anything is sent (nothing listens on the node's port)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    if user == "kim" and "--code" not in extra:
        extra = (*extra, *kim_code(district))
    main(["district", "request", "--district-dir", str(district), "secure", "--school",
          "nowhere", "--real", "--user", user, "--password-stdin", "--yes", *extra])  # fmt: skip


def audit(district: Path) -> list[tuple[str, str]]:
    store = ConsoleStore(district / "state" / "console.db")
    try:
        return [(a["user"], a["action"]) for a in reversed(store.audit_log())]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("user", "password", "says", "audited"),
    [
        ("kim", "not the password", "district user 'kim': wrong password", "login failed"),
        ("nobody", PASSWORD, "district user 'nobody': wrong password, or no such user",
         "login failed"),
        ("val", PASSWORD, "district user 'val' is a viewer, who may not send",
         "district directive refused (role)"),
    ],
)  # fmt: skip
def test_only_a_district_user_who_may_send_and_knows_the_password_can_send(
    district: Path, monkeypatch: pytest.MonkeyPatch, user: str, password: str, says: str,
    audited: str,
) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as refused:
        send_as(district, monkeypatch, user, password)
    assert says in str(refused.value)
    assert audit(district) == [(user, audited)]
    assert not (district / "state" / "district.db").exists()  # nothing recorded, or sent


def test_while_a_console_holds_control_the_command_is_refused_unless_it_overrides(
    district: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ConsoleStore(district / "state" / "console.db")
    store.save_session("h1", user="ann", role="district-admin", kind="console", csrf="c",
                       expires_at=time.time() + 3600)  # fmt: skip
    store.set_control(session="h1", user="ann", since=time.time())
    store.close()
    with pytest.raises(SystemExit) as refused:
        send_as(district, monkeypatch, "kim", PASSWORD)
    assert "read-only: ann has control of the district console" in str(refused.value)
    assert "--override-control" in str(refused.value)
    send_as(district, monkeypatch, "kim", PASSWORD, "--override-control")  # gets as far
    assert "not schools of this district: nowhere" in capsys.readouterr().out


def test_a_user_with_a_second_factor_must_give_a_code(
    district: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.second_factor import FILE_NAME, FactorStore
    from protocol.factors import Enrolment, current_code, new_secret

    add_user(district, "lee", "safety-officer", monkeypatch)  # no second factor from IT
    secret = new_secret()
    factors = FactorStore(district / "state" / FILE_NAME)  # enrolled at the console
    factors.save("lee", "", Enrolment(secret=secret, recovery=frozenset()), at=time.time())
    factors.close()
    with pytest.raises(SystemExit) as refused:
        send_as(district, monkeypatch, "lee", PASSWORD)
    assert "'lee' has a second factor: give --code" in str(refused.value)
    assert "district console" in str(refused.value)
    with pytest.raises(SystemExit) as refused:
        send_as(district, monkeypatch, "lee", PASSWORD, "--code", "000000")
    assert "wrong code" in str(refused.value) or "already used" in str(refused.value)
    assert ("lee", "second factor failed") in audit(district)
    send_as(district, monkeypatch, "lee", PASSWORD, "--code", current_code(secret, time.time()))
    assert "not schools of this district: nowhere" in capsys.readouterr().out


def test_a_sender_whose_role_needs_a_second_factor_and_has_none_is_refused(
    district: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As at the console, where such a user reaches only the enrolment page."""
    add_user(district, "lee", "safety-officer", monkeypatch)
    with pytest.raises(SystemExit) as refused:
        send_as(district, monkeypatch, "lee", PASSWORD)
    assert "'lee' is a safety-officer, who needs a second factor and has none" in str(refused.value)
    assert "roomcast provision district user totp lee" in str(refused.value)
    assert audit(district)[-1] == ("lee", "second factor failed")
    assert not (district / "state" / "district.db").exists()  # nothing recorded, or sent


@pytest.mark.parametrize(
    ("named", "says"),
    [
        (["--group", "far"], "no group 'far' in this district (groups: near-elm)"),
        (["--school", "nowhere"], "not schools of this district: nowhere"),
        ([], "no school named: name schools (--school) or a group (--group)"),
    ],
)
def test_a_request_to_what_the_district_does_not_have_is_refused_before_sending(
    district: Path, capsys: pytest.CaptureFixture[str], named: list[str], says: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, _ = run(
        capsys, "district", "request", "--district-dir", str(district), "secure", *named,
        "--real", "--user", "kim", *kim_code(district), "--password-stdin", "--yes",
    )  # fmt: skip
    assert code == 1 and json.loads(out) == {"ok": False, "error": json.loads(out)["error"]}
    assert says in json.loads(out)["error"]
    assert not (district / "state" / "district.db").exists()  # nothing recorded, or sent


def test_the_record_reads_back_in_words_and_as_json(
    district: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = district / "state"
    store = DistrictStore(state / "district.db")
    scratch = DistrictStore(district / "scratch.db")
    try:
        store.add_request(
            {"id": "r-1", "sent_at": T0, "issued_by": "kim", "action": "secure",
             "scope": "site", "target": "", "drill": False, "details": {},
             "group": "near-elm"},
            ["lincoln", "adams"],
        )  # fmt: skip
        board = DistrictBoard(
            store=scratch, schools=["lincoln", "adams"], clock=lambda: T0, record=store
        )
        pending = SummaryDirective(
            seq=3, action=Action.SECURE, scope=ScopeKind.SITE, drill=False, issued_at=T0,
            confirmed=1, total=2, request="r-1", pending_rooms=("102",),
        )  # fmt: skip
        summary = DistrictSummary(
            site="lincoln", seq=9, epoch=1, time=T0, heartbeat_s=10.0, rooms=2, in_force=2,
            confirmed=1, directives=(pending,), alerts=0, offline=0,
            requests=(RequestOutcome(request_id="r-1", at=T0, issued=True, seq=3),),
        )  # fmt: skip
        board.on_message(Topics("lincoln").district(DistrictChannel.SUMMARY), encode(summary))
        assert scratch.request("r-1") is None  # outcomes go to the record, not the scratch
    finally:
        store.close()
        scratch.close()
    code, out, _ = run(capsys, "district", "requests", "--district-dir", str(district))
    assert code == 0
    assert out.splitlines() == [
        "r-1 2023-11-14T22:13:20+00:00 REAL SECURE by kim (group near-elm)",
        "  lincoln: issued as #3, 1/2 rooms confirmed",
        "  adams: no answer",
    ]
    code, out, _ = run(
        capsys, "district", "requests", "--district-dir", str(district), "--id", "r-1"
    )
    assert "  lincoln: issued as #3, 1/2 rooms confirmed; pending: 102" in out
    code, out, _ = run(
        capsys, "district", "requests", "--district-dir", str(district), "--id", "r-1", "--json"
    )
    found = json.loads(out)
    assert found["schools"]["lincoln"]["pending_rooms"] == ["102"]
    assert found["schools"]["adams"]["state"] == "no answer"


def test_the_record_shows_the_copies_sent_and_a_school_that_never_answered_loudly(
    district: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DistrictStore(district / "state" / "district.db")
    try:
        store.add_request(
            {"id": "r-2", "sent_at": T0, "issued_by": "kim", "action": "hold",
             "scope": "site", "target": "", "drill": True, "details": {}, "group": None},
            ["lincoln", "adams"],
        )  # fmt: skip
        for site, error in (("lincoln", None), ("adams", "not acknowledged within 10 s")):
            assert store.claim_attempt("r-2", site, attempts=1, at=T0 + 10)
            store.note_attempt("r-2", site, handed_over=True, acked=error is None, error=error)
        assert store.give_up("r-2", "adams", error="NO ANSWER from the school after 2 copies")
    finally:
        store.close()
    code, out, _ = run(capsys, "district", "requests", "--district-dir", str(district))
    assert code == 0
    assert out.splitlines() == [
        "r-2 2023-11-14T22:13:20+00:00 DRILL HOLD by kim",
        "  lincoln: no answer (copy 2 sent; last: acknowledged)",
        "  adams: NO ANSWER from the school after 2 copies",
    ]
    code, out, _ = run(
        capsys, "district", "requests", "--district-dir", str(district), "--id", "r-2", "--json"
    )
    adams = json.loads(out)["schools"]["adams"]
    assert (adams["attempts"], adams["acked"], adams["gave_up"]) == (2, False, True)


def test_two_request_runs_at_once_connect_as_two_clients() -> None:
    from roomcast.district_cli import cli_client_id

    ids = {cli_client_id("metro") for _ in range(20)}
    assert len(ids) == 20  # one shared id: each run's connect would drop the other's
    assert all(i.startswith("roomcast-district-metro-cli-") for i in ids)
