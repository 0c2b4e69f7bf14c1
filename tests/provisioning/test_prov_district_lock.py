"""Edits of district.json from two places at once (IT's commands, the console's groups
page) lose nothing, and a group edit touches no NATS node's config."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import provisioning.district as district
from provisioning.district import (
    add_school,
    init_district,
    open_district,
    remove_group,
    remove_school,
    set_group,
)
from tests.provisioning.test_prov_district import NODES

OVERLAP_S = 1.0
"""How long the first edit waits, inside its edit, for the second to finish: long enough
for an unlocked second edit to land meanwhile, the time the test costs with the lock."""


def _node_files(root: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted((root / "nats").glob("*/nats.conf"))
    }


def test_a_group_edit_leaves_every_node_config_as_it_was(tmp_path: Path) -> None:
    root = init_district(tmp_path / "d", "metro", NODES).root
    add_school(root, "lincoln")
    add_school(root, "adams")
    before = _node_files(root)
    set_group(root, "near-elm", ["lincoln", "adams"])
    set_group(root, "near-elm", ["lincoln"])
    remove_group(root, "near-elm")
    assert _node_files(root) == before  # same bytes, same file: never rewritten
    assert open_district(root)[1].groups == {}


def _interleaved(
    monkeypatch: pytest.MonkeyPatch, first: Callable[[], Any], second: Callable[[], Any]
) -> None:
    """Run ``first``; while it is inside its edit (writing the node configs), run
    ``second`` on another thread, and give it ``OVERLAP_S`` to finish before ``first``
    writes district.json."""
    inside, second_done = threading.Event(), threading.Event()
    render = district.render_node

    def slow_render(*args: Any, **kwargs: Any) -> str:
        if threading.current_thread() is threading.main_thread() and not inside.is_set():
            inside.set()
            second_done.wait(OVERLAP_S)  # with the lock, the second waits for us instead
        return render(*args, **kwargs)

    def run_second() -> None:
        assert inside.wait(10), "the first edit never started"
        second()
        second_done.set()

    monkeypatch.setattr(district, "render_node", slow_render)
    other = threading.Thread(target=run_second)
    other.start()
    first()
    other.join(10)
    assert not other.is_alive()


def test_a_group_saved_while_a_school_is_added_loses_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = init_district(tmp_path / "d", "metro", NODES).root
    add_school(root, "lincoln")
    _interleaved(
        monkeypatch,
        lambda: add_school(root, "adams"),
        lambda: set_group(root, "near-elm", ["lincoln"]),
    )
    record = open_district(root)[1]
    assert sorted(record.schools) == ["adams", "lincoln"]
    assert record.groups == {"near-elm": ("lincoln",)}
    for node in NODES:
        assert "school-adams" in (root / "nats" / node.name / "nats.conf").read_text()


def test_a_school_added_while_another_is_removed_leaves_both_edits_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = init_district(tmp_path / "d", "metro", NODES).root
    add_school(root, "gone")
    _interleaved(
        monkeypatch, lambda: add_school(root, "adams"), lambda: remove_school(root, "gone")
    )
    record = open_district(root)[1]
    assert sorted(record.schools) == ["adams"]
    for node in NODES:
        conf = (root / "nats" / node.name / "nats.conf").read_text()
        assert "school-adams" in conf and "school-gone" not in conf
