"""The console's catalogs: every word the templates (and the console's Python) mark has a
Spanish translation with the same placeholders, English renders the templates' own words,
and a user's language in the users file is one we have."""

from __future__ import annotations

import ast
import dataclasses
import html
import json
import re
import time
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.access import refusal_response
from hub.auth import Permission
from hub.console import display
from hub.console.chart import drill_chart
from hub.console.display import AUDIT_ACTIONS
from hub.console.i18n import browser_language, catalog_path, load
from hub.console.render import Renderer
from hub.drills import EVENT_WORDS
from hub.errors import Conflict
from hub.relay.store import Attempt, Outbox
from hub.relay.views import Destination, _delivery
from hub.roll import roll_words
from hub.second_factor import Outcome
from hub.user_language import LANGUAGES, record_language
from protocol.messages import CommandKind, Roll
from transport.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
MAPPING = [
    ("hub/console/base.py", "python"),
    ("hub/console/board.py", "python"),
    ("hub/console/chart.py", "python"),
    ("hub/console/display.py", "python"),
    ("hub/console/issue.py", "python"),
    ("hub/console/teacher.py", "python"),
    ("hub/console/templates/**.html", "jinja2"),
]
OPTIONS = {"hub/console/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def marked_in_context() -> set[tuple[str | None, str | tuple[str, ...]]]:
    """Every (context, msgid) marked in the console's sources (as pybabel extract finds
    them; the context is None but for the roll's words, hub/console/display.py)."""
    found = extract_from_dir(
        ROOT,
        MAPPING,
        options_map=OPTIONS,
        keywords={
            "_": None,
            "gettext": None,
            "ngettext": (1, 2),
            "npgettext": ((1, "c"), 2, 3),
            "N_": None,
        },
    )
    return {(context, message) for _file, _line, message, _comments, context in found}


def marked() -> set[str | tuple[str, ...]]:
    return {message for _context, message in marked_in_context()}


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
    for context, msgid in sorted(marked_in_context(), key=str):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key, context=context)
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
    words = Renderer().envs["en"].get_template("script_words.html").module
    own = {"Cannot reach the hub. Check the network and try again."}  # the scripts' own
    for page in ("login", "enrol"):
        refusals = set(getattr(words, page)) - own
        assert refusals and refusals <= _login_refusals(), refusals - _login_refusals()


def _login_refusals() -> set[str]:
    """What hub/login.py and hub/factor_login.py (the steps after the password) can refuse
    with: their strings, and a code's outcome with a hint."""
    said = _strings_in(ROOT / "hub" / "login.py") | _strings_in(ROOT / "hub" / "factor_login.py")
    return said | {str(o) for o in Outcome} | {f"{o}{hint}" for o in Outcome for hint in said}


def test_the_teachers_login_pages_speak_the_browsers_language() -> None:
    renderer = Renderer()
    login = renderer.text("teacher_login.html", site="Lincoln", mode="login", language="es")
    assert '<html lang="es">' in login and "Contraseña" in login
    assert "Página del docente: iniciar sesión" in login and ">Iniciar sesión</button>" in login
    enrol = renderer.text("teacher_login.html", site="Lincoln", mode="enrol", language="es")
    assert "Iniciando sesión en este teléfono…" in enrol
    found = re.search(r"data-words='([^']*)'", enrol)
    assert found is not None
    words = json.loads(html.unescape(found.group(1)))  # teacher.js's words
    used = "this enrolment link was already used: ask the office for a new one"
    assert words[used] == "este enlace de inscripción ya se usó: pida uno nuevo a la oficina"
    english = renderer.text("teacher_login.html", site="Lincoln", mode="login")
    assert '<html lang="en">' in english and ">Log in</button>" in english


