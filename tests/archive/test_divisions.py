"""The shipped division tree, pre-2018 code mapping, and the township/village import."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from archive.models import Division
from core.divisions import CURRENT_COUNTIES, current_county


def test_changzhi_ships_with_its_twelve_current_counties():
    assert len(CURRENT_COUNTIES) == 12


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("140402", "140403"),
        ("140411", "140403"),
        ("140421", "140404"),
        ("140424", "140405"),
        ("140481", "140406"),
    ],
)
def test_pre_2018_codes_map_to_their_successor(old, new):
    assert current_county(old + "100") == new


def test_current_code_maps_to_itself():
    assert current_county("140425") == "140425"


@pytest.mark.django_db
def test_divisions_are_loaded_by_migration():
    assert Division.objects.get(code="140425").parent_id == "140400"
    assert Division.objects.get(code="140402").successor_id == "140403"


@pytest.mark.django_db
def test_townships_and_villages_import_from_csv(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text(
        "区划代码,名称\n140425100,青羊镇\n140425100201,青羊村\n140402001,旧城区街道\n",
        encoding="utf-8",
    )
    call_command("import_divisions", str(csv))
    assert Division.objects.get(code="140425100201").parent_id == "140425100"
    assert Division.objects.get(code="140402001").parent_id == "140403"


@pytest.mark.django_db
def test_division_import_with_an_unknown_parent_writes_nothing(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("区划代码,名称\n140425100,青羊镇\n140425999201,无上级村\n", encoding="utf-8")
    with pytest.raises(CommandError, match="上级区划 140425999 不存在"):
        call_command("import_divisions", str(csv))
    assert not Division.objects.filter(code="140425100").exists()


@pytest.mark.django_db
def test_division_import_rejects_a_bad_code(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("区划代码,名称\n1404251,短码\n", encoding="utf-8")
    with pytest.raises(CommandError, match="应为9位"):
        call_command("import_divisions", str(csv))


@pytest.mark.django_db
def test_division_names_maps_known_codes_and_skips_blank_and_unknown_ones():
    assert Division.objects.names(["140425", "", "140425999"]) == {"140425": "平顺县"}
    assert Division.objects.names([]) == {}


@pytest.mark.django_db
def test_counties_within_a_city_are_its_current_counties_only():
    counties = {d.code for d in Division.objects.counties_within("1404")}
    assert "140425" in counties and "140402" not in counties  # 140402 was merged in 2018
    assert all(code.startswith("1404") for code in counties)
    assert not Division.objects.counties_within(None).exists()
