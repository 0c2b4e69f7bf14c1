"""The console's catalogs: every word the templates (and the console's Python) mark has a
Spanish translation with the same placeholders, English renders the templates' own words,
and a user's language in the users file is one we have."""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.console.i18n import browser_language, catalog_path, load
from hub.console.render import Renderer
from hub.second_factor import Outcome
from hub.user_language import LANGUAGES, record_language
from transport.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
MAPPING = [
    ("hub/console/base.py", "python"),
    ("hub/console/board.py", "python"),
    ("hub/console/issue.py", "python"),
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
    found = marked()
    assert "Skip to content" in found
    assert ("%(count)s student missing", "%(count)s students missing") in found
    # every console page, its scripts' words and the console's own refusals
    for msgid in (
        "Issue a directive",  # issue.html
        "REAL EMERGENCY: this is NOT a drill.",  # confirm.html
        "Panic alerts",  # alerts
        "Device health",  # devices
        "Drill report: #%(id)s %(title)s",  # drill report
        "Action or detail contains",  # audit
        "Campus wall view",  # kiosk
        "Add a teacher",  # teachers
        "Front-office console. Log in with your console account.",  # login
        "Set up your second factor",  # enrolment
        "Back to the board",  # error pages
        "Weather and civil alerts",  # the weather banners every page carries
        "Confirm: release room %(room)s",  # console.js
        "Not added: %(error)s",  # staff.js
        "wrong user name or password",  # the hub's refusal, shown by login.js
        "choose DRILL or REAL EMERGENCY: the displays say which",  # issue.py
        "Your role (%(role)s) may not %(permission)s.",  # base.py
    ):
        assert msgid in found, msgid


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


def test_spanish_pages_render_in_spanish() -> None:
    """A page rendered for Spanish is Spanish; a refusal the console marked is too, and
    one it did not mark (from elsewhere in the hub) is shown as it came."""
    renderer = Renderer()
    spanish = renderer.envs["es"].from_string("{{ e|translated }} | {{ other|translated }}")
    said = spanish.render(e="release a Lockdown room by room, from the board", other="100% off")
    assert said == "un Lockdown se libera salón por salón, desde el tablero | 100% off"
    login = renderer.text("login.html", site="Lincoln", language="es")
    assert '<html lang="es">' in login and "Contraseña" in login and "Iniciar sesión" in login
    english = renderer.text("login.html", site="Lincoln")  # English stays the default
    assert '<html lang="en">' in english and ">Log in</button>" in english
    enrol = renderer.text(
        "enrol.html",
        site="Lincoln",
        user="ana",
        role="admin",
        csrf="x",
        qr="data:,",
        secret_groups="ABCD EFGH",
        language="es",
    )
    assert '<html lang="es">' in enrol and "Configure su segundo factor" in enrol
    found = re.search(r"data-words='([^']*)'", enrol)
    assert found is not None
    words = json.loads(html.unescape(found.group(1)))  # enrol.js's words
    assert words["too many wrong codes; wait a minute and try again"].startswith("demasiados")


def test_the_login_page_speaks_the_browsers_language() -> None:
    assert browser_language("") == "en"
    assert browser_language("es-MX,es;q=0.9,en;q=0.8") == "es"
    assert browser_language("fr-FR,fr;q=0.9,es;q=0.5,en;q=0.7") == "en"
    assert browser_language("fr, es;q=0.4") == "es"
    assert browser_language("es;q=0, en") == "en"
    assert browser_language("es;q=bad, en") == "en"


def _strings_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_the_scripts_know_the_hubs_refusals_by_their_exact_words() -> None:
    """login.js and enrol.js translate the hub's refusals by their English
    (script_words.html): each must still be one hub/login.py or hub/factor_login.py sends,
    or a rewording there would silently leave the Spanish page in English."""
    said = _strings_in(ROOT / "hub" / "login.py") | _strings_in(ROOT / "hub" / "factor_login.py")
    sendable = said | {str(o) for o in Outcome} | {f"{o}{hint}" for o in Outcome for hint in said}
    words = Renderer().envs["en"].get_template("script_words.html").module
    own = {"Cannot reach the hub. Check the network and try again."}  # the scripts' own
    for page in ("login", "enrol"):
        refusals = set(getattr(words, page)) - own
        assert refusals and refusals <= sendable, refusals - sendable
