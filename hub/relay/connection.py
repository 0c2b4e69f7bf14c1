"""What every destination's connection needs: verified TLS, and failures in a person's words."""

from __future__ import annotations

import ssl

from hub.relay.config import DestinationSettings


def tls_context(destination: DestinationSettings) -> ssl.SSLContext:
    """Verified TLS: the destination's own CA file if it names one, else the system's."""
    cafile = str(destination.ca_file) if destination.ca_file is not None else None
    return ssl.create_default_context(cafile=cafile)


def describe_error(error: BaseException) -> str:
    """A person's words for a failed attempt: the innermost cause names the real problem."""
    if isinstance(error, TimeoutError):
        return "timeout"  # whatever was waiting underneath (a TLS read, a connect)
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"tls: certificate refused ({seen.verify_message})"
        if isinstance(seen, ssl.SSLError):
            return f"tls: {seen.reason or seen}"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
