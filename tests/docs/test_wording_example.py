"""docs/wording.example.toml is a wording file the hub and the nodes accept."""

from __future__ import annotations

from pathlib import Path

from device.fonts import check_wording
from protocol.srp import Action
from transport.wording_file import load_wording_file

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "wording.example.toml"


def test_the_example_wording_loads_and_every_text_has_a_font() -> None:
    wording = load_wording_file(EXAMPLE)
    assert wording.codes == ("en", "es")
    assert wording.unchecked == ("es",)  # until the district has read it
    spanish = wording.languages[1]
    assert spanish[Action.LOCKDOWN].term == "LOCKDOWN"  # SRP's term stays
    assert spanish.location("GYM") == "Gimnasio"
    check_wording(wording)
