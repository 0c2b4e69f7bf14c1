"""The device's own config keys, checked before the node starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.config import ConfigError, load_device_config
from tests.device.test_cli import device_config


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
