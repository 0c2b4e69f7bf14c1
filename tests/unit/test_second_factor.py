"""The second factor's checks with a fixed clock: TOTP codes (valid, wrong, reused, skew),
recovery codes (once each), console enrolment, the code limiter, and the settings."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from hub.auth import Account
from hub.second_factor import CodeLimiter, FactorStore, Outcome, PendingEnrolments, SecondFactor
from protocol.accounts import Role, hash_password
from protocol.factors import (
    Enrolment,
    new_recovery_codes,
    new_secret,
    otpauth_uri,
    recovery_digests,
    required_roles,
)

T = 1_800_000_000.0  # a fixed moment: the start of a 30-second step
SECRET = new_secret()
CODES = new_recovery_codes()
ENROLMENT = Enrolment(secret=SECRET, recovery=frozenset(recovery_digests("ana", CODES)))
ADMIN = Account(role=Role.ADMIN, scrypt=hash_password("not used by these tests"))


def code(at: float) -> str:
    """What the user's phone shows at ``at``: pyotp, independently of our module."""
    return pyotp.TOTP(SECRET).at(at)


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T)


@pytest.fixture
def store(tmp_path: Path) -> FactorStore:
    return FactorStore(tmp_path / "second-factor.db")


@pytest.fixture
def factors(store: FactorStore, clock: Clock) -> SecondFactor:
    return SecondFactor(store, frozenset({Role.ADMIN}), clock=clock)


def test_the_current_code_is_accepted_once(factors: SecondFactor) -> None:
    assert factors.check("ana", ENROLMENT, code(T)).outcome is Outcome.TOTP
    assert factors.check("ana", ENROLMENT, code(T)).outcome is Outcome.REPLAYED


def test_a_code_replayed_after_a_restart_is_still_refused(
    store: FactorStore, clock: Clock, tmp_path: Path
) -> None:
    SecondFactor(store, frozenset(), clock=clock).check("ana", ENROLMENT, code(T))
    store.close()
    again = SecondFactor(FactorStore(tmp_path / "second-factor.db"), frozenset(), clock=clock)
    assert again.check("ana", ENROLMENT, code(T)).outcome is Outcome.REPLAYED


