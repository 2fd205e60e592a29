"""文号 parsing: the canonical 〔〕 form, the bracket variants staff type, and the rejections."""

import pytest

from cms.doc_numbers import DocNumber, DocNumberError, normalize_doc_number, parse_doc_number


def test_canonical_doc_number_is_parsed_into_agency_year_and_sequence():
    assert parse_doc_number("晋民发〔2023〕1号") == DocNumber("晋民发", 2023, 1)
    assert str(parse_doc_number("晋民发〔2023〕1号")) == "晋民发〔2023〕1号"


@pytest.mark.parametrize(
    "typed",
    [
        "长民发[2023]18号",  # as the seed writes it
        "长民发［2023］18号",  # full-width square brackets
        "长民发(2023)18号",
        "长民发（2023）18号",
        "长民发【2023】18号",
        "长民发〖2023〗18号",
        "长民发﹝2023﹞18号",  # small tortoise-shell brackets from copy-paste
        "长民发 [ 2023 ] 18 号",  # spaces typed around the year
        "长民发〔2023〕18",  # 号 left out
        "长民发〔２０２３〕１８号",  # full-width digits
        "长民发〔2023〕018号",  # leading zero (虚位)
    ],
)
def test_bracket_variants_typed_by_staff_are_normalised_to_hexagonal_brackets(typed):
    assert normalize_doc_number(typed) == "长民发〔2023〕18号"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "EMPTY"),
        ("   ", "EMPTY"),
        ("晋民发2023年1号", "BRACKETS"),
        ("晋民发<2023>1号", "BRACKETS"),
        ("晋民发〔23〕1号", "YEAR_MISSING"),
        ("晋民发〔1900〕1号", "YEAR_RANGE"),
        ("晋民发〔2023〕0号", "SEQ_ZERO"),
        ("〔2023〕1号", "FORMAT"),
        ("晋民发〔2023〕号", "FORMAT"),
        ("晋民发〔2023〕1号附件", "FORMAT"),
    ],
)
def test_malformed_doc_numbers_are_rejected_with_a_chinese_message(typed, code):
    with pytest.raises(DocNumberError) as caught:
        parse_doc_number(typed)
    assert caught.value.code == code
    assert "文号" in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_doc_numbers_order_by_agency_then_year_then_sequence():
    numbers = [
        parse_doc_number(t)
        for t in ["晋民发〔2023〕2号", "晋民发〔2022〕53号", "晋民发〔2023〕1号"]
    ]
    assert [str(n) for n in sorted(numbers)] == [
        "晋民发〔2022〕53号",
        "晋民发〔2023〕1号",
        "晋民发〔2023〕2号",
    ]
