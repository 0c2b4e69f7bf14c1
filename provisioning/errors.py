"""The exceptions of the provisioning tools.

IT staff read these messages at a terminal, often under time pressure, so each one names
the file (and line or key where there is one) and says what to do next. Library and OS
errors are translated into this tree at the boundary; nothing else escapes to the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ProvisioningError(Exception):
    """Base of every error the provisioning tools raise on purpose."""


class SiteError(ProvisioningError):
    """The site directory is missing, incomplete, or would be overwritten."""


class SiteExistsError(SiteError):
    """``init`` found an existing site and was not told to replace it."""

    def __init__(self, site_dir: Path) -> None:
        super().__init__(
            f"{site_dir} already holds a Roomcast site (or other files); refusing to overwrite "
            "it. Replacing a site issues a new CA and cuts off every device: pass force=True "
            "(--force) only if that is what you want, or choose another directory."
        )
        self.site_dir = site_dir


class SiteNotFoundError(SiteError):
    """The site directory or its inventory file does not exist."""

    def __init__(self, site_dir: Path) -> None:
        super().__init__(
            f"{site_dir} is not a Roomcast site (no site.json there); check the path, "
            "or create a site with `roomcast provision init`."
        )
        self.site_dir = site_dir


class InventoryError(ProvisioningError):
    """A file of the site (inventory, users) is damaged or inconsistent."""


class RoomImportError(ProvisioningError):
    """A room CSV has errors; all of them are listed and nothing was changed."""

    def __init__(self, csv_path: Path, problems: Sequence[str]) -> None:
        listing = "\n".join(f"  {csv_path}:{p}" for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) in {csv_path}; nothing was imported. "
            f"Fix the CSV and import it again:\n{listing}"
        )
        self.csv_path = csv_path
        self.problems = tuple(problems)


class DeviceError(ProvisioningError):
    """A device id or room is unknown, or the device cannot be issued or revoked."""


class BundleError(ProvisioningError):
    """A device bundle is malformed, unsafe, or meant for another site."""


class UserError(ProvisioningError):
    """A console user operation cannot be done (unknown user, bad role, weak password)."""


class BrokerReloadError(ProvisioningError):
    """The broker could not be told to reload (no such process, unreadable pid file)."""


class InvalidIdError(ProvisioningError):
    """A site, building, room or device id that cannot be an MQTT topic level."""


class ProfileError(ProvisioningError):
    """A hardware profile is missing, unreadable, or not a valid hardware section."""
