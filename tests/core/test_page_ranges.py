"""Page ranges for splitting a scan (core/page_ranges.py): the forms archivists write, and
every way a split could lose or double a page."""

from __future__ import annotations

import pytest

from core.page_ranges import PageRangeError, check_cover, label, parse_range


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", (3, 3)),
        ("1-2", (1, 2)),
        (" 2 - 5 ", (2, 5)),
        ("２－４", (2, 4)),  # full-width digits and dash
        ("第3～5页", (3, 5)),
        ("3至5", (3, 5)),
        ("第4页", (4, 4)),
        ("1–5", (1, 5)),
    ],
)
def test_the_forms_archivists_write_are_read(text, expected):
    assert parse_range(text, 5) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "无法识别"),
        ("a-b", "无法识别"),
        ("1,2", "无法识别"),
        ("4-2", "起始页大于结束页"),
        ("0", "超出范围"),
        ("5-6", "共 5 页"),
    ],
)
def test_a_range_that_cannot_be_used_says_why(text, reason):
    with pytest.raises(PageRangeError, match=reason):
        parse_range(text, 5)


def test_a_split_that_accounts_for_every_page_once_passes():
    check_cover([(1, 2), (3, 5)], 5)
    check_cover([(3, 5), (1, 1), (2, 2)], 5)  # in any order


@pytest.mark.parametrize(
    ("ranges", "reason"),
    [
        ([(1, 5)], "至少要分成两份"),
        ([(1, 3), (3, 5)], "第 3 页被分到了两份中"),
        ([(1, 2), (4, 5)], "第 3 页没有分到任何一份"),
    ],
)
def test_a_split_that_loses_or_doubles_a_page_is_refused(ranges, reason):
    with pytest.raises(PageRangeError, match=reason):
        check_cover(ranges, 5)


def test_a_range_is_labelled_as_pages():
    assert label(3, 3) == "第3页" and label(1, 2) == "第1-2页"
