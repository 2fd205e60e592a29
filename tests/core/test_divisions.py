"""Division-code arithmetic (core.divisions): the one place that cuts a code apart."""

from __future__ import annotations

import pytest

from core.divisions import (
    city_of,
    county_of,
    covering_codes,
    division_contains,
    division_prefix,
    province_of,
    township_of,
    village_of,
)
from tests.helpers import source_matches


@pytest.mark.parametrize("code", ["140425", "140425100", "140425100200"])
def test_county_of_is_the_first_six_digits(code: str) -> None:
    assert county_of(code) == "140425"


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("140000", "14"),
        ("140400", "1404"),
        ("140425", "140425"),
        ("140425100", "140425100"),
        ("140425000", "140425"),
        ("140425100000", "140425100"),
        ("140425100200", "140425100200"),
    ],
)
def test_division_prefix_drops_the_zero_padding_of_higher_levels(code: str, prefix: str) -> None:
    assert division_prefix(code) == prefix


@pytest.mark.parametrize(
    ("division", "code", "inside"),
    [
        ("140000", "140425100200", True),
        ("140400", "140425", True),
        ("140425", "140425100", True),
        ("140425", "140426", False),
        ("140400", "140525", False),
        ("140000", "150425", False),
    ],
)
def test_division_contains_any_lower_level_code(division: str, code: str, inside: bool) -> None:
    assert division_contains(division, code) is inside


def test_city_and_province_of_a_county_township_or_village() -> None:
    for code in ("140425", "140425100", "140425100200"):
        assert (city_of(code), province_of(code)) == ("140400", "140000")


@pytest.mark.parametrize(
    ("code", "county", "township"),
    [
        ("140425100200", "", "140425100"),
        ("140425100", "140425", "140425100"),
        ("140425", "", ""),
        ("140426100201", "140425", ""),
        (" 140425 100 201 ", "", "140425100"),
        ("１４０４２５１００", "", ""),  # full-width digits are no code
        (None, "", ""),
    ],
)
def test_township_of_is_the_nine_digit_prefix_within_the_county(code, county, township) -> None:
    assert township_of(code, county) == township


def test_village_of_only_for_twelve_digit_codes() -> None:
    assert village_of("140425100200") == "140425100200"
    assert village_of("140425100") == ""


@pytest.mark.parametrize(
    ("code", "covering"),
    [
        ("140425100", ["140425100", "140425", "140400", "140000"]),
        ("140425", ["140425", "140400", "140000"]),
        ("140400", ["140400", "140000"]),
        ("140000", ["140000"]),
    ],
)
def test_covering_codes_are_the_division_and_those_above_it(code, covering) -> None:
    assert covering_codes(code) == covering


def test_no_module_but_core_divisions_cuts_a_division_code_apart() -> None:
    # Slicing a code variable to 2, 4, 6 or 9 digits, or padding a prefix with zeros, is
    # division arithmetic; ID numbers (core.numbers) begin with a code but are not one.
    sliced = (
        r"(code|county|division|hukou|prefix)\w*\[:(2|4|6|9)\]|\[:[24]\]\s*\+\s*\"0|\[:[24]\]\}0"
    )
    assert source_matches(sliced, allowed=("core/divisions.py",)) == []
