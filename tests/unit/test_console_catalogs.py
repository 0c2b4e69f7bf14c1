"""The console's catalogs: every word the templates (and the console's Python) mark has a
Spanish translation with the same placeholders, English renders the templates' own words,
and a user's language in the users file is one we have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.console.i18n import catalog_path, load
from hub.console.render import Renderer
from hub.user_language import LANGUAGES, record_language
from transport.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
MAPPING = [
    ("hub/console/base.py", "python"),
    ("hub/console/board.py", "python"),
    ("hub/console/teacher.py", "python"),
    ("hub/console/templates/**.html", "jinja2"),
]
OPTIONS = {"hub/console/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def marked() -> set[str | tuple[str, ...]]:
    """Every msgid marked in the console's sources (as pybabel extract finds them)."""
    found = extract_from_dir(
        ROOT,
        MAPPING,
        options_map=OPTIONS,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    )
    return {message for _file, _line, message, _comments, _context in found}


def test_the_templates_mark_their_words() -> None:
    assert "Skip to content" in marked()
    assert ("%(count)s student missing", "%(count)s students missing") in marked()


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_marked_word_is_translated(language: str) -> None:
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    problems = []
    for msgid in sorted(marked(), key=str):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
        wanted = set(PLACEHOLDER.findall(key))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            problems.append(f"placeholders differ: {msgid!r}")
    assert problems == []


def test_spanish_and_english_render() -> None:
    renderer = Renderer()
    env = renderer.envs["es"]
    template = env.from_string("{% trans %}Skip to content{% endtrans %} {{ _('Board') }}")
    assert template.render() == "Saltar al contenido Tablero"
    english = renderer.envs["en"].from_string("{% trans n=2 %}Room {{ n }}{% endtrans %}")
    assert english.render() == "Room 2"
    assert load("es").ngettext("%(count)s room needing help", "", 1).startswith("%(count)s salón")


def test_a_users_language_is_one_we_have(tmp_path: Path) -> None:
    settings = Settings({"users": {}}, tmp_path / "users.json")
    assert record_language(settings, "users.a", {}) == "en"
    assert record_language(settings, "users.a", {"language": "es"}) == "es"
    with pytest.raises(ConfigError, match=r"users\.a\.language"):
        record_language(settings, "users.a", {"language": "fr"})
