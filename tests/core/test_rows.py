"""The one rejected-row record (core.rows) both the importer and the comparison rosters use."""

from __future__ import annotations

from core.rows import RowError
from review.rosters import RowError as RosterRowError
from tests.helpers import source_matches


def test_a_row_error_reads_row_column_reason() -> None:
    assert str(RowError(5, "性别", "SEX_MISMATCH", "性别与身份号码不符")) == (
        "第5行，性别：性别与身份号码不符"
    )


def test_row_zero_is_the_file_and_an_empty_column_the_whole_row() -> None:
    assert str(RowError(0, "", "HEADERS", "缺少表头")) == "缺少表头"
    assert str(RowError(3, "", "DUPLICATE", "重复")) == "第3行，重复"


def test_as_dict_is_the_json_shape_of_the_commands() -> None:
    assert RowError(2, "姓名", "X", "坏").as_dict() == {
        "row": 2,
        "column": "姓名",
        "code": "X",
        "message": "坏",
    }


def test_the_comparison_rosters_report_with_the_same_class() -> None:
    assert RosterRowError is RowError


def test_row_error_is_declared_once() -> None:
    assert source_matches(r"^class RowError\b", allowed=("core/rows.py",)) == []
