"""Every XLSX export keeps text as text: nothing copied from a roster becomes a formula."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from archive.exports import FORMULA_PREFIXES, xlsx_bytes


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_text_that_looks_like_a_formula_stays_text(prefix):
    content = xlsx_bytes("t", [[f'{prefix}HYPERLINK("http://x")']])
    cell = load_workbook(io.BytesIO(content)).active["A1"]
    assert cell.data_type == "s"
    assert cell.value == f'{prefix}HYPERLINK("http://x")'


def test_control_characters_are_dropped_instead_of_failing_the_export():
    content = xlsx_bytes("t", [["张\x07三"]])
    assert load_workbook(io.BytesIO(content)).active["A1"].value == "张三"


def test_dates_and_numbers_keep_their_types():
    content = xlsx_bytes("t", [[date(2026, 11, 30), 122]])
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet["A1"].value.date() == date(2026, 11, 30)
    assert sheet["B1"].value == 122
