"""The console's and the teacher's page's own words in each user's language (gettext).

The templates mark their words (``{% trans %}``, ``_()``: jinja2.ext.i18n, new style, so
a translation is autoescaped and fills ``%(name)s`` itself); the catalogs are
``locale/<lang>/LC_MESSAGES/console.po``. There are no compiled ``.mo`` files in the
repository or the package: each catalog is compiled from its ``.po`` in memory when the
console starts (Babel), so a fresh ``pip install -e .`` and an edited ``.po`` both work
without a build step, and a binary file can never drift from its source.

SRP's terms (HOLD, SECURE, LOCKDOWN, EVACUATE, SHELTER) and the directive texts are not
in the catalogs: they come from the site's wording (protocol/languages.py), which is what
every room's display and PA says.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hub.user_language import DEFAULT, LANGUAGES

LOCALE = Path(__file__).parent / "locale"
DOMAIN = "console"


Words = tuple[str, dict[str, str]]
"""A message for a page to translate (a template says ``_(w[0], **w[1])``) and its values."""


def N_(message: str) -> str:  # gettext's usual name for "marked for the catalog"
    """Marks a word for the catalog; the template translates it where it is shown."""
    return message


def catalog_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(language: str) -> gettext.NullTranslations:
    """The language's translations; English (the words in the templates) needs none."""
    if language == DEFAULT:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def all_translations() -> dict[str, gettext.NullTranslations]:
    return {language: load(language) for language in LANGUAGES}


def browser_language(accept_language: str) -> str:
    """The language for a page shown before anyone has logged in (the login page): the
    first of ours the browser asks for (``Accept-Language``, by its q-values), else English.

    No user is known there, so the user's own language (users.json) cannot decide yet."""
    asked: list[tuple[float, int, str]] = []
    for order, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue  # a malformed entry says nothing
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            asked.append((-quality, order, primary))
    return min(asked)[2] if asked else DEFAULT