def test_the_teachers_login_knows_the_hubs_refusals_by_their_exact_words() -> None:
    """teacher.js translates /api/login's and /api/teacher/enrol's refusals by their English
    (script_words.html's teacher_login); and console.js the control's (its refusals)."""
    said = _login_refusals() | _strings_in(ROOT / "hub" / "console" / "teacher.py")
    words = Renderer().envs["en"].get_template("script_words.html").module
    own = {
        "Cannot reach the hub. Check the Wi-Fi and try again.",
        "Cannot reach the hub. Join the school's Wi-Fi and open the link again.",
        "This link did not work: ask the office.",
    }
    refusals = set(words.teacher_login) - own
    assert refusals and refusals <= said, refusals - said
    control = _strings_in(ROOT / "hub" / "console_control.py")
    assert set(words.refusals) <= control, set(words.refusals) - control


def _audit_actions_in(path: Path) -> set[str]:
    """The fixed action names a module stores: ``audit(..., action="...")``, and the second
    argument of its own ``_audit``/``_record``/``_link_answer`` helpers (both branches of an
    ``x if c else y``); an f-string's fixed start, as ``issue …``."""
    found: set[str] = set()
    for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        name, node = call.func.attr, None
        if name == "audit":
            node = next((k.value for k in call.keywords if k.arg == "action"), None)
        elif name in ("_audit", "_record", "_link_answer") and len(call.args) > 1:
            node = call.args[1]
        branches = [node.body, node.orelse] if isinstance(node, ast.IfExp) else [node]
        for branch in branches:
            if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                found.add(branch.value)
            elif isinstance(branch, ast.JoinedStr) and isinstance(branch.values[0], ast.Constant):
                found.add(f"{branch.values[0].value}…")
    return found


def test_every_audit_action_the_hub_stores_is_shown_translated() -> None:
    """A new audit action without a catalog entry would show in English on a Spanish
    audit page: each fixed one must be in display.AUDIT_ACTIONS (and so in the catalog)."""
    stored = set().union(*(_audit_actions_in(p) for p in (ROOT / "hub").rglob("*.py")))
    assert "take over control" in stored and "device cut-off ended" in stored
    templated = {
        "issue …",  # display.ISSUED: worded with the directive's term
        "login (…",  # the session kinds, below
        "command …",  # the command kinds, below
        "session ended (…",  # why a session was dropped: hub/auth.py's words, as stored
    }
    assert stored - set(AUDIT_ACTIONS) == templated
    assert {f"login ({kind})" for kind in ("console", "page", "cli")} <= set(AUDIT_ACTIONS)
    assert {f"command {kind}" for kind in CommandKind} <= set(AUDIT_ACTIONS)


def test_the_audit_page_roll_words_and_permissions_in_spanish() -> None:
    spanish = load("es")
    roll = Roll(missing=2, extra=None, injured=1, help=True)
    assert display.roll_words(spanish, roll) == "2 desaparecidos, 1 herido, NECESITA AYUDA"
    assert display.roll_words(spanish, {"missing": 0, "extra": 1}) == "Todos presentes, 1 de más"
    for english in (roll, Roll(missing=None, extra=None, injured=None, help=False)):
        assert display.roll_words(load("en"), english) == roll_words(english)  # unchanged
    forms = display.roll_forms(spanish)  # teacher.js's
    assert forms["injured"] == ["%(count)s herido", "%(count)s heridos"]
    issued = {"seq": 4, "term": "LOCKDOWN", "drill": True}
    assert display.audit_action(spanish, "issue lockdown", issued) == "emisión de LOCKDOWN"
    assert display.audit_action(load("en"), "issue lockdown", issued) == "issue lockdown"
    took = display.audit_action(spanish, "take over control", {})
    assert took == "toma del control de otra consola"
    assert display.audit_action(spanish, "something new", {}) == "something new"  # as stored
    pairs = display.details(spanish, {"drill": True, "from": "10.0.0.9", "odd_key": 1}, str)
    assert pairs == [("simulacro", "sí"), ("desde", "10.0.0.9"), ("odd key", "1")]
    assert set(display.PERMISSIONS) == {str(p) for p in Permission}
    # the 403 page's words (error.html's expression: base.py hands it the permission)
    said = "Your role (%(role)s) may not %(permission)s."
    values = {"role": "viewer", "permission": str(Permission.AUDIT)}
    forbidden = Renderer().envs["es"].from_string("{{ _(m[0], **(m[1]|translated_values)) }}")
    assert forbidden.render(m=(said, values)) == (
        "Su rol (viewer) no permite: leer el registro de auditoría."
    )


