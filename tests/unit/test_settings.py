"""Settings files: every ConfigError names the file and the key, and says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from transport.endpoint import BrokerEndpoint, TlsFiles
from transport.settings import ConfigError, Settings

SOURCE = Path("/etc/roomcast/device.json")


def parse(text: str) -> Settings:
    return Settings.parse(text, SOURCE)


def test_wrong_type_names_the_file_and_the_key() -> None:
    settings = parse('{"broker": {"host": "hub", "port": "1883"}}')
    with pytest.raises(ConfigError) as caught:
        settings.get("broker.port", int)
    assert str(caught.value) == "/etc/roomcast/device.json: broker.port: must be int, not str"


def test_bool_is_not_an_int() -> None:
    with pytest.raises(ConfigError, match=r"port: must be int, not bool$"):
        parse('{"port": true}').get("port", int)


def test_float_setting_accepts_an_int() -> None:
    value = parse('{"cancel_window_s": 30}').get("cancel_window_s", float)
    assert value == 30.0
    assert type(value) is float


def test_float_setting_rejects_a_bool_and_a_string() -> None:
    settings = parse('{"a": true, "b": "3"}')
    with pytest.raises(ConfigError, match=r"a: must be float, not bool$"):
        settings.get("a", float)
    with pytest.raises(ConfigError, match=r"b: must be float, not str$"):
        settings.get("b", float)


def test_missing_key_is_named_and_default_is_used_when_given() -> None:
    settings = parse('{"broker": {}}')
    with pytest.raises(ConfigError) as caught:
        settings.get("broker.host", str)
    assert str(caught.value).startswith("/etc/roomcast/device.json: broker.host: missing")
    assert settings.get("broker.host", str, "localhost") == "localhost"
    assert settings.get("nothing.here", int, 7) == 7


def test_invalid_json_reports_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse('{\n  "site": "lincoln",\n  "room": 101,,\n}')
    message = str(caught.value)
    assert message.startswith("/etc/roomcast/device.json: line 3 column 15: not valid JSON (")


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(ConfigError, match=r"device\.json: the top level must be a JSON object$"):
        parse("[1, 2]")


def test_missing_file_names_the_file_and_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as caught:
        Settings.load(path, missing_hint="install the device bundle first")
    assert str(caught.value) == f"{path}: no such file; install the device bundle first"


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"site": "\xff"}')
    with pytest.raises(ConfigError, match=f"^{path}: cannot read it"):
        Settings.load(path, missing_hint="-")


def test_load_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "device.json"
    path.write_text('{"site": "lincoln"}', encoding="utf-8")
    settings = Settings.load(path, missing_hint="-")
    assert settings.source == path
    assert settings.get("site", str) == "lincoln"


def test_level_names_the_key_of_an_invalid_id() -> None:
    with pytest.raises(ConfigError) as caught:
        parse('{"room": "Room 1"}').level("room", "room")
    assert str(caught.value).startswith("/etc/roomcast/device.json: room: room id 'Room 1' must")
    assert parse('{"room": "room-1"}').level("room", "room") == "room-1"


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    settings = Settings.parse('{"state_dir": "state"}', tmp_path / "device.json")
    assert settings.path("state_dir") == tmp_path / "state"
    assert settings.path("other", "default") == tmp_path / "default"


def test_existing_file_names_the_missing_path(tmp_path: Path) -> None:
    settings = Settings.parse('{"key": "hub.pem"}', tmp_path / "device.json")
    with pytest.raises(ConfigError) as caught:
        settings.existing_file("key")
    assert str(caught.value) == (
        f"{tmp_path / 'device.json'}: key: {tmp_path / 'hub.pem'} does not exist; "
        "reinstall the bundle or fix the path"
    )


def test_broker_without_tls() -> None:
    endpoint = parse('{"broker": {"host": "hub.local", "port": 1883}}').broker()
    assert endpoint == BrokerEndpoint(host="hub.local", port=1883)
    assert endpoint.describe() == "mqtt://hub.local:1883"


def test_broker_with_tls(tmp_path: Path) -> None:
    for name in ("ca.pem", "dev.crt", "dev.key"):
        (tmp_path / name).write_text("x")
    text = (
        '{"broker": {"host": "hub", "port": 8883, '
        '"tls": {"ca": "ca.pem", "cert": "dev.crt", "key": "dev.key"}}}'
    )
    endpoint = Settings.parse(text, tmp_path / "device.json").broker()
    assert endpoint.tls == TlsFiles(
        ca=tmp_path / "ca.pem", cert=tmp_path / "dev.crt", key=tmp_path / "dev.key"
    )
    assert endpoint.describe() == "mqtts://hub:8883"


@pytest.mark.parametrize(
    ("broker", "problem"),
    [
        ('{"host": "hub", "port": 70000}', "broker: broker port 70000 is not a TCP port"),
        ('{"host": "", "port": 1883}', "broker: broker host is empty"),
        ('{"host": "hub", "port": 1883.0}', "broker.port: must be int, not float"),
        ('{"port": 1883}', "broker.host: missing"),
    ],
)
def test_broker_errors_name_the_key(broker: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(f'{{"broker": {broker}}}').broker()
    assert str(caught.value).startswith(f"/etc/roomcast/device.json: {problem}")
