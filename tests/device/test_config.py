"""The device's own config keys, checked before the node starts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from device.config import ConfigError, load_device_config
from protocol.signing import BadSignature, sign, verify
from protocol.srp import Action
from tests.device.test_cli import device_config
from tests.unit.factories import directive


def with_window(tmp_path: Path, key: Ed25519PrivateKey, window: object) -> Path:
    path = device_config(tmp_path, key, {})
    body = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(body | {"cancel_window_s": window}), encoding="utf-8")
    return path


@pytest.mark.parametrize("window", [0, 4.9, 601, -60, 1e9])
def test_a_cancel_window_out_of_range_is_refused_naming_the_key(
    tmp_path: Path, hub_key: Ed25519PrivateKey, window: float
) -> None:
    path = with_window(tmp_path, hub_key, window)
    with pytest.raises(ConfigError) as caught:
        load_device_config(path)
    assert str(caught.value).startswith(f"{path}: cancel_window_s: ")
    assert "5..600 s" in str(caught.value)


@pytest.mark.parametrize("window", [5, 60, 90.5, 600])
def test_a_cancel_window_in_range_is_kept(
    tmp_path: Path, hub_key: Ed25519PrivateKey, window: float
) -> None:
    assert load_device_config(with_window(tmp_path, hub_key, window)).cancel_window_s == window


def test_the_cancel_window_defaults_to_a_minute(tmp_path: Path, hub_key: Ed25519PrivateKey) -> None:
    assert load_device_config(device_config(tmp_path, hub_key, {})).cancel_window_s == 60.0


def test_the_hub_key_file_is_read_as_the_key_the_hub_signs_with(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    """The node reads the bundle's PEM without cryptography (PyNaCl verifies): the same
    32 key bytes, and a directive the hub signed with cryptography verifies."""
    loaded = load_device_config(device_config(tmp_path, hub_key, {})).hub_public_key
    assert loaded.public_bytes_raw() == hub_key.public_key().public_bytes_raw()
    verify(sign(directive(seq=3), hub_key), loaded)
    with pytest.raises(BadSignature):
        verify(sign(directive(seq=3), Ed25519PrivateKey.generate()), loaded)


def public_pem(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        (lambda: public_pem(X25519PrivateKey.generate()), "is not an Ed25519 key"),
        (lambda: public_pem(Ed448PrivateKey.generate()), "is not an Ed25519 key"),
        (lambda: public_pem(ec.generate_private_key(ec.SECP256R1())), "is not an Ed25519 key"),
        (
            lambda: Ed25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            ),
            "is not a PEM public key",
        ),
        (lambda: b"-----BEGIN PUBLIC KEY-----\nnot*base64\n-----END PUBLIC KEY-----\n", "PEM"),
        (lambda: b"hello", "is not a PEM public key"),
    ],
)
def test_a_hub_key_file_that_is_not_an_ed25519_public_key_is_refused(
    tmp_path: Path, hub_key: Ed25519PrivateKey, pem: Callable[[], bytes], says: str
) -> None:
    path = device_config(tmp_path, hub_key, {})
    (tmp_path / "hub.pub").write_bytes(pem())
    with pytest.raises(ConfigError, match=says) as caught:
        load_device_config(path)
    assert str(caught.value).startswith(f"{path}: hub_public_key: ")


def test_a_hub_key_file_with_crlf_and_text_around_it_still_loads(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    path = device_config(tmp_path, hub_key, {})
    pem = public_pem(hub_key).replace(b"\n", b"\r\n")
    (tmp_path / "hub.pub").write_bytes(b"hub signing key\r\n" + pem)
    loaded = load_device_config(path).hub_public_key
    assert loaded.public_bytes_raw() == hub_key.public_key().public_bytes_raw()


def test_a_simulated_node_says_so_on_its_screen_and_in_its_firmware(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    config = load_device_config(device_config(tmp_path, hub_key, {"simulated": True}))
    assert config.simulated and not config.hardware
    assert config.firmware.endswith(" SIMULATED")
    real = load_device_config(device_config(tmp_path, hub_key, {"pin_factory": "mock"}))
    assert not real.simulated
    assert "SIMULATED" not in real.firmware
    # The screen marks a simulator by the flag (test_screen.py), so the label is the room's.
    assert config.room_label == real.room_label == "Science Lab"


def test_a_simulated_node_with_parts_is_refused(tmp_path: Path, hub_key: Ed25519PrivateKey) -> None:
    path = device_config(tmp_path, hub_key, {"simulated": True, "buttons": []})
    with pytest.raises(ConfigError, match=r"hardware: a simulated node has no parts.*buttons"):
        load_device_config(path)


def with_wording(tmp_path: Path, key: Ed25519PrivateKey, wording: object) -> Path:
    path = device_config(tmp_path, key, {})
    body = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(body | {"wording": wording}), encoding="utf-8")
    return path


def test_a_node_shows_english_only_without_a_wording_key(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    assert load_device_config(device_config(tmp_path, hub_key, {})).wording.codes == ("en",)


def test_the_sites_wording_comes_inline_from_the_bundle_or_from_a_file(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    inline = with_wording(tmp_path, hub_key, {"languages": ["en", "es"]})
    assert load_device_config(inline).wording.codes == ("en", "es")
    (tmp_path / "wording.toml").write_text(
        'languages = ["es", "en"]\n[es.lockdown]\nterm = "ENCIERRO"\n', encoding="utf-8"
    )
    from_file = load_device_config(with_wording(tmp_path, hub_key, "wording.toml")).wording
    assert from_file.codes == ("es", "en")
    assert from_file.first[Action.LOCKDOWN].term == "ENCIERRO"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('languages = ["en", "es"]\n[es.lockdown]\nterm = 3\n', "wording.toml: es.lockdown.term:"),
        ('languages = ["en"\n', "wording.toml: not valid TOML"),
    ],
)
def test_a_broken_wording_file_stops_the_node_naming_the_file_and_key(
    tmp_path: Path, hub_key: Ed25519PrivateKey, text: str, where: str
) -> None:
    (tmp_path / "wording.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / where[:12]}")) as caught:
        load_device_config(with_wording(tmp_path, hub_key, "wording.toml"))
    assert where in str(caught.value)


def test_a_broken_inline_wording_names_the_config_and_key(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    path = with_wording(tmp_path, hub_key, {"languages": ["en", "es"], "es": {"hold": []}})
    with pytest.raises(ConfigError, match=re.escape(f"{path}: wording: es.hold: must be a table")):
        load_device_config(path)
    missing = with_wording(tmp_path, hub_key, "nowhere.toml")
    with pytest.raises(ConfigError, match=r"nowhere\.toml: no such file"):
        load_device_config(missing)
