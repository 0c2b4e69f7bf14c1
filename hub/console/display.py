"""Words the rest of the hub keeps in English, shown in the user's language at the edge.

The roll's words, the audit log's actions and detail names and the permissions are built
(or stored) in English elsewhere: hub/roll.py, every ``store.audit(...)`` call,
hub/auth.py. Those stay English and stable (the API, the CSV, the stored record and its
search say them); the console translates them only where it shows them, here, so a Spanish
user reads Spanish and the record does not change with whoever looked at it. A word the
catalog lacks (a new audit action, say) is shown as stored.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment

from hub.console.i18n import N_
from hub.roll import RollEntry
from protocol.messages import Roll

Translations = gettext.NullTranslations


def _counted(t: Translations, key: str, n: int) -> str:
    """ "2 missing": one count of a roll, its form for ``n`` (``%(count)s`` left to fill).

    Context "roll": these are the roll's own entries, since the kiosk says "%(count)s
    missing" without a plural."""
    if key == "missing":
        return t.npgettext("roll", "%(count)s missing", "%(count)s missing", n)
    if key == "extra":
        return t.npgettext("roll", "%(count)s extra", "%(count)s extra", n)
    return t.npgettext("roll", "%(count)s injured", "%(count)s injured", n)


COUNTED = ("missing", "extra", "injured")


def roll_words(t: Translations, roll: RollEntry | Roll | Mapping[str, Any]) -> str:
    """hub.roll.roll_words in the user's language: "2 missing, 1 injured, NEEDS HELP".

    Takes a report as the roll keeps it or as its JSON (``RollEntry.as_dict``)."""
    if isinstance(roll, RollEntry):
        roll = roll.roll
    if isinstance(roll, Roll):
        counts = {"missing": roll.missing, "extra": roll.extra, "injured": roll.injured}
        helped = roll.help
    else:
        counts = {key: roll.get(key) for key in COUNTED}
        helped = bool(roll.get("help"))
    said = [t.gettext("All accounted")] if counts["missing"] == 0 else []
    said += [_counted(t, key, n) % {"count": n} for key in COUNTED if (n := counts[key])]
    if helped:
        said.append(t.gettext("NEEDS HELP"))
    return ", ".join(said) if said else t.gettext("Reported, nothing counted")


def roll_forms(t: Translations) -> dict[str, Any]:
    """The roll's words for a script that words a report itself (teacher.js): each count's
    form for one and for more than one (English's and Spanish's two plural forms)."""
    forms: dict[str, Any] = {key: [_counted(t, key, n) for n in (1, 2)] for key in COUNTED}
    return forms | {
        "all": t.gettext("All accounted"),
        "help": t.gettext("NEEDS HELP"),
        "none": t.gettext("Reported, nothing counted"),
    }


AUDIT_ACTIONS = (
    # hub/login.py and hub/api.py
    N_("login (console)"),
    N_("login (page)"),
    N_("login (cli)"),
    N_("login (second factor enrolment)"),
    N_("login failed"),
    N_("login refused (rate limit)"),
    N_("login refused (users file damaged)"),
    N_("login refused (teacher's page only for teachers)"),
    N_("login refused (second factor not set up)"),
    N_("second factor failed"),
    N_("second factor refused (too many wrong codes)"),
    N_("second factor enrolled (console)"),
    N_("recovery code used"),
    N_("logout"),
    N_("relay test"),
    # hub/console_control.py
    N_("take control"),
    N_("take over control"),
    N_("release control"),
    N_("release control (logout)"),
    N_("control released (session ended)"),
    N_("control lapsed (console gone)"),
    N_("command-line action during console control"),
    # the directives, alerts, roll and devices
    N_("acknowledge alert"),
    N_("roll report"),
    N_("panic (teacher's page)"),
    N_("panic cancelled (teacher's page)"),
    N_("command republish"),
    N_("command identify"),
    N_("device cut off at the broker"),
    N_("device cut-off ended"),
    N_("device over its message budget"),
    N_("weather alert seen"),
    N_("weather alert dismissed"),
    N_("district request issued"),
    N_("district request refused"),
    # hub/console/teacher.py
    N_("enrolment link refused"),
    N_("enrolment link refused (second factor)"),
    N_("enrolment link used again"),
    N_("login (page, enrolment link)"),
    N_("teacher's sessions revoked"),
    N_("teacher added"),
    N_("teacher removed"),
    N_("teacher's enrolment link renewed"),
)
"""Every audit action the hub stores under a fixed name (tests/unit/test_console_catalogs.py
finds each one in the hub's sources), marked for the catalog."""

