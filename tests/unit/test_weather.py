"""CAP in: [weather] read as documented (every mistake named with the file, key and fix),
and the NWS's two formats parsed into the alerts in force for the school's codes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from hub.relay.config import load_relay_config
from hub.weather.config import FeedFormat, Proposal, load_weather_config
from hub.weather.feeds import FeedError, in_force, parse_cap_atom, parse_nws_json
from tests.weather_feed import Alert, cap_atom, nws_json
from transport.settings import ConfigError

FEED = 'url = "https://api.weather.gov/alerts/active?zone=TXZ192"\n'
CODES = frozenset({"TXZ192", "TXC453", "048453"})


def weather(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_or_no_table_means_no_weather(tmp_path: Path) -> None:
    assert load_weather_config(tmp_path / "relay.toml") is None
    assert load_weather_config(weather(tmp_path, "poll_s = 1\n")) is None


def test_defaults_and_the_codes_of_site_geocode_reused(tmp_path: Path) -> None:
    path = weather(
        tmp_path,
        '[site.geocode]\nUGC = ["TXZ192", "TXC453"]\nSAME = "048453"\n[weather]\n' + FEED,
    )
    config = load_weather_config(path)
    assert config is not None
    assert config.format is FeedFormat.NWS_JSON and config.poll_s == 60
    assert config.zones == CODES
    assert config.events["Tornado Warning"] == Proposal(
        action="shelter", hazard="tornado", strategy="Go to the shelter area"
    )
    assert config.events["Civil Danger Warning"].action == "secure"
    assert config.events["Hazardous Materials Warning"].strategy == "Seal the room"


def test_a_table_of_weather_alone_is_no_relay(tmp_path: Path) -> None:
    """A school may want banners before it has any hand-off destination."""
    path = weather(tmp_path, '[weather]\nzones = ["TXZ192"]\n' + FEED)
    assert load_relay_config(path) is None
    assert load_weather_config(path) is not None


def test_the_district_strategy_and_its_own_events(tmp_path: Path) -> None:
    path = weather(
        tmp_path,
        '[weather]\nzones = ["TXZ192"]\ntornado_strategy = "To the gym hallway"\n'
        + FEED
        + '[weather.events."Extreme Wind Warning"]\n'
        + 'action = "shelter"\nhazard = "wind"\nstrategy = "Interior rooms"\n',
    )
    config = load_weather_config(path)
    assert config is not None
    assert config.events["Tornado Warning"].strategy == "To the gym hallway"
    assert config.events["Extreme Wind Warning"] == Proposal(
        action="shelter", hazard="wind", strategy="Interior rooms"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[weather]\nzones = ["TXZ192"]\nurl = "http://feed.example.org/"\n', "weather.url"),
        ('[weather]\nzones = ["TXZ192"]\n' + FEED + 'format = "rss"\n', "weather.format"),
        ('[weather]\nzones = ["TXZ192"]\n' + FEED + "poll_s = 5\n", "weather.poll_s"),
        ("[weather]\n" + FEED, "weather.zones"),
        ('[weather]\nzones = ["Travis"]\n' + FEED, "weather.zones"),
        (
            '[weather]\nzones = ["TXZ192"]\n' + FEED + '[weather.events.X]\naction = "lockdown"\n',
            "weather.events.X.action",
        ),
        (
            '[weather]\nzones = ["TXZ192"]\n' + FEED + '[weather.events.X]\naction = "shelter"\n',
            "weather.events.X.hazard",
        ),
    ],
)
def test_every_mistake_names_the_file_and_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = weather(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_weather_config(path)
    assert str(error.value).startswith(f"{path}: {named}:")


def test_http_is_allowed_on_loopback_only(tmp_path: Path) -> None:
    path = weather(tmp_path, '[weather]\nzones = ["TXZ192"]\nurl = "http://127.0.0.1:9/a"\n')
    assert load_weather_config(path) is not None


def feed_alerts() -> list[Alert]:
    return [
        Alert(id="urn:oid:ours"),
        Alert(id="urn:oid:elsewhere", ugc=("OKZ001",), same=("040001",)),
        Alert(id="urn:oid:expired", expires_in=-60),
        Alert(id="urn:oid:cancelled"),
        Alert(id="urn:oid:cancel", msg_type="Cancel", references=("urn:oid:cancelled",)),
        Alert(id="urn:oid:test", status="Test"),
    ]


def test_nws_json_keeps_what_is_in_force_for_the_school() -> None:
    alerts = parse_nws_json(nws_json(feed_alerts()))
    assert [a.id for a in in_force(alerts, CODES, time.time())] == ["urn:oid:ours"]
    ours = alerts[0]
    assert ours.event == "Tornado Warning" and ours.codes == {"TXZ192", "048453"}
    assert ours.expires is not None and ours.expires > time.time()


def test_cap_atom_entries_and_embedded_cap_alerts_alike() -> None:
    body = cap_atom(feed_alerts(), embedded=(Alert(id="embedded", ugc=("TXC453",)),))
    alerts = parse_cap_atom(body)
    kept = [a.id for a in in_force(alerts, CODES, time.time())]
    assert kept == ["urn:oid:ours", "embedded"]
    assert alerts[-1].headline.startswith("Tornado Warning issued")


def test_an_update_replaces_what_it_references() -> None:
    alerts = [Alert(id="first"), Alert(id="second", msg_type="Update", references=("first",))]
    for parsed in (parse_nws_json(nws_json(alerts)), parse_cap_atom(cap_atom(alerts))):
        assert [a.id for a in in_force(parsed, CODES, time.time())] == ["second"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed>&a;</feed>',
        "<feed/>".encode("utf-16"),
        b"<feed><entry>",
    ],
)
def test_hostile_or_broken_xml_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_cap_atom(body)


@pytest.mark.parametrize("body", [b"", b"[]", b'{"features": 1}', b"\xff", b"[" * 100_000])
def test_broken_json_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_nws_json(body)


def test_odd_fields_are_bounded_not_trusted() -> None:
    document = {"features": [{"properties": {"id": 5, "event": "x" * 5000, "geocode": []}}, 3]}
    (alert,) = parse_nws_json(json.dumps(document).encode())
    assert alert.id == "" and len(alert.event) == 1000 and alert.codes == frozenset()


def test_the_documented_example_loads(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "integrations.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```toml\n(.*?)```", text, re.DOTALL) if "[weather]" in b]
    config = load_weather_config(weather(tmp_path, example))
    assert config is not None and config.zones == CODES
    assert config.events["Extreme Wind Warning"].hazard == "wind"
    assert config.events["Tornado Warning"].strategy.startswith("To the interior")
