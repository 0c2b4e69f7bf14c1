"""A site's display languages and its wording in each: ``wording.toml``, checked strictly.

English is SRP's own wording. The Spanish shipped here is Roomcast's translation, not the
Foundation's nor the district's: a district must read it and mark it checked
(``checked = true`` under ``[es]``) before it goes on classroom walls, and until it does,
the hub and every node say so in their logs. It keeps SRP's five terms (HOLD, SECURE,
LOCKDOWN, EVACUATE, SHELTER) as SRP says them and translates the directive under each:
the term is the word every room hears on the PA and responders know, the same in every
language; a district whose plan translates the terms too sets them (``[es.lockdown]``
``term = ...``). Roomcast's own screen words (All clear, Released, Standby) are
translated. Any other language is the district's own:
its file gives every term, directive text and phrase.

The parser is pure (no files): callers hand it the decoded TOML or JSON and the name of
the file it came from, so every error names the file and the key, e.g.
``/etc/roomcast/wording.toml: es.lockdown.term: must be text, not 3``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType

from protocol.srp import DEFAULT_WORDING, Action, Phrases, Vocabulary, fold, parse_action

MAX_LANGUAGES = 4
"""A display pages through every language; more than four would keep a room waiting."""
MAX_TEXT = 200
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")

SPANISH = Vocabulary(
    wording=MappingProxyType(
        {
            Action.HOLD: replace(
                DEFAULT_WORDING[Action.HOLD],
                directive="En su salón o área. Despejen los pasillos.",
            ),
            Action.SECURE: replace(
                DEFAULT_WORDING[Action.SECURE],
                directive="Entren al edificio. Cierren las puertas exteriores.",
            ),
            Action.LOCKDOWN: replace(
                DEFAULT_WORDING[Action.LOCKDOWN],
                directive="Cerrar con llave, apagar luces, fuera de la vista.",
            ),
            Action.EVACUATE: replace(DEFAULT_WORDING[Action.EVACUATE], directive="A un lugar."),
            Action.SHELTER: replace(
                DEFAULT_WORDING[Action.SHELTER],
                directive="Indiquen el peligro y la estrategia de seguridad.",
            ),
            Action.ALL_CLEAR: replace(
                DEFAULT_WORDING[Action.ALL_CLEAR],
                term="TODO DESPEJADO",
                directive="Reanuden la actividad normal.",
            ),
            Action.RELEASE: replace(
                DEFAULT_WORDING[Action.RELEASE],
                term="LIBERADO",
                directive="Confinamiento terminado en este salón. Sigan al personal.",
            ),
        }
    ),
    language="es",
    phrases=Phrases(
        evacuate="Hacia: {location}",
        shelter="Por {hazard}:",
        strategy="{strategy}.",
        standby_term="EN ESPERA",
        standby="Esperando a la oficina.",
    ),
    hazards=MappingProxyType(
        {
            "tornado": "tornado",
            "hazmat": "materiales peligrosos",
            "earthquake": "terremoto",
            "tsunami": "tsunami",
        }
    ),
    strategies=MappingProxyType(
        {
            fold("Go to the shelter area"): "Vayan al área de refugio",
            fold("Seal the room"): "Sellen el salón",
            fold("Drop, cover and hold"): "Agáchense, cúbranse y sujétense",
            fold("Get to high ground"): "Vayan a terreno alto",
        }
    ),
)

SHIPPED: Mapping[str, Vocabulary] = MappingProxyType({"en": Vocabulary(), "es": SPANISH})
"""Languages with wording shipped; a district's file may override any of it."""
DISTRICT_TO_CHECK = frozenset({"es"})
"""Shipped translations a district must check (``checked = true``) before relying on."""

_TRANSLATIONS = ("locations", "hazards", "strategies")
_PLACEHOLDERS = {"evacuate": "location", "shelter": "hazard", "strategy": "strategy"}


class WordingError(ValueError):
    """A wording file is wrong; the message names the file, the key and what to do."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source, self.key = source, key


@dataclass(frozen=True)
class SiteWording:
    """A site's display languages in order, each worded; the first is the site's own
    (the office types in it, and signs, email and webhooks use it)."""

    languages: tuple[Vocabulary, ...] = (Vocabulary(),)
    unchecked: tuple[str, ...] = ()
    """Languages shown with shipped wording the district has not marked checked."""

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("a site shows at least one language")

    @property
    def first(self) -> Vocabulary:
        return self.languages[0]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.language for v in self.languages)


def parse_wording(data: Mapping[str, object], source: str) -> SiteWording:
    """The site's wording from a decoded ``wording.toml`` (or the same object in JSON)."""
    codes = _languages(data.get("languages", ["en"]), source)
    unknown = sorted(set(data) - {"languages", *codes})
    if unknown:
        raise WordingError(
            source,
            unknown[0],
            f"is not a language of this site (languages = {list(codes)}); "
            "add it to languages or remove its table",
        )
    worded, unchecked = [], []
    for code in codes:
        table = _table(data.get(code, {}), source, code)
        checked = table.pop("checked", False)
        if not isinstance(checked, bool):
            raise WordingError(source, f"{code}.checked", "must be true or false")
        worded.append(_language(code, table, source))
        if code in DISTRICT_TO_CHECK and not checked:
            unchecked.append(code)
    return SiteWording(tuple(worded), tuple(unchecked))


