"""hub.json's ``district`` block: a school in a district, and how it speaks to it.

```json
"district": {"id": "metro", "public_key": "district.pub", "summary_s": 10}
```

Without the block the hub publishes nothing for a district and reads no request. The
public key is the district's request-signing key, installed with the bridge
(``roomcast provision district add-school`` writes it as ``district.pub``).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.signing import HubPublicKey, NotAPublicKey, NotEd25519
from transport.settings import Settings

SUMMARY_S = 10.0
"""The summary's heartbeat. The district marks a school unreachable when nothing came
for two of these: 20 s, inside the 30 s it is held to even when the bridge's will is
never sent (a bridge cut by a NATS reload). One summary is about 1 KB."""


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