def test_a_refusal_with_values_names_them_for_the_console() -> None:
    """The API's error stays English; its message and values let console.js word it."""
    refusal = Conflict("control is held by %(user)s (since %(since)s)", user="ana", since="10:02")
    assert str(refusal) == "control is held by ana (since 10:02)"
    body = json.loads(refusal_response(refusal).body)
    assert body == {
        "error": "control is held by ana (since 10:02)",
        "message": "control is held by %(user)s (since %(since)s)",
        "values": {"user": "ana", "since": "10:02"},
    }
    assert json.loads(refusal_response(Conflict("100% sure")).body) == {"error": "100% sure"}


def test_the_drill_charts_column_subtitles_in_spanish() -> None:
    report = {
        "directives": [
            {"seq": 1, "term": "HOLD", "offset_s": 0.0, "scope": "site", "target": None}
            | {"action": "hold", "rooms": {"101": 240.0}},
            {"seq": 2, "term": "SECURE", "offset_s": 3.2, "scope": "room", "target": "101"}
            | {"action": "secure", "rooms": {"101": 300.0}},
        ]
    }
    chart = drill_chart(report, ["101"])
    svg = Renderer().text("drill_chart.html", chart=chart, language="es")
    assert "+0 s, todo el plantel" in svg and "+3 s, salón 101" in svg
    assert "+3 s, room 101" in Renderer().text("drill_chart.html", chart=chart)


def test_hand_off_lines_read_as_the_relay_words_them_and_in_spanish() -> None:
    """handoff_words.html words a delivery and a destination's health from their fields:
    in English exactly as hub/relay/views.py's "words" (the API's), in Spanish from the
    catalog; the label and the receiver's result as they are."""
    where = Destination("police-dispatch", "webhook", drills=True, staff_assist=True)
    row = Outbox(
        id=1, destination=where.name, key="k", queued_at=0.0, delivered_at=None, attempts=3
    )
    tried = Attempt(at=5.0, duration_ms=240.4, status=500, result="HTTP 500")
    deliveries = [
        _delivery(where, None, None),
        _delivery(where, row, None),
        _delivery(where, row, tried),
        _delivery(where, dataclasses.replace(row, delivered_at=9.0), tried),
        _delivery(where, dataclasses.replace(row, delivered_at=9.0), None),
    ]
    renderer = Renderer()
    english = renderer.envs["en"].get_template("handoff_words.html").module
    assert [str(english.delivery(h)) for h in deliveries] == [h["words"] for h in deliveries]
    spanish = renderer.envs["es"].get_template("handoff_words.html").module
    lines = [str(spanish.delivery(h)) for h in deliveries]
    assert lines[0] == "Police dispatch (webhook): no se envía aquí"
    assert lines[2] == "Police dispatch (webhook): falló, reintentando: HTTP 500 (3 intentos)"
    failing = {"label": where.label, "last_result": "not yet tried", "since": 0.0, "waiting": 1}
    clock = time.strftime("%H:%M", time.localtime(0.0))
    assert (
        str(english.health(failing))
        == f"{where.label}: not yet tried since {clock} (1 message waiting)"
    )
    assert str(spanish.health(failing)) == (
        f"{where.label}: sin intentar desde las {clock} (1 mensaje en espera)"
    )


def test_a_drill_hand_offs_record_in_spanish() -> None:
    """drill_words.html's record() knows hub/drills.py's EVENT_WORDS by their English."""
    words = Renderer().envs["es"].get_template("drill_words.html").module
    said = {english: str(words.record(f"{english}, room 101")) for english in EVENT_WORDS.values()}
    assert said == {
        "PANIC ALERT": "ALERTA DE PÁNICO, salón 101",
        "Panic cancelled": "Pánico cancelado, salón 101",
        "Needs help": "Necesita ayuda, salón 101",
    }
    assert str(words.record("#3 LOCKDOWN")) == "#3 LOCKDOWN"
    english = Renderer().envs["en"].get_template("drill_words.html").module
    assert str(english.record("PANIC ALERT, room 101")) == "PANIC ALERT, room 101"
