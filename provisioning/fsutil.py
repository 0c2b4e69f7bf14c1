"""File writing with the right permissions from the first byte.

A private key must never exist on disk, even for a moment, with a mode wider than 0600:
a chmod after the write leaves a window, and an interrupted write leaves a half file. Every
write here goes to a temporary file created with its final mode (``os.open``), is flushed
to disk, and is renamed over the target, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

PRIVATE = 0o600
PUBLIC = 0o644
PRIVATE_DIR = 0o700


Owner = tuple[int, int] | None
"""A (uid, gid) to hand a file to, e.g. the broker's user; None keeps the caller's."""


def write_file(path: Path, data: bytes, mode: int, owner: Owner = None) -> None:
    """Atomically replace ``path`` with ``data``; the file is created with ``mode``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        if owner is not None:
            os.fchown(fd, *owner)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_private(path: Path, data: bytes, owner: Owner = None) -> None:
    """Write a secret (key, password hashes, bundle): owner read/write only."""
    write_file(path, data, PRIVATE, owner)


def write_public(path: Path, data: bytes, owner: Owner = None) -> None:
    """Write a non-secret file (certificate, config)."""
    write_file(path, data, PUBLIC, owner)


def write_json(path: Path, value: Any, *, private: bool = False, owner: Owner = None) -> None:
    """Write ``value`` as indented, key-sorted JSON so diffs between versions stay readable."""
    data = (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    write_file(path, data, PRIVATE if private else PUBLIC, owner)


def make_private_dir(path: Path, owner: Owner = None, mode: int = PRIVATE_DIR) -> Path:
    """Create ``path`` (and parents) with ``mode`` (0700) if missing; return it."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    if owner is not None:
        os.chown(path, *owner)
    return path
