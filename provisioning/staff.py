"""Teachers' accounts from the school's staff list: ``roomcast provision staff import``.

The staff CSV has a ``name``, a ``username`` or an ``email`` (the email is then the user
name), and ``rooms`` separated by ``;``. Every row is checked before anything is written
and every problem is reported with its line number and what to do, so the office fixes
the sheet in one pass; a sheet with any problem changes nothing.

A new teacher gets no password to type: a one-time enrolment link (a random token; the
users file keeps only its SHA-256 and when it expires) that the office prints as a QR code
(:func:`enrolment_sheet`). Scanning it signs that phone in for a school year. A teacher
already on file keeps their password and sessions; only their name and rooms change.
"""

from __future__ import annotations

import csv
import difflib
import html
import io
import secrets
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import segno

from protocol.accounts import LINK_DAYS, USER_NAME, Role, enrolment_link, hash_password
from provisioning.errors import RoomImportError, UserError
from provisioning.rooms_csv import decode_csv
from provisioning.site import hub_owner, locked, open_site
from provisioning.users import load_users, now_text, save_users

MAX_NAME = 200


@dataclass(frozen=True)
class Teacher:
    line: int
    user: str
    name: str
    rooms: tuple[str, ...]


@dataclass(frozen=True)
class Link:
    """A one-time enrolment link, shown once (only its digest is stored)."""

    user: str
    name: str
    rooms: tuple[str, ...]
    token: str
    expires_at: float

    def url(self, hub_url: str) -> str:
        return f"{hub_url.rstrip('/')}/teacher/enrol#user={quote(self.user)}&token={self.token}"


@dataclass(frozen=True)
class Imported:
    added: list[Link]
    updated: list[str]


def read_staff_csv(
    path: Path, *, rooms: Collection[str], existing: dict[str, dict[str, Any]]
) -> list[Teacher]:
    """Every row checked; one error listing every problem (line: what, and the fix)."""
    try:
        text = decode_csv(path, path.read_bytes())
        reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
        header = [f.strip().lower() for f in reader.fieldnames or []]
        missing = [c for c in ("name", "rooms") if c not in header]
        if "username" not in header and "email" not in header:
            missing.append("username or email")
        if missing:
            raise RoomImportError(
                path,
                [
                    f"1: the header lacks {', '.join(missing)}; the columns are name, "
                    "username (or email) and rooms"
                ],
            )
        reader.fieldnames = header
        teachers, problems = _rows(reader, rooms, existing)
    except (OSError, csv.Error) as exc:
        raise RoomImportError(path, [f"1: cannot read the file: {exc}"]) from exc
    if problems:
        raise RoomImportError(path, problems)
    if not teachers:
        raise RoomImportError(path, ["2: no teacher in the file; add one row per teacher"])
    return teachers


def _rows(
    reader: Iterable[dict[str | None, Any]],
    rooms: Collection[str],
    existing: dict[str, dict[str, Any]],
) -> tuple[list[Teacher], list[str]]:
    teachers: list[Teacher] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        cell = {k: (v or "").strip() if isinstance(v, str) else "" for k, v in row.items() if k}
        if not any(cell.values()):
            continue
        said = _check_row(line, cell, rooms, existing, seen)
        if isinstance(said, Teacher):
            teachers.append(said)
            seen[said.user] = line
        else:
            problems += said
    return teachers, problems