def test_wrong_and_malformed_codes_are_wrong(factors: SecondFactor) -> None:
    right = code(T)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for typed in (wrong, "", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert factors.check("ana", ENROLMENT, typed).outcome is Outcome.WRONG, typed
    assert factors.check("ana", ENROLMENT, f" {right[:3]} {right[3:]} ").ok  # as apps show it


def test_one_step_of_skew_either_way_is_accepted_two_are_not(
    factors: SecondFactor, clock: Clock
) -> None:
    clock.at = T + 15
    assert factors.check("ana", ENROLMENT, code(T - 30)).outcome is Outcome.TOTP  # phone slow
    assert factors.check("bea", ENROLMENT, code(T + 30)).outcome is Outcome.TOTP  # phone fast
    assert factors.check("cy", ENROLMENT, code(T - 60)).outcome is Outcome.WRONG
    assert factors.check("cy", ENROLMENT, code(T + 60)).outcome is Outcome.WRONG


def test_after_a_code_only_newer_steps_count(factors: SecondFactor, clock: Clock) -> None:
    """The replay guard keeps the newest step: an older, still-in-window code is refused."""
    assert factors.check("ana", ENROLMENT, code(T + 30)).ok  # the next step, from a fast phone
    assert factors.check("ana", ENROLMENT, code(T)).outcome is Outcome.REPLAYED
    clock.at = T + 60
    assert factors.check("ana", ENROLMENT, code(T + 60)).ok


def test_the_replay_guard_is_per_user(factors: SecondFactor) -> None:
    assert factors.check("ana", ENROLMENT, code(T)).ok
    assert factors.check("ben", ENROLMENT, code(T)).ok


def test_each_recovery_code_works_once(factors: SecondFactor) -> None:
    first = factors.check("ana", ENROLMENT, CODES[0])
    assert first.outcome is Outcome.RECOVERY and first.recovery_left == len(CODES) - 1
    assert factors.check("ana", ENROLMENT, CODES[0]).outcome is Outcome.USED
    typed = CODES[1].upper().replace("-", " ")  # read off paper, typed loosely
    assert factors.check("ana", ENROLMENT, typed).recovery_left == len(CODES) - 2


def test_a_recovery_code_is_bound_to_its_user(factors: SecondFactor) -> None:
    assert factors.check("ben", ENROLMENT, CODES[0]).outcome is Outcome.WRONG
    assert factors.check("ana", ENROLMENT, "aaaa-bbbb-cccc-dddd").outcome is Outcome.WRONG


def test_recovery_codes_carry_80_bits_and_are_stored_only_as_digests() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    assert all(len(c.replace("-", "")) == 16 for c in codes)
    digests = recovery_digests("ana", codes)
    assert all(len(d) == 64 and d not in codes for d in digests)


def test_console_enrolment_needs_a_code_from_the_new_secret(
    factors: SecondFactor, store: FactorStore
) -> None:
    secret = new_secret()
    assert factors.confirm("ana", ADMIN, secret, code(T)) is None  # not the app's secret
    codes = factors.confirm("ana", ADMIN, secret, pyotp.TOTP(secret).at(T))
    assert codes is not None and len(codes) == 10
    enrolment = factors.enrolment("ana", ADMIN)
    assert enrolment is not None and enrolment.secret == secret
    assert factors.check("ana", enrolment, pyotp.TOTP(secret).at(T)).outcome is Outcome.REPLAYED
    assert factors.check("ana", enrolment, codes[0]).outcome is Outcome.RECOVERY


def test_a_new_factor_epoch_from_it_voids_a_console_enrolment(factors: SecondFactor) -> None:
    secret = new_secret()
    assert factors.confirm("ana", ADMIN, secret, pyotp.TOTP(secret).at(T)) is not None
    reset = Account(role=Role.ADMIN, scrypt=ADMIN.scrypt, factor_epoch="3f9a")
    assert factors.enrolment("ana", reset) is None
    assert reset.credential != ADMIN.credential  # and the sessions made before it end


def test_who_needs_a_second_factor(factors: SecondFactor) -> None:
    office = Account(role=Role.OFFICE, scrypt=ADMIN.scrypt)
    assert factors.required(ADMIN, None)
    assert not factors.required(office, None)
    assert factors.required(office, ENROLMENT)  # enrolled by choice: always asked


def test_the_code_limiter_counts_wrong_codes_per_user() -> None:
    now = [0.0]
    limiter = CodeLimiter(attempts=3, window_s=900, clock=lambda: now[0])
    for _ in range(3):
        limiter.failed("ana")
    assert limiter.blocked("ana") and not limiter.blocked("ben")
    now[0] = 901.0
    assert not limiter.blocked("ana")


def test_the_enrolment_page_shows_the_same_secret_until_it_expires() -> None:
    now = [0.0]
    pending = PendingEnrolments(ttl_s=600, clock=lambda: now[0])
    first = pending.secret("session-a")
    assert pending.secret("session-a") == first != pending.secret("session-b")
    now[0] = 601.0
    assert pending.secret("session-a") != first


def test_the_factor_file_is_private(store: FactorStore, tmp_path: Path) -> None:
    assert (tmp_path / "second-factor.db").stat().st_mode & 0o777 == 0o600


def test_the_otpauth_uri_names_the_site_and_user() -> None:
    uri = otpauth_uri(SECRET, "ana", "lincoln-high")
    assert uri.startswith("otpauth://totp/Roomcast%20lincoln-high:ana?secret=")
    assert pyotp.parse_uri(uri).now() == pyotp.TOTP(SECRET).now()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("admin", "must be a list of roles, not str"),
        (["admin", "boss"], "'boss' is not a role"),
        (["office"], 'must include "admin"'),
    ],
)
def test_totp_required_for_says_what_is_wrong(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        required_roles(value)
    assert required_roles(["admin", "office"]) == {Role.ADMIN, Role.OFFICE}
