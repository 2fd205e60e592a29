"""The spreadsheet reader: content-based type detection, encodings, and whole-file refusals."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from core import tabular
from core.tabular import HeaderSpec, TableError, column_letter, read_table
from tests.core import bombs

SPEC = HeaderSpec(required=("姓名", "公民身份号码"), optional=("死亡日期",))
ID = "11010519491231002X"


def xlsx_bytes(rows: list[list[object]], *, second_sheet: bool = False) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if second_sheet:
        wb.create_sheet("其他").append(["无关"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_csv_utf8_without_bom_reads_headers_and_rows() -> None:
    data = f"姓名,公民身份号码,死亡日期\n张三,{ID},2026-10-15\n".encode()
    table = read_table(data, "death.csv", spec=SPEC)
    assert table.format == "csv"
    assert table.encoding == "utf-8"
    assert table.headers == ["姓名", "公民身份号码", "死亡日期"]
    assert list(table.rows) == [(2, {"姓名": "张三", "公民身份号码": ID, "死亡日期": "2026-10-15"})]


def test_csv_utf8_with_bom_strips_bom_from_first_header() -> None:
    data = ("\ufeff姓名,公民身份号码\n张三," + ID + "\n").encode()
    table = read_table(data, "a.csv", spec=SPEC)
    assert table.headers == ["姓名", "公民身份号码"]
    assert next(iter(table.rows))[1]["姓名"] == "张三"


def test_gb18030_csv_is_decoded_when_utf8_fails() -> None:
    data = f"姓名,公民身份号码\n欧阳娜娜,{ID}\n".encode("gb18030")
    table = read_table(data, "gbk.csv", spec=SPEC)
    assert table.encoding == "gb18030"
    assert [row["姓名"] for _, row in table.rows] == ["欧阳娜娜"]


def test_gbk_csv_whose_chinese_appears_only_late_is_still_gb18030() -> None:
    lines = ["姓名,公民身份号码"] + [f"a,{ID}"] * 5000 + [f"李四,{ID}"]
    data = ("\n".join(lines) + "\n").encode("gb18030")
    table = read_table(data, "late.csv", spec=SPEC)
    assert table.encoding == "gb18030"
    assert list(table.rows)[-1][1]["姓名"] == "李四"


def test_gbk_csv_refused_before_its_chinese_gives_the_error_of_its_own_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read as UTF-8 first, the file is refused (too many rows) before its first GBK byte:
    # the encoding is then checked, and the error is the one of the file read as GB18030.
    lines = ["a,b"] + ['"x",1'] * 5 + ["李四,1"]
    data = ("\n".join(lines) + "\n").encode("gb18030")
    read_as: list[str] = []
    real = tabular._read_csv_as

    def spy(*args: object) -> object:
        read_as.append(str(args[-1]))
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tabular, "_read_csv_as", spy)
    with pytest.raises(TableError) as caught:
        read_table(data, "gbk.csv", max_rows=2)
    assert caught.value.code == "TABLE_TOO_MANY_ROWS"
    assert read_as == ["utf-8-sig", "gb18030"]


def test_a_file_neither_utf8_nor_gb18030_is_refused_as_an_encoding() -> None:
    data = "姓名,公民身份号码\n".encode() + b"\xff\xff\xff," + ID.encode() + b"\n"
    with pytest.raises(TableError) as caught:
        read_table(data, "bad.csv", spec=SPEC)
    assert caught.value.code == "TABLE_ENCODING"


def test_headers_are_stripped_and_unknown_headers_reported_once() -> None:
    data = f" 姓名 ,\u3000公民身份号码,备注,\n张三,{ID},x,\n".encode()
    table = read_table(data, "a.csv", spec=SPEC)
    assert table.headers == ["姓名", "公民身份号码", "备注"]
    assert table.unknown_headers == ["备注"]


def test_column_order_is_free_and_empty_cells_become_none() -> None:
    data = f"公民身份号码,死亡日期,姓名\n{ID},,张三\n".encode()
    _, row = next(iter(read_table(data, "a.csv", spec=SPEC).rows))
    assert row == {"公民身份号码": ID, "死亡日期": None, "姓名": "张三"}


def test_blank_rows_skipped_and_row_numbers_are_excel_numbers() -> None:
    data = f"姓名,公民身份号码\n\n张三,{ID}\n,\n李四,{ID}\n".encode()
    table = read_table(data, "a.csv", spec=SPEC)
    assert [n for n, _ in table.rows] == [3, 5]
    assert table.row_count == 2


def test_rows_can_be_iterated_twice() -> None:
    table = read_table(f"姓名,公民身份号码\n张三,{ID}\n".encode(), "a.csv", spec=SPEC)
    assert list(table.rows) == list(table.rows)


def test_tab_separated_text_is_read() -> None:
    data = f"姓名\t公民身份号码\n张三\t{ID}\n".encode()
    assert read_table(data, "a.csv", spec=SPEC).headers == ["姓名", "公民身份号码"]


def test_path_and_file_object_sources(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(f"姓名,公民身份号码\n张三,{ID}\n".encode())
    assert read_table(path, spec=SPEC).row_count == 1
    with path.open("rb") as fh:
        table = read_table(fh, "a.csv", spec=SPEC)
        assert len(list(table.rows)) == 1
        assert not fh.closed


def test_empty_file_is_rejected() -> None:
    with pytest.raises(TableError) as err:
        read_table(b"", "empty.csv", spec=SPEC)
    assert err.value.code == "TABLE_EMPTY"


def test_whitespace_only_file_is_rejected_as_empty() -> None:
    with pytest.raises(TableError) as err:
        read_table("\ufeff \n\n".encode(), "blank.csv", spec=SPEC)
    assert err.value.code == "TABLE_EMPTY"


def test_wrong_headers_list_every_missing_required_header() -> None:
    with pytest.raises(TableError) as err:
        read_table(f"名字,身份证\n张三,{ID}\n".encode(), "wrong.csv", spec=SPEC)
    assert err.value.code == "TABLE_MISSING_HEADERS"
    assert err.value.details == ["姓名", "公民身份号码"]
    assert "姓名" in err.value.message and "公民身份号码" in err.value.message


def test_duplicate_header_is_rejected() -> None:
    with pytest.raises(TableError) as err:
        read_table(f"姓名,姓名,公民身份号码\n张三,李四,{ID}\n".encode(), "d.csv", spec=SPEC)
    assert err.value.code == "TABLE_DUPLICATE_HEADER"


def test_oversize_file_is_rejected_before_reading() -> None:
    with pytest.raises(TableError) as err:
        read_table(b"x" * 101, "big.csv", spec=SPEC, max_bytes=100)
    assert err.value.code == "TABLE_TOO_LARGE"


def test_too_many_rows_is_rejected_before_any_row_is_returned() -> None:
    data = ("姓名,公民身份号码\n" + f"张三,{ID}\n" * 4).encode()
    with pytest.raises(TableError) as err:
        read_table(data, "many.csv", spec=SPEC, max_rows=3)
    assert err.value.code == "TABLE_TOO_MANY_ROWS"


def test_pdf_renamed_xlsx_is_rejected_by_content() -> None:
    with pytest.raises(TableError) as err:
        read_table(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "roster.xlsx", spec=SPEC)
    assert err.value.code == "TABLE_FORMAT"
    assert "PDF" in err.value.message


def test_old_xls_and_other_zip_files_are_rejected() -> None:
    with pytest.raises(TableError) as err:
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", spec=SPEC)
    assert err.value.code == "TABLE_FORMAT"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with pytest.raises(TableError) as err:
        read_table(buf.getvalue(), "a.xlsx", spec=SPEC)
    assert err.value.code == "TABLE_FORMAT"


def test_binary_garbage_is_not_taken_for_csv() -> None:
    with pytest.raises(TableError) as err:
        read_table(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "scan.csv", spec=SPEC)
    assert err.value.code == "TABLE_FORMAT"


def test_xlsx_detected_by_content_even_when_named_csv() -> None:
    data = xlsx_bytes([["姓名", "公民身份号码", "死亡日期"], ["张三", ID, datetime(2026, 10, 15)]])
    table = read_table(data, "misnamed.csv", spec=SPEC)
    assert table.format == "xlsx"
    rows = list(table.rows)
    assert rows == [(2, {"姓名": "张三", "公民身份号码": ID, "死亡日期": datetime(2026, 10, 15)})]


def test_xlsx_reads_first_sheet_and_skips_blank_rows() -> None:
    data = xlsx_bytes([["姓名", "公民身份号码"], [None, None], ["张三", ID]], second_sheet=True)
    table = read_table(data, "a.xlsx", spec=SPEC)
    assert [(n, r["姓名"]) for n, r in table.rows] == [(3, "张三")]


def test_xlsx_formula_cell_is_rejected_naming_the_cell() -> None:
    data = xlsx_bytes([["姓名", "公民身份号码", "死亡日期"], ["张三", ID, "=TODAY()"]])
    with pytest.raises(TableError) as err:
        read_table(data, "f.xlsx", spec=SPEC)
    assert err.value.code == "TABLE_FORMULA"
    assert "C2" in err.value.message
    assert "死亡日期" in err.value.message


def test_csv_cell_starting_with_equals_is_rejected_as_formula() -> None:
    with pytest.raises(TableError) as err:
        read_table(f"姓名,公民身份号码\n=1+1,{ID}\n".encode(), "f.csv", spec=SPEC)
    assert err.value.code == "TABLE_FORMULA"
    assert "A2" in err.value.message


def test_xlsx_without_header_row_is_empty() -> None:
    with pytest.raises(TableError) as err:
        read_table(xlsx_bytes([]), "none.xlsx", spec=SPEC)
    assert err.value.code == "TABLE_EMPTY"


def test_xlsx_missing_headers_are_listed() -> None:
    with pytest.raises(TableError) as err:
        read_table(xlsx_bytes([["姓名"], ["张三"]]), "h.xlsx", spec=SPEC)
    assert err.value.code == "TABLE_MISSING_HEADERS"
    assert err.value.details == ["公民身份号码"]


def test_corrupt_zip_is_rejected() -> None:
    with pytest.raises(TableError) as err:
        read_table(b"PK\x03\x04" + b"\x00" * 50, "broken.xlsx", spec=SPEC)
    assert err.value.code == "TABLE_CORRUPT"


def test_column_letters_follow_excel() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_large_csv_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    line = f"张三,{ID},2026-10-15\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("姓名,公民身份号码,死亡日期\n")
        for _ in range(200_000):
            fh.write(line)
    tracemalloc.start()
    table = read_table(path, spec=SPEC)
    count = sum(1 for _ in table.rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == table.row_count == 200_000
    assert peak < 20 * 1024 * 1024


# --- Bombs and broken workbooks ---------------------------------------------------------------


def refused(data: bytes, **limits) -> TableError:
    with pytest.raises(TableError) as caught:
        read_table(data, "花名册.xlsx", spec=SPEC, **limits)
    message = caught.value.message
    assert "花名册.xlsx" in message and "/" not in message.replace("花名册.xlsx", "")
    return caught.value


def test_ten_million_shared_strings_are_refused_at_once() -> None:
    data = bombs.shared_strings_bomb()
    assert len(data) < 2 * 1024 * 1024
    assert refused(data).code == "TABLE_XLSX_BOMB"


def test_one_huge_string_is_refused_without_holding_it() -> None:
    tracemalloc.start()
    try:
        error = refused(bombs.huge_string_bomb())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.code in {"TABLE_XLSX_BOMB", "TABLE_CELL_TOO_LONG"}
    assert peak < 64 * 1024 * 1024


def test_text_longer_than_an_excel_cell_is_refused_before_parsing() -> None:
    assert refused(bombs.long_text_part(400_000)).code == "TABLE_CELL_TOO_LONG"


def test_a_cell_longer_than_excel_allows_is_refused_not_cut_short() -> None:
    data = bombs.workbook([bombs.HEADERS, ["张三", ID], [bombs.random_text(40_000), ID]])
    assert refused(data).code == "TABLE_CELL_TOO_LONG"


def test_shared_strings_over_the_cap_are_refused() -> None:
    data = bombs.with_strings([f"文字{i}" for i in range(1001)])
    error = refused(data, max_shared_strings=1000)
    assert error.code == "TABLE_XLSX_BOMB" and "1000" in error.message
    assert read_table(data, "a.xlsx", spec=SPEC, max_shared_strings=1001).row_count == 1


def test_declared_size_over_the_cap_is_refused_before_unpacking() -> None:
    data = bombs.patch_declared_size(bombs.workbook(), bombs.SHEET, 0xFFFFFFF0)
    assert refused(data).code == "TABLE_XLSX_BOMB"


def test_part_larger_than_declared_is_refused_as_corrupt() -> None:
    data = bombs.patch_declared_size(bombs.workbook(), bombs.SHEET, 10)
    assert refused(data).code == "TABLE_CORRUPT"


def test_malformed_worksheet_xml_gets_a_chinese_message() -> None:
    error = refused(bombs.malformed_sheet())
    assert error.code == "TABLE_CORRUPT"
    assert "无法作为 xlsx 工作簿读取" in error.message and "Error" not in error.message


def test_entity_expansion_is_refused() -> None:
    assert refused(bombs.entity_sheet()).code == "TABLE_XLSX_BOMB"


def test_an_ordinary_workbook_still_reads() -> None:
    table = read_table(bombs.workbook(), "a.xlsx", spec=SPEC)
    assert list(table.rows) == [(2, {"姓名": "张三", "公民身份号码": ID})]


def _typed_workbook(first_row: int, first_column: int) -> bytes:
    from datetime import date, datetime, time

    wb = Workbook()
    ws = wb.active
    header = ["姓名", "公民身份号码", "日期", "数", "其他"]
    values = [
        ["张三", "14042519800101123X", date(2030, 5, 1), 5, "  x "],
        [" 李四", 140425198001011235, datetime(2030, 5, 1), 4.0, True],
        ["", None, datetime(2030, 5, 1, 12, 30, 15), 1.5, time(12, 30)],
        [None, None, None, None, None],
        ["王五", "２０３０年５月１日", "2030/5/1", -0.0, "  "],
        ["赵六", "x", 20300501, 13800138000, 1e20],
    ]
    for r, row in enumerate([header, *values]):
        for c, value in enumerate(row):
            if value is not None:
                ws.cell(row=first_row + r, column=first_column + c, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(("first_row", "first_column"), [(1, 1), (3, 2)])
def test_xlsx_read_by_calamine_gives_the_cells_openpyxl_gives(
    first_row: int, first_column: int
) -> None:
    from core.tabular import _read_xlsx, _Source

    data = _typed_workbook(first_row, first_column)
    fast = _read_xlsx(_Source(data), "x", None, 100, plain=True)
    slow = _read_xlsx(_Source(data), "x", None, 100, plain=False)
    assert (fast.headers, fast.row_count) == (slow.headers, slow.row_count)
    fast_rows, slow_rows = list(fast.rows), list(slow.rows)
    assert [(n, {k: (type(v), v) for k, v in row.items()}) for n, row in fast_rows] == [
        (n, {k: (type(v), v) for k, v in row.items()}) for n, row in slow_rows
    ]
    assert [row for _, row in read_table(data, "x.xlsx").rows] == [row for _, row in slow_rows]


def test_xlsx_text_starting_with_equals_is_refused_alike_by_both_readers() -> None:
    from core.tabular import _read_xlsx, _Source

    wb = Workbook()
    wb.active.append(["姓名", "值"])
    wb.active.append(["张三", "=不是公式"])
    wb.active["B2"].data_type = "s"  # a text, not the formula openpyxl would write
    buf = io.BytesIO()
    wb.save(buf)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(buf.getvalue())).read(
        "xl/worksheets/sheet1.xml"
    )
    messages = []
    for plain in (True, False):
        with pytest.raises(TableError) as err:
            _read_xlsx(_Source(buf.getvalue()), "x", None, 100, plain=plain)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "B2（值）" in messages[0]


def test_xlsx_with_an_error_cell_is_read_by_openpyxl_which_gives_its_text() -> None:
    wb = Workbook()
    wb.active.append(["姓名", "值"])
    wb.active.append(["张三", "#N/A"])  # openpyxl writes it as an error cell (t="e")
    buf = io.BytesIO()
    wb.save(buf)
    assert [row for _, row in read_table(buf.getvalue(), "x.xlsx").rows] == [
        {"姓名": "张三", "值": "#N/A"}
    ]


# --------------------------------------------------------------------------------------------
# The plain-CSV pass (core.tabular._plain_csv_facts) against the full ``csv`` pass

PLAIN_SHAPES = {
    "lf": "姓名,号码\n张三,1\n李四,2\n",
    "crlf": "姓名,号码\r\n张三,1\r\n李四,2\r\n",
    "bom and no final newline": "\ufeff姓名,号码\n张三,1\n李四,2",
    "blank lines at the end": "姓名,号码\n张三,1\n\n\n",
    "an empty line in the middle": "姓名,号码\n张三,1\n\n李四,2\n",
    "separators and spaces only": "姓名,号码\n张三,1\n , \u3000\n,,\n李四,2\n ,\n",
    "short and long records": "姓名,号码,备注\n张三\n李四,2,x,y\n",
    "tab separated": "姓名\t号码\n张三\t1\n\t\n李四\t2\n",
    "only the header": "姓名,号码\n",
    "a long cell": "姓名,号码\n" + "张" * 100_000 + ",1\n李四,2\n",
}
FULL_ONLY = {
    "a quoted cell": '姓名,号码\n"张,三",1\n',
    "a cell spanning lines": '姓名,号码\n"张\n三",1\n',
    "a lone carriage return": "姓名,号码\r张三,1\n",
    "a possible formula": "姓名,号码\n张三,=1+1\n",
    "a cell longer than csv takes": "姓名,号码\n张三,1\n" + "张" * 140_000 + ",1\n",
}


def _layout(data: bytes, plain: bool, monkeypatch) -> tuple:
    """What the validation pass says about a file, by the plain pass or the full one."""
    if not plain:
        monkeypatch.setattr(tabular, "_plain_csv_facts", lambda src, delimiter: None)
    try:
        table = read_table(data, "x.csv")
    except TableError as error:
        return ("error", error.code)
    layout = table.csv_layout
    return (table.row_count, layout.data_rows, layout.last_row, layout.chars, layout.simple)


@pytest.mark.parametrize("shape", list(PLAIN_SHAPES))
def test_the_plain_csv_pass_finds_what_the_full_csv_pass_finds(shape, monkeypatch) -> None:
    data = PLAIN_SHAPES[shape].encode()
    delimiter = "\t" if shape == "tab separated" else ","
    assert tabular._plain_csv_facts(tabular._Source(data), delimiter) is not None
    assert _layout(data, True, monkeypatch) == _layout(data, False, monkeypatch)


@pytest.mark.parametrize("shape", list(FULL_ONLY))
def test_a_csv_with_quotes_carriage_returns_or_formulas_goes_through_the_full_pass(
    shape, monkeypatch
) -> None:
    data = FULL_ONLY[shape].encode()
    assert tabular._plain_csv_facts(tabular._Source(data), ",") is None
    assert _layout(data, True, monkeypatch) == _layout(data, False, monkeypatch)


def test_the_plain_csv_pass_reads_a_file_larger_than_its_block_the_same(monkeypatch) -> None:
    monkeypatch.setattr(tabular, "_PLAIN_BLOCK", 64)  # lines cut across many blocks
    lines = ["姓名,号码"]
    for i in range(500):
        lines.append("" if i % 97 == 5 else (" , " if i % 31 == 0 else f"张三{i},{i}"))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    assert tabular._plain_csv_facts(tabular._Source(data), ",") is not None
    assert _layout(data, True, monkeypatch) == _layout(data, False, monkeypatch)


def test_a_plain_csv_over_the_row_limit_is_refused_by_the_plain_pass_too() -> None:
    data = ("姓名,号码\n" + "张三,1\n" * 11).encode()
    with pytest.raises(TableError) as refused:
        read_table(data, "x.csv", max_rows=10)
    assert refused.value.code == "TABLE_TOO_MANY_ROWS"
