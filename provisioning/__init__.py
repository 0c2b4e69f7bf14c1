"""IT tooling: site CA and keys, broker config and ACL, room inventory, device bundles.

The functions most callers need are re-exported here; the modules hold the rest.
``docs/provisioning.md`` is the runbook.
"""

from protocol.accounts import Role
from provisioning.access import reload_broker, render_acl
from provisioning.create import InitResult, broker_config, init
from provisioning.devices import RevokeResult, issue_all, issue_device, revoke
from provisioning.errors import ProvisioningError
from provisioning.health import CheckReport, Finding, RotateResult, check, rotate
from provisioning.install import InstalledDevice, install, load_installed
from provisioning.rooms import RoomChanges, import_rooms
from provisioning.sdcard import SdcardResult, sdcard
from provisioning.site import BrokerFiles, HubFiles, SiteLayout
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from provisioning.users import add_user, remove_user, set_password, set_role, verify_password

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
    "install",
    "issue_all",
    "issue_device",
    "load_installed",
    "reload_broker",
    "remove_user",
    "render_acl",
    "revoke",
    "rotate",
    "sdcard",
    "set_password",
    "set_role",
    "verify_password",
]
