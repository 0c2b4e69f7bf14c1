"""The district console's roles, shared by provisioning (writes the district's users file)
and the district service (enforces them). A school's own roles stay in the school
(protocol.accounts); a district user is never a school user."""

from __future__ import annotations

from enum import StrEnum


class DistrictRole(StrEnum):
    ADMIN = "district-admin"
    """Everything a safety officer may do, and the audit log (and groups, where kept)."""
    SAFETY_OFFICER = "safety-officer"
    """Reads every school, sends district directives, takes console control."""
    VIEWER = "viewer"
    """Reads the board and each school's drill-down; changes nothing."""


DISTRICT_USERS_FORMAT = 1
"""The ``format`` of a district's ``users.json``."""

SENDERS = frozenset({DistrictRole.ADMIN, DistrictRole.SAFETY_OFFICER})
"""The roles that can send a district directive to many schools at once: a second factor
is required of them unless the district explicitly, and loudly, says otherwise."""
SENDERS_WITHOUT_SECOND_FACTOR = "allow_directives_without_second_factor"
"""The ``district.json`` key that alone lets ``totp_required_for`` leave out a sender."""


def district_required_roles(
    value: object, *, senders_exempt: object = False
) -> frozenset[DistrictRole]:
    """The district roles that must log in with a second factor (``district.json``'s
    ``totp_required_for``; default: the senders). Raises ValueError with what is wrong:
    not a list, an unknown role, or a sender left out without ``senders_exempt`` true."""
    if not isinstance(value, list):
        raise ValueError(f"must be a list of district roles, not {type(value).__name__}")
    roles = set()
    for item in value:
        try:
            roles.add(DistrictRole(item))
        except ValueError:
            known = ", ".join(r.value for r in DistrictRole)
            raise ValueError(f"{item!r} is not a district role; choose from {known}") from None
    missing = sorted(SENDERS - roles)
    if missing and senders_exempt is not True:
        raise ValueError(
            f"must include {', '.join(missing)}: they send directives to many schools at once "
            f'(only `"{SENDERS_WITHOUT_SECOND_FACTOR}": true` lets a stolen password do it)'
        )
    return frozenset(roles)