def _languages(value: object, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_LANGUAGES:
        raise WordingError(
            source, "languages", f'must list 1 to {MAX_LANGUAGES} language codes, e.g. ["en", "es"]'
        )
    for n, code in enumerate(value):
        if not isinstance(code, str) or not LANGUAGE.match(code):
            raise WordingError(
                source,
                f"languages[{n}]",
                f'{code!r} is not a language code such as "es" or "zh-hans"',
            )
    if len(set(value)) != len(value):
        raise WordingError(source, "languages", "names a language twice")
    return tuple(value)


def _table(value: object, source: str, key: str) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise WordingError(source, key, f"must be a table, not {value!r}")
    return dict(value)


def _language(code: str, table: dict[str, object], source: str) -> Vocabulary:
    base = SHIPPED.get(code)
    vocabulary = base or Vocabulary(language=code)
    overrides: dict[str, dict[str, str]] = {}
    translations: dict[str, Mapping[str, str]] = {}
    phrases = vocabulary.phrases
    for key, value in table.items():
        where = f"{code}.{key}"
        if key == "phrases":
            phrases = _phrases(phrases, _table(value, source, where), source, where, base is None)
        elif key in _TRANSLATIONS:
            given = _texts(_table(value, source, where), source, where)
            current = getattr(vocabulary, key)
            translations[key] = MappingProxyType(
                {**current, **{fold(k): v for k, v in given.items()}}
            )
        else:
            try:
                action = parse_action(key)
            except ValueError:
                raise WordingError(
                    source,
                    where,
                    "is not an action (hold, secure, lockdown, evacuate, shelter, all_clear, "
                    "release), phrases, locations, hazards, strategies or checked",
                ) from None
            fields_ = _texts(_table(value, source, where), source, where)
            extra = sorted(set(fields_) - {"term", "directive"})
            if extra:
                raise WordingError(source, f"{where}.{extra[0]}", "only term and directive")
            overrides[action.value] = fields_
    if base is None:
        for action in Action:
            for part in ("term", "directive"):
                if part not in overrides.get(action.value, {}):
                    raise WordingError(
                        source,
                        f"{code}.{action.value}.{part}",
                        f"missing: Roomcast ships no wording in {code!r}, so the file "
                        "gives every term and directive",
                    )
    worded = vocabulary.with_overrides(overrides)
    return replace(worded, phrases=phrases, **translations)  # type: ignore[arg-type]


def _phrases(
    current: Phrases, table: dict[str, object], source: str, where: str, required: bool
) -> Phrases:
    names = {f.name for f in fields(Phrases)}
    given = _texts(table, source, where)
    for key, text in given.items():
        if key not in names:
            raise WordingError(source, f"{where}.{key}", f"unknown phrase; one of {sorted(names)}")
        wanted = {_PLACEHOLDERS[key]} if key in _PLACEHOLDERS else set()
        if _placeholders(text, source, f"{where}.{key}") != wanted:
            shown = ", ".join("{" + w + "}" for w in sorted(wanted)) or "no {...}"
            raise WordingError(source, f"{where}.{key}", f"must contain {shown}, exactly once")
    if required:
        missing = sorted(names - set(given))
        if missing:
            raise WordingError(
                source, f"{where}.{missing[0]}", "missing: a new language gives every phrase"
            )
    return replace(current, **given)


def _placeholders(text: str, source: str, key: str) -> set[str]:
    try:
        found = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as error:
        raise WordingError(source, key, f"{error}; write a literal brace as {{{{ or }}}}") from None
    if len(found) != len(set(found)):
        raise WordingError(source, key, "repeats a {...}")
    return set(found)


def _texts(table: dict[str, object], source: str, where: str) -> dict[str, str]:
    """Every value is display text: a string, 1 to 200 characters, no control characters;
    normalised to NFC, so a composed and a decomposed é are the same glyph on the panel."""
    checked = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise WordingError(source, f"{where}.{key}", f"must be text, not {value!r}")
        text = unicodedata.normalize("NFC", value.strip())
        if not text or len(text) > MAX_TEXT:
            raise WordingError(source, f"{where}.{key}", f"must be 1 to {MAX_TEXT} characters")
        if any(unicodedata.category(c)[0] == "C" for c in text):
            raise WordingError(source, f"{where}.{key}", "contains a control character")
        checked[key] = text
    return checked
