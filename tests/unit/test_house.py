"""The rules of the house, checked on the source: which package may import which, no
import cycles, no module over 400 lines, and topic strings only in ``protocol/topics.py``.

Imports are read with :mod:`ast`, not by importing: every ``import`` and ``from ... import``
counts, at module level, inside functions and under ``TYPE_CHECKING`` alike (a lazy or
type-only import is still a dependency a reader must follow), and relative imports are
resolved against the importing module. Each failure names the module and the line.
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "protocol",
    "transport",
    "hardware",
    "device",
    "hub",
    "provisioning",
    "district",
    "roomcast",
    "benchmarks",
)
MAX_LINES = 400

MAY_IMPORT: dict[str, frozenset[str]] = {
    "protocol": frozenset(),
    "hardware": frozenset(),
    "transport": frozenset({"protocol"}),
    "device": frozenset({"protocol", "transport", "hardware"}),
    "hub": frozenset({"protocol", "transport"}),
    "provisioning": frozenset({"protocol", "hardware"}),
    # The district service is a service of its own beside the hub: it reads the schools'
    # summaries over MQTT (protocol, transport) and never imports provisioning (the command
    # on top hands it its files). Its console is the school console's security and look,
    # reused, not copied: sessions and audit (hub.store_people), CSRF and body limits
    # (hub.access), one console in control (hub.console_control), the login limit
    # (hub.auth), security headers and trusted proxies, the console's static files. So
    # district -> hub, one way: the hub may never import the district (it is not above it).
    "district": frozenset({"protocol", "transport", "hub"}),
    "roomcast": frozenset(PACKAGES),
    "benchmarks": frozenset(PACKAGES),
}
"""Which of our other packages each package may import (its own is always allowed)."""

PROVISIONING_HARDWARE = frozenset({"hardware.config_parse"})
"""The one hardware module provisioning may import: the node's own parser, so a site's
hardware profiles are checked at provisioning time by the very code the node will run."""

ON_TOP = frozenset({"roomcast", "benchmarks"})
"""The command and the benchmarks sit on top: only they may import each other."""

TOPIC_ROOT = "roomcast/v1"
TOPICS_MODULE = "protocol.topics"


@dataclass(frozen=True)
class Import:
    source: str
    """The importing module, dotted."""
    target: str
    """The imported module of ours, dotted (a package's ``__init__`` by its package name)."""
    line: int

    def where(self) -> str:
        return f"{self.source} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of our packages, dotted name -> file."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _resolve_relative(source: str, is_package: bool, level: int, name: str | None) -> str:
    """``from ..x import y`` in ``source`` -> the absolute dotted base it names."""
    parts = source.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


def _ours(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is one of our modules, or None."""
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


def imported_names(
    tree: ast.Module, source: str, *, is_package: bool, known: Container[str]
) -> Iterator[tuple[str, int]]:
    """(dotted name, line) of every import in ``tree``, wherever it is written, relative
    ones resolved; ``from pkg import mod`` names the module when ``known`` has it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(source, is_package, node.level, node.module)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                yield (name if name in known else base), node.lineno


@cache
def imports() -> tuple[Import, ...]:
    """Every import of one of our modules by one of our modules."""
    found: dict[Import, None] = {}  # ordered, and `from m import a, b` counts once
    for source, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for dotted, line in imported_names(tree, source, is_package=is_package, known=modules()):
            target = _ours(dotted)
            if target is not None and target != source:
                found[Import(source, target, line)] = None
    return tuple(found)


def package_of(module: str) -> str:
    return module.split(".", 1)[0]


def _forbidden(edge: Import) -> str | None:
    """Why this import breaks the direction rules, or None if it is allowed."""
    source, target = package_of(edge.source), package_of(edge.target)
    if source == target:
        return None
    if target in ON_TOP and source not in ON_TOP:
        return f"nothing below the command and the benchmarks imports {target}"
    if target not in MAY_IMPORT[source]:
        allowed = ", ".join(sorted(MAY_IMPORT[source]))
        return (
            f"{source} may import only {allowed}" if allowed else f"{source} imports none of ours"
        )
    if (
        target == "hardware"
        and source == "provisioning"
        and edge.target not in PROVISIONING_HARDWARE
    ):
        return "provisioning may use hardware only through hardware.config_parse"
    return None


def test_the_walk_sees_every_kind_of_import() -> None:
    """The checks below are only as good as the walk: imports inside functions, under
    TYPE_CHECKING and relative ones all count."""
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from hub.store import HubStore
def later():
    import device.build
from . import board
from ..store import HubStore
"""
    tree = ast.parse(source)
    known = {"hub.console.board"}
    found = set(imported_names(tree, "hub.console.routes", is_package=False, known=known))
    assert found == {
        ("typing", 2),
        ("hub.store", 4),
        ("device.build", 6),
        ("hub.console.board", 7),
        ("hub.store", 8),
    }
    assert _resolve_relative("hub.console", True, 1, "board") == "hub.console.board"
    assert len(modules()) > 100 and len(imports()) > 300


def test_imports_point_one_way() -> None:
    wrong = [f"{e.where()}: {why}" for e in imports() if (why := _forbidden(e)) is not None]
    assert not wrong, "imports against the layering (ARCHITECTURE.md):\n" + "\n".join(wrong)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _cycle_through(start: str, members: set[str], graph: dict[str, set[str]]) -> list[str]:
    """One shortest import path from ``start`` back to itself inside a component."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & members):
                if successor == start:
                    return [*paths[node], start]
                if successor not in paths:
                    paths[successor] = [*paths[node], successor]
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{start} is in a component but on no cycle")


def _describe(cycle: list[str], lines: dict[tuple[str, str], int]) -> str:
    steps = [f"{a} (line {lines[a, b]})" for a, b in pairwise(cycle)]
    return " -> ".join([*steps, cycle[-1]])


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    lines: dict[tuple[str, str], int] = {}
    for edge in imports():
        graph.setdefault(edge.source, set()).add(edge.target)
        lines.setdefault((edge.source, edge.target), edge.line)
    cycles = [
        _describe(_cycle_through(component[0], set(component), graph), lines)
        for component in _strongly_connected(graph)
    ]
    assert not cycles, "import cycles (module (line of the import) -> ...):\n" + "\n".join(cycles)


def test_the_cycle_check_finds_and_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]
    lines = {("a", "b"): 1, ("b", "c"): 2, ("c", "a"): 3}
    cycle = _cycle_through("a", {"a", "b", "c"}, graph)
    assert _describe(cycle, lines) == "a (line 1) -> b (line 2) -> c (line 3) -> a"


def test_no_module_is_over_400_lines() -> None:
    long = {
        f"{name} ({count} lines)": count
        for name, path in modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(sorted(long))


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def topic_strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, text) of each string constant holding the topic root, an f-string's literal
    parts included, docstrings left out (see the test below)."""
    documentation = _docstrings(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and TOPIC_ROOT in node.value
            and id(node) not in documentation
        ):
            yield node.lineno, node.value


def test_topic_strings_are_built_only_in_protocol_topics() -> None:
    """A string holding ``roomcast/v1`` anywhere but ``protocol/topics.py`` is a topic
    built by hand. Docstrings may mention the tree: they document the contract and never
    reach the wire, and a check that made the prose say less would help no reader."""
    found = [
        f"{name} (line {line}): {text!r}"
        for name, path in modules().items()
        if name != TOPICS_MODULE
        for line, text in topic_strings(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "topic strings outside protocol/topics.py:\n" + "\n".join(found)


def test_the_topic_check_sees_f_strings_and_spares_docstrings() -> None:
    source = '''
"""Everything lives under roomcast/v1/<site>/."""
def floor(site):
    """Publishes on roomcast/v1/<site>/bench."""
    return f"roomcast/v1/{site}/bench"
'''
    assert list(topic_strings(ast.parse(source))) == [(5, "roomcast/v1/")]


def test_the_direction_rules_name_what_is_wrong() -> None:
    assert _forbidden(Import("hub.store", "device.store", 1)) == (
        "hub may import only protocol, transport"
    )
    assert _forbidden(Import("device.cli", "roomcast.running", 1)) == (
        "nothing below the command and the benchmarks imports roomcast"
    )
    assert _forbidden(Import("protocol.codec", "transport.session", 1)) == (
        "protocol imports none of ours"
    )
    assert _forbidden(Import("provisioning.profiles", "hardware.errors", 1)) is not None
    assert _forbidden(Import("provisioning.profiles", "hardware.config_parse", 1)) is None
    assert _forbidden(Import("benchmarks.stats", "hub.stats", 1)) is None
    assert _forbidden(Import("roomcast.cli", "benchmarks.report", 1)) is None
