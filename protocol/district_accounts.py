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
