"""hub.json's ``district`` block: a school in a district, and how it speaks to it.

```json
"district": {"id": "metro", "public_key": "broker/district/district.pub", "summary_s": 30}
```

Without the block the hub publishes nothing for a district and reads no request. The
public key is the district's request-signing key, installed with the bridge
(``roomcast provision district add-school`` writes it as ``district.pub``).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.signing import HubPublicKey, NotAPublicKey, NotEd25519
from transport.settings import Settings

SUMMARY_S = 30.0
"""The summary's heartbeat: the district marks a school unreachable when none came for
two of these, inside the issue's 30 s with the bridge's own will."""


@dataclass(frozen=True, kw_only=True)
class DistrictSettings:
    district: str
    public_key: HubPublicKey
    """The district's Ed25519 request-signing public key."""
    summary_s: float = SUMMARY_S


def load_district(settings: Settings) -> DistrictSettings | None:
    if settings.get("district", dict, None) is None:
        return None
    path = settings.existing_file("district.public_key")
    try:
        key = HubPublicKey.from_pem(path.read_bytes())
    except (NotAPublicKey, NotEd25519) as error:
        raise settings.fail("district.public_key", f"{path}: {error}") from None
    summary_s = settings.get("district.summary_s", float, SUMMARY_S)
    if not 0.5 <= summary_s <= 3600:
        raise settings.fail("district.summary_s", "must be between 0.5 and 3600 seconds")
    return DistrictSettings(
        district=settings.level("district.id", "district"), public_key=key, summary_s=summary_s
    )
