"""Named groups of schools in district.json: made and removed with the CLI, checked on
every read with messages naming the file and the key, and kept true when a school goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioning.cli import main
from provisioning.district import DistrictError, add_school, init_district, open_district
from provisioning.district_config import NatsNode

NODES = [NatsNode(name="n1", host="10.9.0.1", client_port=4222, cluster_port=6222, mqtt_port=8883)]


@pytest.fixture
def district(tmp_path: Path) -> Path:
    layout = init_district(tmp_path / "d", "metro", NODES)
    for site in ("lincoln", "adams", "grant"):
        add_school(layout.root, site)
    return layout.root


def run(capsys: pytest.CaptureFixture[str], district: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["provision", "district", *argv, "--district-dir", str(district)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_group_is_set_listed_and_removed(
    district: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, district, "group", "set", "near-elm", "--school", "lincoln",
                       "--school", "adams", "--school", "lincoln")  # fmt: skip
    assert code == 0 and "near-elm" in out
    assert open_district(district)[1].groups == {"near-elm": ("lincoln", "adams")}
    run(capsys, district, "group", "set", "north", "--school", "grant")
    code, out, _ = run(capsys, district, "group", "list")
    assert out.splitlines() == ["near-elm: lincoln, adams", "north: grant"]
    code, out, _ = run(capsys, district, "group", "list", "--json")
    assert json.loads(out) == {"near-elm": ["lincoln", "adams"], "north": ["grant"]}
    code, out, _ = run(capsys, district, "group", "remove", "north")
    assert code == 0 and list(open_district(district)[1].groups) == ["near-elm"]
    code, _, err = run(capsys, district, "group", "remove", "north")
    assert code == 2 and "no group 'north' in this district (groups: near-elm)" in err


def test_the_cli_refuses_an_unknown_school_and_a_bad_name_naming_the_key(
    district: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, district, "group", "set", "near-elm", "--school", "nowhere")
    assert code == 2
    assert "district.json: groups.near-elm: unknown school 'nowhere'" in err
    assert "(schools: adams, grant, lincoln)" in err
    code, _, err = run(capsys, district, "group", "set", "Near Elm", "--school", "adams")
    assert code == 2 and "groups: bad group name: group id 'Near Elm' must be" in err
    assert open_district(district)[1].groups == {}


@pytest.mark.parametrize(
    ("groups", "says"),
    [
        ({"near-elm": ["lincoln", "nowhere"]}, "groups.near-elm: unknown school 'nowhere'"),
        ({"near-elm": []}, "groups.near-elm: empty group; give it a school or remove the group"),
        ({"Near.Elm": ["lincoln"]}, "groups: bad group name: group id 'Near.Elm'"),
        ({"near-elm": "lincoln"}, "groups.near-elm: must be a list of school ids"),
        (["lincoln"], "groups: must be an object of group name -> school ids"),
    ],
)
def test_a_bad_groups_key_in_the_file_is_refused_naming_the_file_and_key(
    district: Path, groups: object, says: str
) -> None:
    record = district / "district.json"
    data = json.loads(record.read_text(encoding="utf-8"))
    record.write_text(json.dumps(data | {"groups": groups}), encoding="utf-8")
    with pytest.raises(DistrictError) as caught:
        open_district(district)
    assert str(caught.value).startswith(f"{record}: {says}")


def test_removing_a_school_takes_it_out_of_its_groups_and_says_so(
    district: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, district, "group", "set", "near-elm", "--school", "lincoln", "--school", "adams")
    run(capsys, district, "group", "set", "solo", "--school", "adams")
    code, out, _ = run(capsys, district, "remove-school", "adams")
    assert code == 0
    assert "removed from group 'near-elm' (now: lincoln)" in out
    assert "group 'solo' had only this school and is removed" in out
    assert open_district(district)[1].groups == {"near-elm": ("lincoln",)}
