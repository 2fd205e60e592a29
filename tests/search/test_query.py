"""`search.query` (pure): how a typed query is split into number, surname and word terms."""

from __future__ import annotations

import pytest

from search.query import NUMBER, SURNAME, WORDS, FilterError, parse, validate_filters


def kinds(raw: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in parse(raw).terms]


def test_numbers_are_normalised_and_one_term_when_spaces_are_removed():
    assert kinds("１４０４２５１９８００１０１００１ｘ") == [(NUMBER, "14042519800101001X")]
    assert kinds("140425 19800101 001x") == [(NUMBER, "14042519800101001X")]
    assert kinds("1235") == [(NUMBER, "1235")]
    assert kinds("14042519800101001X42B1") == [(NUMBER, "14042519800101001X42B1")]


def test_one_chinese_character_is_a_surname_and_longer_text_words():
    assert kinds("张") == [(SURNAME, "张")]
    assert kinds("张三") == [(WORDS, "张三")]
    assert kinds("张 1235") == [(SURNAME, "张"), (NUMBER, "1235")]


def test_punctuation_and_spaces_separate_words():
    assert kinds("信息真实准确，如有虚假") == [(WORDS, "信息真实准确"), (WORDS, "如有虚假")]
    assert kinds("  ") == []
    assert parse(" 张三 ").exact_name == "张三"


def test_filters_are_checked_with_chinese_messages():
    assert validate_filters({"subsidy": "living", "status": ""}) == {"subsidy": "living"}
    with pytest.raises(FilterError, match="补贴类别"):
        validate_filters({"subsidy": "gold"})
    with pytest.raises(FilterError, match="9 位"):
        validate_filters({"township": "1404"})
    with pytest.raises(KeyError):
        validate_filters({"colour": "red"})
