"""The strict JSON codec: every payload is ``{"v": 1, "type": ..., <fields>}``.

Decoding is strict on purpose. An unknown type, a missing or unknown field, a wrong
JSON type or an oversized payload is a :class:`DecodeError` with a reason a person can
read; nothing is half-applied, because a message object only exists once all of it has
been checked (see ``protocol.messages``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from enum import Enum
from typing import Any, TypeVar

from protocol import PROTOCOL_VERSION
from protocol.district import WIRE_TYPES, WireMessage
from protocol.messages import MessageError
from protocol.topics import InvalidName

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""Integers are what SQLite (and every other peer) can store."""

MAX_PAYLOAD = 4096
"""Bytes. The largest real message (a Shelter directive with a note) is under 1 KiB."""

MAX_DEPTH = 4
"""Nesting of JSON arrays and objects. Real messages nest two deep (the envelope and a
status's ``faults``); Python's parser recurses once per level and ends the process's
patience with a ``RecursionError`` near a thousand, which a few KB of ``[[[[`` reach."""

M = TypeVar("M", bound=WireMessage)


class DecodeError(ValueError):
    """A payload that is not a valid Roomcast message. ``reason`` is short and loggable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(message: WireMessage) -> bytes:
    """The wire form of a message: compact UTF-8 JSON, version and type first."""
    return json.dumps(_envelope(message), separators=(",", ":"), ensure_ascii=False).encode()


def canonical(message: WireMessage, *, without: str) -> bytes:
    """Sorted-key encoding without one field: the exact bytes a signature covers."""
    body = _envelope(message)
    del body[without]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def _envelope(message: WireMessage) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": message.TYPE} | _fields(message)


def _fields(value: object) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, (hint, _) in _field_types(type(value)).items():
        field = getattr(value, name)
        if isinstance(field, Enum):
            field = field.value
        elif dataclasses.is_dataclass(field) and not isinstance(field, type):
            field = _fields(field)  # a nested part (an event's roll)
        elif isinstance(field, tuple):  # a list of parts or names (a district summary's)
            field = [_part(item) for item in field]
        elif hint is float:
            field = float(field)  # 5 and 5.0 must sign and verify as the same bytes
        body[name] = field
    return body


def _part(item: object) -> object:
    if isinstance(item, Enum):
        return item.value
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return _fields(item)
    return item


def decode(payload: bytes, expected: type[M]) -> M:
    """Decode a payload that must be of type ``expected`` (the topic says which)."""
    body = _parse(payload)
    if body.get("type") != expected.TYPE:
        raise DecodeError(f"expected type {expected.TYPE!r}, got {body.get('type')!r}")
    return _build(expected, body)


def decode_any(payload: bytes) -> WireMessage:
    """Decode a payload of any known type (tools and tests; services use :func:`decode`)."""
    body = _parse(payload)
    kind = body.get("type")
    cls = WIRE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(f"unknown message type {body.get('type')!r}")
    return _build(cls, body)


def _parse(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise DecodeError(f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD}")
    check_depth(payload)
    try:
        body = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise DecodeError("payload is not UTF-8") from None
    except json.JSONDecodeError as error:
        raise DecodeError(f"payload is not JSON ({error.msg} at {error.pos})") from None
    except (RecursionError, MemoryError, OverflowError) as error:  # belt and braces
        raise DecodeError(f"payload cannot be parsed ({type(error).__name__})") from None
    if not isinstance(body, dict):
        raise DecodeError(f"payload is a JSON {type(body).__name__}, not an object")
    version = body.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise DecodeError(f"unsupported protocol version {version!r} (this side speaks v1)")
    return body


_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")


def check_depth(payload: bytes) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before the parser sees it.

    Counting brackets is a C-speed ``bytes.count``; only a payload with more brackets than
    the limit (brackets inside strings count there too) is walked byte by byte, skipping
    strings, to find its real depth.
    """
    if payload.count(b"[") + payload.count(b"{") <= MAX_DEPTH:
        return
    depth, in_string, escaped = 0, False, False
    for byte in payload:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise DecodeError(f"payload nests deeper than {MAX_DEPTH} levels")
        elif byte in _CLOSERS:
            depth -= 1


def _reject_constant(name: str) -> None:
    raise DecodeError(f"payload contains {name}, which is not JSON")


def _build(cls: type[M], body: dict[str, Any]) -> M:
    return _build_part(cls, cls.TYPE, body, envelope={"v", "type"})


P = TypeVar("P")


def _build_part(cls: type[P], where: str, body: dict[str, Any], *, envelope: set[str]) -> P:
    """A message, or a part nested in one (an event's roll), from its JSON object."""
    hints = _field_types(cls)
    unknown = set(body) - set(hints) - envelope
    if unknown:
        raise DecodeError(f"{where}: unknown field(s) {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, (hint, required) in hints.items():
        if name not in body:
            if required:
                raise DecodeError(f"{where}: missing field {name!r}")
            continue
        values[name] = _convert(f"{where}.{name}", hint, body[name])
    try:
        return cls(**values)
    except (MessageError, InvalidName) as error:
        raise DecodeError(f"{where}: {error}") from None


_FIELDS: dict[type, dict[str, tuple[Any, bool]]] = {}


def _field_types(cls: type) -> dict[str, tuple[Any, bool]]:
    """Each field's type and whether it is required, worked out once per message class."""
    if cls in _FIELDS:
        return _FIELDS[cls]
    hints = typing.get_type_hints(cls)
    _FIELDS[cls] = {
        f.name: (
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    }
    return _FIELDS[cls]


def _convert(where: str, hint: Any, value: Any) -> Any:
    """Check one JSON value against a field's type; JSON's bool is never an int here."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        if value is None and type(None) in typing.get_args(hint):
            return None
        (inner,) = (a for a in typing.get_args(hint) if a is not type(None))
        return _convert(where, inner, value)
    if origin is tuple:  # tuple[X, ...]: a JSON array of X
        (inner, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise DecodeError(f"{where} must be an array")
        return tuple(_convert(f"{where}[{i}]", inner, item) for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise DecodeError(f"{where} must be an object of strings")
        return dict(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise DecodeError(f"{where} must be an object")
        return _build_part(hint, where, value, envelope=set())
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = [e.value for e in hint]
            raise DecodeError(f"{where}: {value!r} is not one of {allowed}") from None
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        # 1e999 parses as infinity; an integer of 400 digits does not fit a float at all.
        if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
            raise DecodeError(f"{where} is outside the signed 64-bit range")
        if not math.isfinite(value):
            raise DecodeError(f"{where} must be a finite number")
        return float(value)
    if hint is int and type(value) is int and not INT_MIN <= value <= INT_MAX:
        raise DecodeError(f"{where} is outside the signed 64-bit range")
    if hint in (str, int, bool) and type(value) is hint:
        return value
    expected = getattr(hint, "__name__", hint)
    raise DecodeError(f"{where} must be {expected}, not {type(value).__name__}")