def _check_row(
    line: int,
    cell: dict[str, str],
    rooms: Collection[str],
    existing: dict[str, dict[str, Any]],
    seen: dict[str, int],
) -> Teacher | list[str]:
    problems: list[str] = []
    name = cell.get("name", "")
    user = (cell.get("username") or cell.get("email", "")).lower()
    if not name:
        problems.append(f"{line}: the name is empty; write the teacher's name")
    elif len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        problems.append(f"{line}: the name is over {MAX_NAME} characters or has control characters")
    if not user:
        problems.append(f"{line}: no username or email; give one, it is how they log in")
    elif not USER_NAME.match(user):
        problems.append(
            f"{line}: user name {user!r} must be 1-64 characters of a-z, 0-9, '_', '.', '@' "
            "or '-', starting with a letter or digit"
        )
    elif user in seen:
        problems.append(f"{line}: {user} is also on line {seen[user]}; one row per teacher")
    elif user in existing and existing[user].get("role") != Role.TEACHER.value:
        problems.append(
            f"{line}: {user} is already a console user ({existing[user].get('role')}); "
            "give the teacher another user name"
        )
    listed = [r.strip().lower() for r in cell.get("rooms", "").split(";") if r.strip()]
    if not listed:
        problems.append(f"{line}: no rooms; list the teacher's rooms separated by ';' (101;102)")
    for room in listed:
        if room not in rooms:
            near = difflib.get_close_matches(room, list(rooms), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            problems.append(f"{line}: room {room!r} is not in the site's inventory{hint}")
    if problems:
        return problems
    return Teacher(line=line, user=user, name=name, rooms=tuple(dict.fromkeys(listed)))


def _new_link(teacher: Teacher, days: float) -> tuple[Link, dict[str, Any]]:
    token, stored = enrolment_link(days)
    link = Link(teacher.user, teacher.name, teacher.rooms, token, stored["expires_at"])
    return link, stored


def import_staff(site_dir: Path | str, csv_path: Path, *, link_days: float = LINK_DAYS) -> Imported:
    """Add or update every teacher of the sheet, all or nothing."""
    layout, inventory = open_site(site_dir)
    path = layout.hub.users
    with locked(layout):
        users = load_users(path)
        teachers = read_staff_csv(csv_path, rooms=inventory.rooms, existing=users)
        added, updated = [], []
        for teacher in teachers:
            old = users.get(teacher.user)
            fields = {"name": teacher.name, "rooms": list(teacher.rooms), "changed_at": now_text()}
            if old is not None:
                users[teacher.user] = old | fields
                updated.append(teacher.user)
                continue
            link, stored = _new_link(teacher, link_days)
            unknowable = hash_password(secrets.token_urlsafe(32))  # no password until one is set
            users[teacher.user] = {"role": Role.TEACHER.value, "scrypt": unknowable, "link": stored}
            users[teacher.user] |= fields
            added.append(link)
        save_users(path, users, hub_owner(inventory))
    return Imported(added=added, updated=updated)


def _teacher(users: dict[str, dict[str, Any]], user: str, path: Path) -> dict[str, Any]:
    record = users.get(user)
    if record is None or record.get("role") != Role.TEACHER.value:
        raise UserError(f"no teacher {user!r} in {path}; `staff import` adds teachers")
    return record


def new_link(site_dir: Path | str, user: str, *, link_days: float = LINK_DAYS) -> Link:
    """A fresh one-time link for a teacher (a new phone); an unused older one stops working."""
    layout, inventory = open_site(site_dir)
    with locked(layout):
        users = load_users(layout.hub.users)
        record = _teacher(users, user, layout.hub.users)
        teacher = Teacher(0, user, str(record.get("name", "")), tuple(record.get("rooms", [])))
        link, stored = _new_link(teacher, link_days)
        users[user] = record | {"link": stored, "changed_at": now_text()}
        save_users(layout.hub.users, users, hub_owner(inventory))
    return link


def revoke(site_dir: Path | str, user: str) -> None:
    """End every session of a teacher (a lost phone): the hub refuses them at the next
    request, even if it was down when this ran. The pending link is withdrawn too."""
    layout, inventory = open_site(site_dir)
    with locked(layout):
        users = load_users(layout.hub.users)
        record = _teacher(users, user, layout.hub.users)
        record = {k: v for k, v in record.items() if k != "link"}
        users[user] = record | {"factor_epoch": secrets.token_hex(8), "changed_at": now_text()}
        save_users(layout.hub.users, users, hub_owner(inventory))


def enrolment_sheet(links: Iterable[Link], hub_url: str, site: str) -> str:
    """A page the office prints: one card per teacher, a QR code of their link."""
    cards = []
    for link in links:
        url = link.url(hub_url)
        qr = segno.make(url, error="m").svg_inline(scale=4, border=2)
        expires = time.strftime("%Y-%m-%d", time.localtime(link.expires_at))
        cards.append(
            f"<section><h2>{html.escape(link.name)}</h2><p>User name: {html.escape(link.user)}"
            f"<br>Rooms: {html.escape(', '.join(link.rooms))}</p>{qr}"
            f"<p>Scan with the phone's camera on the school's Wi-Fi. Works once, until "
            f"{expires}.</p></section>"
        )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Roomcast {site}: "
        "teacher enrolment</title></head><body><h1>Roomcast teacher's page: enrolment "
        f"({html.escape(site)})</h1><p>Each code signs in one phone, once. Hand each card to "
        "its teacher; keep this sheet locked away and shred it after use.</p>"
        + "".join(cards)
        + "</body></html>"
    )