ISSUED = "issue "
"""hub/directives.py stores ``issue <action>``; the page names the directive by its term."""


def audit_action(t: Translations, action: str, detail: Mapping[str, Any]) -> str:
    """An audit entry's action as the page shows it; as stored if the catalog lacks it."""
    issued = "issue %(term)s"
    worded = t.gettext(issued)
    if action.startswith(ISSUED) and "seq" in detail and worded != issued:
        # translated: named by the site's term (English keeps the stored "issue lockdown")
        return worded % {"term": str(detail.get("term") or action.removeprefix(ISSUED))}
    return t.gettext(action)


DETAIL_NAMES = {
    "action": N_("action"),
    "all_accounted": N_("all accounted"),
    "by": N_("by"),
    "by_kind": N_("by kind"),
    "console": N_("console"),
    "destinations": N_("destinations"),
    "device_id": N_("device id"),
    "district": N_("district"),
    "district_user": N_("district user"),
    "drill": N_("drill"),
    "event": N_("event"),
    "event_id": N_("event id"),
    "expires": N_("expires"),
    "extra": N_("extra"),
    "from": N_("from"),
    "headline": N_("headline"),
    "help": N_("help"),
    "injured": N_("injured"),
    "missing": N_("missing"),
    "reason": N_("reason"),
    "recovery_codes_left": N_("recovery codes left"),
    "request": N_("request"),
    "role": N_("role"),
    "room": N_("room"),
    "scope": N_("scope"),
    "second_factor": N_("second factor"),
    "sessions": N_("sessions"),
    "target": N_("target"),
    "teacher": N_("teacher"),
    "term": N_("term"),
    "until": N_("until"),
    "why": N_("why"),
    "words": N_("words"),
}
"""The detail names the console translates; any other is shown as stored (``_`` as a space)."""


def details(
    t: Translations, detail: Mapping[str, Any], clock: Callable[[float], str]
) -> list[tuple[str, str]]:
    """An audit entry's detail as label/value pairs, without empty fields; the labels (and
    yes/no) in the user's language, the values as stored (times by ``clock``)."""
    pairs = []
    for key, value in detail.items():
        if value is None or value == "" or key == "issued_by":
            continue
        if key.endswith("_at") and isinstance(value, int | float):
            value = clock(value)
        elif isinstance(value, bool):
            value = t.gettext("yes") if value else t.gettext("no")
        name = DETAIL_NAMES.get(key)
        pairs.append((t.gettext(name) if name else key.replace("_", " "), str(value)))
    return pairs


PERMISSIONS = (
    N_("read"),
    N_("issue"),
    N_("release"),
    N_("acknowledge alerts"),
    N_("read the audit log"),
    N_("take control of the console"),
    N_("send commands to devices"),
    N_("send test messages to the relay's destinations"),
    N_("manage teachers' accounts and sessions"),
    N_("use the teacher's page for their rooms"),
)
"""hub.auth.Permission's values, as a 403 page names them (the test checks they match)."""


def permissions_translated(t: Translations, values: Mapping[str, Any]) -> dict[str, Any]:
    """A message's values with the permission a 403 page names in ``t``'s language; the
    others (a user name, a time) as they came."""
    return {k: t.gettext(v) if v in PERMISSIONS else v for k, v in values.items()}


def install(env: Environment, t: Translations, clock: Callable[[float], str]) -> None:
    """The filters (and teacher.js's roll words) that show these words in ``t``'s language."""
    env.filters.update(
        roll_words=lambda roll: roll_words(t, roll),
        audit_action=lambda entry: audit_action(t, entry["action"], entry["detail"]),
        details=lambda detail: details(t, detail, clock),
        translated_values=lambda values: permissions_translated(t, values),
    )
    env.globals["roll_forms"] = lambda: roll_forms(t)
