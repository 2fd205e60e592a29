"""ID numbers and certificate numbers (spec/numbers.md): one test per rule and rejected input."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from core.numbers import (
    CATEGORIES,
    CERT_CODE_MISMATCH,
    CERT_ID_MISMATCH,
    GRADES,
    CertificateNumber,
    NumberError,
    cross_check,
    id_check_char,
    mask_id,
    mask_ids_in,
    normalize_id,
    parse_certificate,
    parse_id,
    to_halfwidth,
)

TODAY = date(2026, 11, 30)
WORKED_EXAMPLE = "11010519491231002X"


def make_id(division: str = "140425", birth: str = "19800101", sequence: str = "123") -> str:
    """A valid ID number: the check character is computed, never hard-coded."""
    first17 = division + birth + sequence
    return first17 + id_check_char(first17)


def with_wrong_check_char(value: str) -> str:
    """The same ID with a check character that is certainly wrong."""
    return value[:17] + ("1" if value[17] != "1" else "2")


def full_width(text: str) -> str:
    """What a Chinese input method in full-width mode types for ``text``."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def reason(raw: object, **kwargs: object) -> NumberError:
    with pytest.raises(NumberError) as caught:
        parse_id(raw, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return caught.value


def cert_reason(raw: object) -> NumberError:
    with pytest.raises(NumberError) as caught:
        parse_certificate(raw, today=TODAY)  # type: ignore[arg-type]
    return caught.value


# --- check character ---------------------------------------------------------------------


def test_worked_example_check_char_is_X() -> None:
    assert id_check_char(WORKED_EXAMPLE[:17]) == "X"


@pytest.mark.parametrize(
    ("first17", "expected"),
    [("14042519800101123", "5"), ("11010519491231002", "X"), ("00000000000000000", "1")],
)
def test_id_check_char_follows_iso_7064_mod_11_2(first17: str, expected: str) -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    assert "10X98765432"[total % 11] == expected
    assert id_check_char(first17) == expected


def test_id_check_char_equals_the_weighted_sum_of_the_digits_for_every_digit_at_every_place():
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for place in range(17):
        for digit in "0123456789":
            first17 = "14042519800101123"[:place] + digit + "14042519800101123"[place + 1 :]
            total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
            assert id_check_char(first17) == "10X98765432"[total % 11]


@pytest.mark.parametrize("bad", ["", "1234567890123456", "140425198001011234", "1404251980010112X"])
def test_id_check_char_refuses_anything_but_17_digits(bad: str) -> None:
    with pytest.raises(NumberError):
        id_check_char(bad)


# --- valid IDs and normalisation ---------------------------------------------------------


def test_worked_example_11010519491231002X_is_valid() -> None:
    parsed = parse_id(WORKED_EXAMPLE, today=TODAY)
    assert parsed.value == WORKED_EXAMPLE
    assert parsed.division_code == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "女"


def test_lower_case_x_is_accepted_and_upper_cased() -> None:
    assert parse_id(WORKED_EXAMPLE.lower(), today=TODAY).value == WORKED_EXAMPLE


def test_full_width_id_is_accepted_and_converted_to_ascii() -> None:
    assert parse_id(full_width(WORKED_EXAMPLE), today=TODAY).value == WORKED_EXAMPLE


def test_full_width_lower_case_x_is_accepted() -> None:
    assert parse_id(full_width(WORKED_EXAMPLE.lower()), today=TODAY).value == WORKED_EXAMPLE


@pytest.mark.parametrize(
    "spaced",
    [" 110105 19491231 002X ", "110105\t19491231\n002X", "110105\u300019491231\u3000002X"],
)
def test_whitespace_anywhere_in_an_id_is_ignored(spaced: str) -> None:
    assert parse_id(spaced, today=TODAY).value == WORKED_EXAMPLE


def test_invisible_characters_pasted_from_spreadsheets_are_ignored() -> None:
    assert normalize_id("\ufeff" + WORKED_EXAMPLE + "\u200b") == WORKED_EXAMPLE


@pytest.mark.parametrize(
    ("sequence", "sex"), [("121", "男"), ("122", "女"), ("009", "男"), ("000", "女")]
)
def test_sex_is_read_from_the_17th_digit_odd_male_even_female(sequence: str, sex: str) -> None:
    assert parse_id(make_id(sequence=sequence), today=TODAY).sex == sex


def test_division_code_is_the_first_six_digits() -> None:
    assert parse_id(make_id(division="140425"), today=TODAY).division_code == "140425"


# --- rejected IDs ------------------------------------------------------------------------


def test_15_digit_first_generation_id_is_rejected_with_ID_LENGTH_and_conversion_message() -> None:
    error = reason("140425800101123")
    assert error.code == "ID_LENGTH"
    assert error.message == "身份号码应为18位，实为15位（第一代身份证号码须由发证机关换发18位号码）"


@pytest.mark.parametrize("length", [1, 14, 16, 17, 19, 20])
def test_id_of_wrong_length_is_rejected_with_ID_LENGTH_naming_the_length(length: int) -> None:
    error = reason(("1404251980010112345678")[:length])
    assert error.code == "ID_LENGTH"
    assert f"实为{length}位" in error.message


@pytest.mark.parametrize("empty", ["", "   ", "\u3000", None])
def test_empty_id_is_rejected_with_ID_LENGTH(empty: str | None) -> None:
    error = reason(empty)
    assert error.code == "ID_LENGTH"
    assert "为空" in error.message


@pytest.mark.parametrize("numeric", [1.40425198001011e17, 140425198001011235])
def test_id_given_as_a_number_is_rejected_with_ID_CHARS_because_excel_loses_digits(
    numeric: object,
) -> None:
    error = reason(numeric)
    assert error.code == "ID_CHARS"
    assert "文本" in error.message


@pytest.mark.parametrize("position", [1, 7, 15, 17])
def test_id_with_a_letter_in_the_first_17_positions_is_rejected_with_ID_CHARS(
    position: int,
) -> None:
    value = make_id()
    bad = value[: position - 1] + "A" + value[position:]
    error = reason(bad)
    assert error.code == "ID_CHARS"
    assert f"第{position}位" in error.message


def test_x_anywhere_but_the_last_position_is_rejected_with_ID_CHARS() -> None:
    assert reason("X" + make_id()[1:]).code == "ID_CHARS"


@pytest.mark.parametrize("check", ["A", "Y", "-", "*"])
def test_id_with_a_non_X_letter_as_check_char_is_rejected_with_ID_CHARS(check: str) -> None:
    assert reason(make_id()[:17] + check).code == "ID_CHARS"


def test_id_with_wrong_check_char_is_rejected_with_ID_CHECKSUM() -> None:
    error = reason(with_wrong_check_char(WORKED_EXAMPLE))
    assert error.code == "ID_CHECKSUM"
    assert "「X」" in error.message


@pytest.mark.parametrize("check", [c for c in "0123456789X" if c != make_id()[17]])
def test_every_wrong_check_char_is_rejected_with_ID_CHECKSUM(check: str) -> None:
    assert reason(make_id()[:17] + check).code == "ID_CHECKSUM"


def test_feb_29_on_a_non_leap_year_is_rejected_with_ID_BIRTHDATE() -> None:
    error = reason(make_id(birth="19810229"))
    assert error.code == "ID_BIRTHDATE"
    assert "19810229" in error.message


@pytest.mark.parametrize("birth", ["19800229", "20000229", "19040229"])
def test_feb_29_on_a_leap_year_is_accepted(birth: str) -> None:
    assert parse_id(make_id(birth=birth), today=TODAY).birth_date.day == 29


def test_feb_29_1900_is_rejected_because_1900_was_not_a_leap_year() -> None:
    assert reason(make_id(birth="19000229")).code == "ID_BIRTHDATE"


@pytest.mark.parametrize("birth", ["19801301", "19800001", "19800132", "19800431", "19800100"])
def test_impossible_birth_month_or_day_is_rejected_with_ID_BIRTHDATE(birth: str) -> None:
    assert reason(make_id(birth=birth)).code == "ID_BIRTHDATE"


def test_future_birth_date_is_rejected_with_ID_BIRTHDATE() -> None:
    error = reason(make_id(birth="20261201"))
    assert error.code == "ID_BIRTHDATE"
    assert "晚于" in error.message


def test_birth_date_equal_to_today_is_accepted() -> None:
    assert parse_id(make_id(birth="20261130"), today=TODAY).birth_date == TODAY


def test_future_birth_date_is_judged_against_the_real_today_by_default() -> None:
    with pytest.raises(NumberError) as caught:
        parse_id(make_id(birth="29991231"))
    assert caught.value.code == "ID_BIRTHDATE"


def test_birth_date_before_1900_is_rejected_with_ID_BIRTHDATE() -> None:
    assert reason(make_id(birth="18991231")).code == "ID_BIRTHDATE"


def test_birth_date_on_1_jan_1900_is_accepted() -> None:
    assert parse_id(make_id(birth="19000101"), today=TODAY).birth_date == date(1900, 1, 1)


def test_length_is_reported_before_characters() -> None:
    assert reason("ABC").code == "ID_LENGTH"


def test_number_error_is_a_value_error_and_survives_pickling() -> None:
    error = reason(with_wrong_check_char(WORKED_EXAMPLE))
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.code, copy.message, str(copy)) == (error.code, error.message, error.message)


