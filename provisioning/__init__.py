"""IT tooling: site CA and keys, broker config and ACL, room inventory, device bundles.

The functions most callers need are re-exported here, loaded when first used: a command
that needs one module (``python -m provisioning.quarantine``, run the moment a device
floods) must not pay for importing them all. The modules hold the rest, and ``install``
and ``sdcard``, which share their module's name (an imported submodule would shadow them).
``docs/provisioning.md`` is the runbook.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protocol.accounts import Role
    from provisioning.access import reload_broker, render_acl
    from provisioning.create import InitResult, broker_config, init
    from provisioning.devices import RevokeResult, issue_all, issue_device, revoke
    from provisioning.errors import ProvisioningError
    from provisioning.health import CheckReport, Finding, RotateResult, check, rotate
    from provisioning.install import InstalledDevice, load_installed
    from provisioning.rooms import RoomChanges, import_rooms
    from provisioning.sdcard import SdcardResult
    from provisioning.site import BrokerFiles, HubFiles, SiteLayout
    from provisioning.throwaway import ThrowawaySite, create_throwaway_site
    from provisioning.users import add_user, remove_user, set_password, set_role, verify_password

_WHERE = {
    "BrokerFiles": "provisioning.site",
    "CheckReport": "provisioning.health",
    "Finding": "provisioning.health",
    "HubFiles": "provisioning.site",
    "InitResult": "provisioning.create",
    "InstalledDevice": "provisioning.install",
    "ProvisioningError": "provisioning.errors",
    "RevokeResult": "provisioning.devices",
    "Role": "protocol.accounts",
    "RoomChanges": "provisioning.rooms",
    "RotateResult": "provisioning.health",
    "SdcardResult": "provisioning.sdcard",
    "SiteLayout": "provisioning.site",
    "ThrowawaySite": "provisioning.throwaway",
    "add_user": "provisioning.users",
    "broker_config": "provisioning.create",
    "check": "provisioning.health",
    "create_throwaway_site": "provisioning.throwaway",
    "import_rooms": "provisioning.rooms",
    "init": "provisioning.create",
    "issue_all": "provisioning.devices",
    "issue_device": "provisioning.devices",
    "load_installed": "provisioning.install",
    "reload_broker": "provisioning.access",
    "remove_user": "provisioning.users",
    "render_acl": "provisioning.access",
    "revoke": "provisioning.devices",
    "rotate": "provisioning.health",
    "set_password": "provisioning.users",
    "set_role": "provisioning.users",
    "verify_password": "provisioning.users",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'provisioning' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "BrokerFiles",
    "CheckReport",
    "Finding",
    "HubFiles",
    "InitResult",
    "InstalledDevice",
    "ProvisioningError",
    "RevokeResult",
    "Role",
    "RoomChanges",
    "RotateResult",
    "SdcardResult",
    "SiteLayout",
    "ThrowawaySite",
    "add_user",
    "broker_config",
    "check",
    "create_throwaway_site",
    "import_rooms",
    "init",
    "issue_all",
    "issue_device",
    "load_installed",
    "reload_broker",
    "remove_user",
    "render_acl",
    "revoke",
    "rotate",
    "set_password",
    "set_role",
    "verify_password",
]
