"""Typed reads from a plain config table that name the dotted key when they fail.

TOML and JSON hand us ``dict[str, object]``. Reading it with ``raw["x"]`` gives a
``KeyError: 'x'`` that tells a technician nothing; every read here instead raises
:class:`HardwareConfigError` with the full key (``hardware.display.i2c.address``) and
what to write instead. Unknown keys are errors too: a misspelt ``hold_time`` silently
falling back to the default hold would be worse than refusing to start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from hardware.errors import HardwareConfigError

T = TypeVar("T")

_MISSING: object = object()


class Table:
    """One table (dict) of the config, with the dotted key it was found under."""

    def __init__(self, raw: object, key: str) -> None:
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
            raise HardwareConfigError(
                key,
                f"expected a table, got {_describe(raw)}",
                "Write it as a TOML table or a JSON object",
            )
        self._raw: Mapping[str, object] = raw
        self.key = key
        self._read: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def child(self, name: str) -> str:
        """The dotted key of ``name`` inside this table."""
        return f"{self.key}.{name}"

    def get(self, name: str, kind: type[T], default: T | object = _MISSING) -> T:
        """Value of ``name`` checked to be a ``kind``; ``default`` when absent."""
        self._read.add(name)
        if name not in self._raw:
            if default is _MISSING:
                raise HardwareConfigError(
                    self.child(name), "is required but missing", f"Add {name} to [{self.key}]"
                )
            return default  # type: ignore[return-value]
        value = self._raw[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise HardwareConfigError(
                self.child(name),
                f"expected {_KIND_NAMES.get(kind, kind.__name__)}, got {_describe(value)}",
                "Fix its type",
            )
        return value

    def number(
        self,
        name: str,
        default: float | object = _MISSING,
        *,
        above: float | None = None,
        at_least: float | None = None,
        at_most: float | None = None,
    ) -> float:
        """A float (ints accepted) that is ``> above``, ``>= at_least`` and ``<= at_most``."""
        value = self.get(name, float, default)
        checks = (
            (above, ">", above is None or value > above),
            (at_least, ">=", at_least is None or value >= at_least),
            (at_most, "<=", at_most is None or value <= at_most),
        )
        if not all(ok for _, _, ok in checks):
            wanted = " and ".join(f"{op} {bound:g}" for bound, op, _ in checks if bound is not None)
            raise HardwareConfigError(
                self.child(name), f"{value:g} is out of range", f"Use a number {wanted}"
            )
        return value

    def integer(
        self,
        name: str,
        default: int | object = _MISSING,
        *,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        """An int in ``[low, high]``."""
        value = self.get(name, int, default)
        if (low is not None and value < low) or (high is not None and value > high):
            span = " and ".join(
                f"{op} {bound}" for op, bound in ((">=", low), ("<=", high)) if bound is not None
            )
            raise HardwareConfigError(
                self.child(name), f"{value} is out of range", f"Use a whole number {span}"
            )
        return value

    def choice(self, name: str, choices: Sequence[str], default: str | object = _MISSING) -> str:
        """A string that must be one of ``choices``."""
        value = self.get(name, str, default)
        if value not in choices:
            raise HardwareConfigError(
                self.child(name), f"unknown value {value!r}", "Use one of: " + ", ".join(choices)
            )
        return value

    def names(self) -> list[str]:
        """Every key of this table, for tables whose keys are data (action names)."""
        self._read.update(self._raw)
        return list(self._raw)

    def table(self, name: str) -> Table | None:
        """The sub-table ``name``, or None when absent."""
        self._read.add(name)
        return Table(self._raw[name], self.child(name)) if name in self._raw else None

    def tables(self, name: str) -> list[Table]:
        """The list of tables ``name`` (TOML ``[[...]]``), empty when absent."""
        items = self.get(name, list, [])
        return [Table(item, f"{self.child(name)}[{i}]") for i, item in enumerate(items)]

    def finish(self) -> None:
        """Refuse keys nobody read: they are typos or belong to another version."""
        unknown = sorted(set(self._raw) - self._read)
        if unknown:
            raise HardwareConfigError(
                self.child(unknown[0]),
                "unknown key",
                "Check its spelling against docs/hardware.md or remove it",
            )


_KIND_NAMES: dict[type, str] = {
    int: "a whole number",
    float: "a number",
    str: "a string",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"[:80]
