"""Cell parsers (spec/numbers.md, spec/formats.md): every accepted form, every rejected one."""

from __future__ import annotations

import pickle
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.cells import (
    LONG_TERM,
    CellError,
    format_expiry,
    is_blank,
    parse_amount,
    parse_category,
    parse_date,
    parse_division_code,
    parse_expiry,
    parse_family_type,
    parse_grade,
    parse_month,
    parse_payee,
    parse_sex,
    parse_yes_no,
)

MAY_1 = date(2030, 5, 1)


def full_width(text: str) -> str:
    """What a Chinese input method in full-width mode types for ``text``."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def code_of(parser: object, raw: object) -> str:
    with pytest.raises(CellError) as caught:
        parser(raw)  # type: ignore[operator]
    assert caught.value.message  # every rejection explains itself
    return caught.value.code


# --- blank -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000", "\t\n"])
def test_none_and_whitespace_only_cells_are_blank(raw: object) -> None:
    assert is_blank(raw)


@pytest.mark.parametrize("raw", [0, "0", False, "否", date(2030, 1, 1)])
def test_zero_false_and_values_are_not_blank(raw: object) -> None:
    assert not is_blank(raw)


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["2030年05月01日", "2030年5月1日", "2030.05.01", "2030-05-01", "2030/5/1", "20300501"],
)
def test_every_date_form_of_the_spec_is_accepted(raw: str) -> None:
    assert parse_date(raw) == MAY_1


@pytest.mark.parametrize("raw", ["2030.5.1", "2030-5-1", "2030/05/01"])
def test_separated_dates_accept_one_or_two_digit_month_and_day(raw: str) -> None:
    assert parse_date(raw) == MAY_1


@pytest.mark.parametrize("raw", ["2030年05月01日", "2030-05-01", "20300501"])
def test_full_width_digits_in_dates_are_accepted(raw: str) -> None:
    assert parse_date(full_width(raw)) == MAY_1


def test_spaces_inserted_by_ocr_inside_a_date_are_ignored() -> None:
    assert parse_date(" 2030 年 5 月 1 日 ") == MAY_1


def test_date_and_datetime_objects_from_openpyxl_are_accepted() -> None:
    assert parse_date(MAY_1) == MAY_1
    assert parse_date(datetime(2030, 5, 1, 0, 0)) == MAY_1
    assert type(parse_date(datetime(2030, 5, 1, 13, 45))) is date


@pytest.mark.parametrize("raw", [20300501, 20300501.0, Decimal("20300501")])
def test_eight_digit_number_cell_is_read_as_yyyymmdd(raw: object) -> None:
    assert parse_date(raw) == MAY_1


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_empty_date_is_none(raw: object) -> None:
    assert parse_date(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "2030-05-01 00:00:00",
        "2030.05-01",  # mixed separators
        "2030年5月1",  # missing 日
        "30-05-01",
        "01/05/2030",  # day-first is ambiguous
        "2030-0501",
        "203051",
        "May 1, 2030",
        "明天",
        47604,  # an Excel serial number is not a date we can trust
        20300501.5,
        True,
    ],
)
def test_unknown_date_form_is_rejected_with_DATE_FORMAT(raw: object) -> None:
    assert code_of(parse_date, raw) == "DATE_FORMAT"


@pytest.mark.parametrize(
    "raw", ["2031-02-29", "2031年2月29日", "20310229", "2030-13-01", "2030/4/31", "2030.00.10"]
)
def test_accepted_form_with_impossible_date_is_rejected_with_DATE_INVALID(raw: str) -> None:
    assert code_of(parse_date, raw) == "DATE_INVALID"


def test_feb_29_of_a_leap_year_is_a_date() -> None:
    assert parse_date("2032-02-29") == date(2032, 2, 29)


def test_long_term_is_not_a_date_outside_expiry_columns() -> None:
    with pytest.raises(CellError) as caught:
        parse_date("长期")
    assert caught.value.code == "DATE_FORMAT"
    assert "长期" in caught.value.message


# --- expiry ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["长期", " 长期 ", "长期有效"])
def test_long_term_expiry_is_the_LONG_TERM_marker(raw: str) -> None:
    assert parse_expiry(raw) is LONG_TERM


def test_long_term_is_distinguishable_from_an_empty_expiry() -> None:
    assert parse_expiry("") is None
    assert parse_expiry(None) is None
    assert parse_expiry("长期") is not None


@pytest.mark.parametrize("raw", ["2030年05月01日", "2030/5/1", MAY_1, 20300501])
def test_dated_expiry_is_a_date(raw: object) -> None:
    assert parse_expiry(raw) == MAY_1


def test_already_parsed_long_term_passes_through() -> None:
    assert parse_expiry(LONG_TERM) is LONG_TERM


def test_expiry_rejects_what_parse_date_rejects() -> None:
    assert code_of(parse_expiry, "短期") == "DATE_FORMAT"


@pytest.mark.parametrize(
    ("expiry", "text"), [(None, ""), (LONG_TERM, "长期"), (MAY_1, "2030-05-01")]
)
def test_format_expiry_round_trips_through_parse_expiry(expiry: object, text: str) -> None:
    assert format_expiry(expiry) == text  # type: ignore[arg-type]
    assert parse_expiry(text) == expiry


# --- category ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("视力", 1),
        ("听力", 2),
        ("言语", 3),
        ("肢体", 4),
        ("智力", 5),
        ("精神", 6),
        ("多重", 7),
        ("视力残疾", 1),
        ("听力残疾", 2),
        ("言语残疾", 3),
        ("肢体残疾", 4),
        ("智力残疾", 5),
        ("精神残疾", 6),
        ("多重残疾", 7),
        ("4", 4),
        (4, 4),
        (4.0, 4),
        (" 肢体 ", 4),
        (full_width("4"), 4),
    ],
)
def test_category_forms_are_accepted(raw: object, number: int) -> None:
    assert parse_category(raw) == number


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "8",
        0,
        8,
        4.5,
        "肢体类",
        "残疾",
        "语言",
        "四",
        True,
        "4级",
        "Physical",
        float("nan"),
        Decimal("NaN"),
        float("inf"),
    ],
)
def test_unknown_category_is_rejected_with_CATEGORY(raw: object) -> None:
    assert code_of(parse_category, raw) == "CATEGORY"


@pytest.mark.parametrize("raw", [None, "", " "])
def test_empty_category_is_rejected_with_CATEGORY(raw: object) -> None:
    with pytest.raises(CellError) as caught:
        parse_category(raw)
    assert caught.value.code == "CATEGORY"
    assert "为空" in caught.value.message


# --- grade -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("三级", 3),
        ("3级", 3),
        ("3", 3),
        ("叁级", 3),
        ("Ⅲ级", 3),
        ("一级", 1),
        ("二级", 2),
        ("四级", 4),
        ("壹级", 1),
        ("贰级", 2),
        ("肆级", 4),
        ("Ⅰ级", 1),
        ("Ⅱ级", 2),
        ("Ⅳ级", 4),
        ("III级", 3),
        ("三", 3),
        ("Ⅲ", 3),
        ("3 级", 3),
        (3, 3),
        (3.0, 3),
        (full_width("3级"), 3),
    ],
)
def test_grade_forms_are_accepted(raw: object, number: int) -> None:
    assert parse_grade(raw) == number


@pytest.mark.parametrize(
    "raw", ["0", "5", "五级", "5级", 0, 5, 3.5, "3.0", "Ⅴ级", "三等", "重度", True, "级"]
)
def test_unknown_or_out_of_range_grade_is_rejected_with_GRADE(raw: object) -> None:
    assert code_of(parse_grade, raw) == "GRADE"


@pytest.mark.parametrize("raw", [None, ""])
def test_empty_grade_is_rejected_with_GRADE(raw: object) -> None:
    assert code_of(parse_grade, raw) == "GRADE"


# --- yes / no ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("N", False),
        ("y", True),
        ("n", False),
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("FALSE", False),
        ("True", True),
        ("false", False),
        (1, True),
        (0, False),
        (1.0, True),
        (True, True),
        (False, False),
        (" 是 ", True),
        (full_width("Y"), True),
    ],
)
def test_yes_no_forms_are_accepted(raw: object, value: bool) -> None:
    assert parse_yes_no(raw) is value


@pytest.mark.parametrize("raw", ["有", "无", "对", "2", 2, -1, "T", "F", "YES?", None, ""])
def test_unknown_yes_no_is_rejected_with_YES_NO(raw: object) -> None:
    assert code_of(parse_yes_no, raw) == "YES_NO"


# --- month -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["2026-05", "2026-5", "2026年5月", "2026年05月", full_width("2026-05"), " 2026 年 5 月 "],
)
def test_month_forms_are_accepted_as_the_first_of_the_month(raw: str) -> None:
    assert parse_month(raw) == date(2026, 5, 1)


def test_month_from_date_or_datetime_is_the_first_of_that_month() -> None:
    assert parse_month(date(2026, 5, 17)) == date(2026, 5, 1)
    assert parse_month(datetime(2026, 5, 17, 8, 30)) == date(2026, 5, 1)


@pytest.mark.parametrize(
    "raw", ["2026-13", "2026-00", "2026年0月", "202605", "2026/05", "26-05", "五月", None, ""]
)
def test_unknown_or_impossible_month_is_rejected_with_MONTH(raw: object) -> None:
    assert code_of(parse_month, raw) == "MONTH"


# --- family type, sex, payee -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("低保", "低保"),
        ("低保边缘", "低保边缘"),
        ("特困", "特困"),
        ("一般", "一般"),
        ("低保家庭", "低保"),
        ("低保边缘家庭", "低保边缘"),
        ("特困人员", "特困"),
        ("一般家庭", "一般"),
        (" 低保 ", "低保"),
    ],
)
def test_family_types_are_accepted(raw: str, value: str) -> None:
    assert parse_family_type(raw) == value


@pytest.mark.parametrize("raw", ["低边", "城市低保", "困难", "1", None, ""])
def test_unknown_family_type_is_rejected_with_FAMILY_TYPE(raw: object) -> None:
    assert code_of(parse_family_type, raw) == "FAMILY_TYPE"


@pytest.mark.parametrize(
    ("raw", "value"), [("男", "男"), ("女", "女"), ("男性", "男"), ("女性", "女"), (" 女 ", "女")]
)
def test_sex_forms_are_accepted(raw: str, value: str) -> None:
    assert parse_sex(raw) == value


@pytest.mark.parametrize("raw", ["M", "F", "1", "未知", None, ""])
def test_unknown_sex_is_rejected_with_SEX(raw: object) -> None:
    assert code_of(parse_sex, raw) == "SEX"


@pytest.mark.parametrize(
    ("raw", "value"),
    [(None, "本人"), ("", "本人"), ("本人", "本人"), ("儿童福利机构", "儿童福利机构")],
)
def test_payee_defaults_to_self_and_accepts_the_institution(raw: object, value: str) -> None:
    assert parse_payee(raw) == value


@pytest.mark.parametrize("raw", ["监护人", "机构", "福利院"])
def test_unknown_payee_is_rejected_with_PAYEE(raw: str) -> None:
    assert code_of(parse_payee, raw) == "PAYEE"


# --- amount ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("122", "122.00"),
        ("61.5", "61.50"),
        ("122.00", "122.00"),
        ("122元", "122.00"),
        ("122元/月", "122.00"),
        ("1,220.00", "1220.00"),
        ("0", "0.00"),
        (122, "122.00"),
        (61.1, "61.10"),
        (Decimal("61"), "61.00"),
        (full_width("122"), "122.00"),
    ],
)
def test_amount_forms_are_accepted_with_two_decimals(raw: object, value: str) -> None:
    amount = parse_amount(raw)
    assert amount == Decimal(value)
    assert str(amount) == value


@pytest.mark.parametrize("raw", [None, "", " "])
def test_empty_amount_is_none(raw: object) -> None:
    assert parse_amount(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "-1",
        -1,
        "122.005",
        0.001,
        "12,20",
        "一百",
        "abc",
        "1e3",
        float("nan"),
        float("inf"),
        True,
        "1" + "0" * 30,
    ],
)
def test_negative_inexact_or_unreadable_amount_is_rejected_with_AMOUNT(raw: object) -> None:
    assert code_of(parse_amount, raw) == "AMOUNT"


# --- division codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("140425", "140425"),
        ("140425100", "140425100"),
        ("140425100200", "140425100200"),
        (140425, "140425"),
        (140425100200.0, "140425100200"),
        (full_width("140425"), "140425"),
        (" 140425 ", "140425"),
    ],
)
def test_division_codes_of_6_9_or_12_digits_are_accepted_as_given(raw: object, value: str) -> None:
    assert parse_division_code(raw) == value


@pytest.mark.parametrize(
    "raw", ["14042", "1404251", "1404251002", "14042510020", "14042A", None, ""]
)
def test_other_division_codes_are_rejected_with_DIVISION(raw: object) -> None:
    assert code_of(parse_division_code, raw) == "DIVISION"


# --- errors ------------------------------------------------------------------------------


def test_cell_error_is_a_value_error_with_code_and_message_and_survives_pickling() -> None:
    with pytest.raises(CellError) as caught:
        parse_grade("五级")
    error = caught.value
    assert isinstance(error, ValueError)
    assert str(error) == error.message
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.code, copy.message) == ("GRADE", error.message)