# --- masking -----------------------------------------------------------------------------


def test_mask_id_keeps_first_six_and_last_four_with_eight_stars() -> None:
    assert mask_id("140425198001011235") == "140425********1235"


def test_mask_id_normalises_before_masking() -> None:
    assert mask_id(" 11010519491231002x ") == "110105********002X"


@pytest.mark.parametrize("short", ["", "1234", "1234567890"])
def test_mask_id_hides_short_values_entirely(short: str) -> None:
    assert mask_id(short) == "*" * len(short)


# --- tables ------------------------------------------------------------------------------


def test_categories_are_the_seven_of_the_spec() -> None:
    assert CATEGORIES == {
        1: "视力残疾",
        2: "听力残疾",
        3: "言语残疾",
        4: "肢体残疾",
        5: "智力残疾",
        6: "精神残疾",
        7: "多重残疾",
    }


def test_grades_are_one_to_four() -> None:
    assert GRADES == {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


# --- certificates ------------------------------------------------------------------------


def test_certificate_is_id_plus_category_plus_grade() -> None:
    holder = make_id()
    cert = parse_certificate(holder + "43", today=TODAY)
    assert cert.value == cert.stem == holder + "43"
    assert cert.id_number.value == holder
    assert (cert.category, cert.grade, cert.reissue_suffix) == (4, 3, "")
    assert (cert.category_name, cert.grade_name) == ("肢体残疾", "三级")


def test_a_certificate_embedding_its_holders_id_decodes_as_when_the_id_is_parsed_again() -> None:
    holder = parse_id(make_id(), today=TODAY)
    given = parse_certificate(holder.value + "43", today=TODAY, holder=holder)
    assert given == parse_certificate(holder.value + "43", today=TODAY)
    assert given.id_number is holder
    other = make_id(sequence="124")
    assert parse_certificate(other + "43", today=TODAY, holder=holder).id_number.value == other
    wrong = other[:17] + ("1" if other[-1] != "1" else "2")  # a check character that fails
    with pytest.raises(NumberError) as error:
        parse_certificate(wrong + "43", today=TODAY, holder=holder)
    assert error.value.code == "CERT_ID"


@pytest.mark.parametrize("suffix", ["B", "B1", "B2", "B12"])
def test_reissued_certificate_suffix_is_accepted_and_kept(suffix: str) -> None:
    stem = make_id() + "43"
    cert = parse_certificate(stem + suffix, today=TODAY)
    assert cert.stem == stem
    assert cert.reissue_suffix == suffix
    assert cert.value == stem + suffix


def test_lower_case_reissue_suffix_is_upper_cased() -> None:
    assert parse_certificate(make_id() + "43b1", today=TODAY).reissue_suffix == "B1"


def test_full_width_certificate_with_lower_case_x_is_normalised() -> None:
    cert = parse_certificate(full_width(WORKED_EXAMPLE.lower() + "51ｂ2"), today=TODAY)
    assert cert.value == WORKED_EXAMPLE + "51B2"


@pytest.mark.parametrize("suffix", ["A", "1", "B0", "B01", "BB", "B1X", "C1"])
def test_unknown_certificate_suffix_is_rejected_with_CERT_LENGTH(suffix: str) -> None:
    error = cert_reason(make_id() + "43" + suffix)
    assert error.code == "CERT_LENGTH"
    assert suffix in error.message


def test_id_number_in_the_certificate_field_is_rejected_with_CERT_LENGTH_and_a_hint() -> None:
    error = cert_reason(make_id())
    assert error.code == "CERT_LENGTH"
    assert "实为18位" in error.message
    assert "缺少残疾类别和等级" in error.message


@pytest.mark.parametrize("raw", ["", None, "1404251980010112354", "1234"])
def test_short_or_empty_certificate_is_rejected_with_CERT_LENGTH(raw: str | None) -> None:
    assert cert_reason(raw).code == "CERT_LENGTH"


def test_certificate_given_as_a_number_is_rejected_with_CERT_LENGTH() -> None:
    assert cert_reason(1.4042519800101124e19).code == "CERT_LENGTH"


@pytest.mark.parametrize(
    ("holder", "id_code"),
    [
        (with_wrong_check_char(WORKED_EXAMPLE), "ID_CHECKSUM"),
        (make_id(birth="19810229"), "ID_BIRTHDATE"),
        (make_id(birth="20991231"), "ID_BIRTHDATE"),
        ("A" + make_id()[1:], "ID_CHARS"),
    ],
)
def test_certificate_with_invalid_embedded_id_is_rejected_with_CERT_ID_and_the_id_reason(
    holder: str, id_code: str
) -> None:
    error = cert_reason(holder + "43")
    assert error.code == "CERT_ID"
    assert error.id_code == id_code
    assert error.message.startswith("残疾人证号前18位不是有效的身份号码")


@pytest.mark.parametrize("category", ["0", "8", "9", "X", "A"])
def test_category_digit_out_of_range_is_rejected_with_CERT_CATEGORY(category: str) -> None:
    assert cert_reason(make_id() + category + "1").code == "CERT_CATEGORY"


@pytest.mark.parametrize("grade", ["0", "5", "6", "7", "8", "9", "X"])
def test_grade_digit_out_of_range_is_rejected_with_CERT_GRADE(grade: str) -> None:
    assert cert_reason(make_id() + "1" + grade).code == "CERT_GRADE"


@pytest.mark.parametrize("category", sorted(CATEGORIES))
@pytest.mark.parametrize("grade", sorted(GRADES))
def test_every_category_1_to_7_and_grade_1_to_4_is_accepted(category: int, grade: int) -> None:
    cert = parse_certificate(f"{make_id()}{category}{grade}", today=TODAY)
    assert (cert.category, cert.grade) == (category, grade)


# --- cross-checks ------------------------------------------------------------------------


def cert_of(holder: str, category: int = 4, grade: int = 3) -> CertificateNumber:
    return parse_certificate(f"{holder}{category}{grade}", today=TODAY)


def test_consistent_record_has_no_cross_check_findings() -> None:
    holder = make_id()
    assert cross_check(holder, cert_of(holder), 4, 3) == []


def test_person_id_is_normalised_before_comparison() -> None:
    cert = cert_of(WORKED_EXAMPLE)
    assert cross_check(" " + WORKED_EXAMPLE.lower(), cert, 4, 3) == []


def test_certificate_of_someone_else_is_CERT_ID_MISMATCH() -> None:
    cert = cert_of(make_id(sequence="123"))
    findings = cross_check(make_id(sequence="124"), cert, 4, 3)
    assert findings == [CERT_ID_MISMATCH]


@pytest.mark.parametrize(("category", "grade"), [(5, 3), (4, 2), (5, 2)])
def test_recorded_category_or_grade_differing_from_the_number_is_CERT_CODE_MISMATCH(
    category: int, grade: int
) -> None:
    holder = make_id()
    findings = cross_check(holder, cert_of(holder), category, grade)
    assert findings == [CERT_CODE_MISMATCH]


def test_both_mismatches_are_reported_as_separate_findings() -> None:
    cert = cert_of(make_id(sequence="123"))
    findings = cross_check(make_id(sequence="124"), cert, 1, 1)
    assert findings == [CERT_ID_MISMATCH, CERT_CODE_MISMATCH]


@pytest.mark.parametrize(("category", "grade"), [(None, None), (None, 3), (4, None)])
def test_unrecorded_category_or_grade_is_not_a_finding(
    category: int | None, grade: int | None
) -> None:
    holder = make_id()
    assert cross_check(holder, cert_of(holder), category, grade) == []


def test_mask_ids_in_masks_every_id_inside_a_file_name() -> None:
    assert mask_ids_in("140425198001011235张三.pdf") == "140425********1235张三.pdf"
    assert mask_ids_in("a_14042519800101123X_b_140425800101123.jpg") == (
        "a_140425********123X_b_140425*****1123.jpg"
    )
    assert mask_ids_in("证号14042519800101123511.pdf") == "证号140425********123511.pdf"
    assert mask_ids_in("花名册2026-11.xlsx 第12345行") == "花名册2026-11.xlsx 第12345行"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１４０４２５\u3000１９８０ｘ", "140425 1980x"),  # full-width forms and ideographic space
        ("1404\u200b25\ufeff", "140425"),  # invisible characters dropped
        ("140425 1980x\t", "140425 1980x\t"),  # ASCII text comes back as it is
        ("①②", "①②"),  # look-alikes are not digits
    ],
)
def test_halfwidth_converts_full_width_forms_and_leaves_ascii_and_look_alikes_alone(
    raw: str, expected: str
) -> None:
    assert to_halfwidth(raw) == expected
