"""The seven comparison rosters: one declarative table, one parser, errors per cell."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from core.numbers import id_check_char
from core.tabular import TableError, read_table
from review.rosters import (
    KINDS,
    ROSTERS,
    header_spec,
    iter_roster,
    parse_roster,
    parse_roster_by_row,
    raw_text,
)


def make_id(county: str = "140425", birth: str = "19800101", seq: str = "123") -> str:
    first = county + birth + seq
    return first + id_check_char(first)


ID = make_id()
OTHER = make_id(seq="124")


def csv_table(kind: str, rows: list[dict[str, object]], headers: tuple[str, ...] | None = None):
    headers = headers or ROSTERS[kind].headers
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return read_table(buf.getvalue().encode(), f"{kind}.csv", spec=header_spec(kind))


def test_the_seven_kinds_of_formats_md_are_declared() -> None:
    assert KINDS == (
        "death", "hukou_out", "cert_base", "assistance", "work_injury_care", "prison", "orphan",
    )  # fmt: skip
    assert ROSTERS["hukou_out"].headers == ("姓名", "公民身份号码", "迁出日期", "迁入地区划代码")
    assert ROSTERS["cert_base"].label == "残疾人基础库"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown roster kind"):
        header_spec("pension")


def test_death_row_is_normalised_with_raw_values_kept() -> None:
    parsed = parse_roster(
        "death",
        csv_table(
            "death", [{"姓名": " 张三 ", "公民身份号码": ID.lower(), "死亡日期": "2026年10月15日"}]
        ),
    )
    assert parsed.errors == []
    assert parsed.rows == [
        {
            "row": 2,
            "id_number": ID,
            "name": "张三",
            "event_date": date(2026, 10, 15),
            "raw": {"死亡日期": "2026年10月15日"},
        }
    ]


def test_full_width_id_is_normalised_before_matching() -> None:
    full_width = ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    parsed = parse_roster(
        "death", csv_table("death", [{"公民身份号码": full_width, "死亡日期": "20261015"}])
    )
    assert parsed.rows[0]["id_number"] == ID


def test_invalid_id_rows_are_reported_and_the_rest_kept() -> None:
    bad_checksum = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    parsed = parse_roster(
        "death",
        csv_table(
            "death",
            [
                {"姓名": "甲", "公民身份号码": bad_checksum, "死亡日期": "2026-01-01"},
                {"姓名": "乙", "公民身份号码": "14042519800101", "死亡日期": "2026-01-01"},
                {"姓名": "丙", "公民身份号码": OTHER, "死亡日期": "2026-01-01"},
            ],
        ),
    )
    assert [row["id_number"] for row in parsed.rows] == [OTHER]
    assert [(e.row, e.column, e.code) for e in parsed.errors] == [
        (2, "公民身份号码", "ID_CHECKSUM"),
        (3, "公民身份号码", "ID_LENGTH"),
    ]
    assert str(parsed.errors[0]).startswith("第2行，公民身份号码：")


def test_every_bad_cell_of_a_row_is_reported() -> None:
    parsed = parse_roster("death", csv_table("death", [{"公民身份号码": "x", "死亡日期": "去年"}]))
    assert [(e.column, e.code) for e in parsed.errors] == [
        ("公民身份号码", "ID_LENGTH"),
        ("死亡日期", "DATE_FORMAT"),
    ]


def test_required_cell_empty_is_an_error_and_optional_end_date_is_not() -> None:
    parsed = parse_roster(
        "prison",
        csv_table(
            "prison",
            [
                {"公民身份号码": ID, "入监日期": "", "出监日期": ""},
                {"公民身份号码": OTHER, "入监日期": "2025-01-01", "出监日期": ""},
            ],
        ),
    )
    assert [(e.row, e.column, e.code) for e in parsed.errors] == [(2, "入监日期", "REQUIRED")]
    assert parsed.rows[0]["start"] == date(2025, 1, 1) and parsed.rows[0]["end"] is None


def test_end_before_start_is_rejected() -> None:
    parsed = parse_roster(
        "work_injury_care",
        csv_table(
            "work_injury_care",
            [{"公民身份号码": ID, "开始日期": "2025-05-01", "终止日期": "2025-04-30"}],
        ),
    )
    assert [(e.column, e.code) for e in parsed.errors] == [("终止日期", "DATE_RANGE")]


def test_hukou_destination_township_code_gives_its_county() -> None:
    parsed = parse_roster(
        "hukou_out",
        csv_table(
            "hukou_out",
            [{"公民身份号码": ID, "迁出日期": "2026/5/1", "迁入地区划代码": "140425101"}],
        ),
    )
    row = parsed.rows[0]
    assert (row["destination_code"], row["destination_county"]) == ("140425101", "140425")


def test_cert_base_row_keeps_certificate_facts_and_reissue_stem() -> None:
    parsed = parse_roster(
        "cert_base",
        csv_table(
            "cert_base",
            [
                {
                    "公民身份号码": ID,
                    "残疾人证号": ID + "53B1",
                    "残疾类别": "智力残疾",
                    "残疾等级": "叁级",
                    "证件状态": "正常",
                    "有效期至": "长期",
                    "户籍区划代码": "140425",
                }
            ],
        ),
    )
    row = parsed.rows[0]
    assert row["cert_stem"] == ID + "53" and row["cert_value"] == ID + "53B1"
    assert (row["cert_category"], row["cert_grade"], row["category"], row["grade"]) == (5, 3, 5, 3)
    assert row["expiry"] is None and row["expiry_long_term"] is True
    assert row["division_county"] == "140425"


def test_cert_base_status_frozen_parses_and_unknown_status_does_not() -> None:
    base = {
        "公民身份号码": ID, "残疾人证号": ID + "41", "残疾类别": "4", "残疾等级": "1",
        "有效期至": "2030-01-01", "户籍区划代码": "140425",
    }  # fmt: skip
    parsed = parse_roster(
        "cert_base",
        csv_table("cert_base", [{**base, "证件状态": "冻结"}, {**base, "证件状态": "暂停"}]),
    )
    assert parsed.rows[0]["status"] == "冻结"
    assert [(e.row, e.column, e.code) for e in parsed.errors] == [(3, "证件状态", "CERT_STATUS")]


def test_cert_base_invalid_certificate_number_is_reported() -> None:
    parsed = parse_roster(
        "cert_base",
        csv_table(
            "cert_base",
            [
                {
                    "公民身份号码": ID,
                    "残疾人证号": ID + "81",
                    "残疾类别": "4",
                    "残疾等级": "1",
                    "证件状态": "正常",
                    "户籍区划代码": "140425",
                }
            ],
        ),
    )
    assert [(e.column, e.code) for e in parsed.errors] == [("残疾人证号", "CERT_CATEGORY")]


def test_assistance_rejects_general_family_and_accepts_the_three_types() -> None:
    rows = [
        {"公民身份号码": ID, "保障类别": t, "开始日期": "2024-01-01"}
        for t in ("低保", "低保边缘", "特困人员", "一般")
    ]
    parsed = parse_roster("assistance", csv_table("assistance", rows))
    assert [r["benefit_type"] for r in parsed.rows] == ["低保", "低保边缘", "特困"]
    assert [(e.row, e.code) for e in parsed.errors] == [(5, "ASSISTANCE_TYPE")]


def test_orphan_type_is_a_closed_set() -> None:
    parsed = parse_roster(
        "orphan",
        csv_table(
            "orphan",
            [
                {"公民身份号码": ID, "保障类型": "事实无人抚养儿童", "开始日期": "2024-01-01"},
                {"公民身份号码": OTHER, "保障类型": "留守儿童", "开始日期": "2024-01-01"},
            ],
        ),
    )
    assert parsed.rows[0]["benefit_type"] == "事实无人抚养儿童"
    assert [e.code for e in parsed.errors] == ["ORPHAN_TYPE"]


def test_roster_missing_a_header_is_rejected_by_the_reader() -> None:
    with pytest.raises(TableError) as err:
        csv_table("hukou_out", [], headers=("姓名", "公民身份号码", "迁出日期"))
    assert err.value.details == ["迁入地区划代码"]


def test_xlsx_roster_dates_are_quoted_as_iso_and_numeric_id_is_refused() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "公民身份号码", "死亡日期"])
    ws.append(["张三", ID, datetime(2026, 10, 15)])
    ws.append(["李四", 140425198001011235, datetime(2026, 10, 15)])
    buf = io.BytesIO()
    wb.save(buf)
    parsed = parse_roster("death", read_table(buf.getvalue(), "d.xlsx", spec=header_spec("death")))
    assert parsed.rows[0]["raw"] == {"死亡日期": "2026-10-15"}
    assert [(e.row, e.code) for e in parsed.errors] == [(3, "ID_CHARS")]


def test_iter_roster_streams_rows_and_error_lists() -> None:
    table = csv_table(
        "death", [{"公民身份号码": ID, "死亡日期": "2026-01-01"}, {"公民身份号码": "1"}]
    )
    items = list(iter_roster("death", table.rows))
    assert isinstance(items[0], dict) and isinstance(items[1], list)


def test_raw_text_renders_cells_as_a_clerk_wrote_them() -> None:
    assert raw_text(None) == ""
    assert raw_text(3.0) == "3"
    assert raw_text(datetime(2026, 1, 2)) == "2026-01-02"
    assert raw_text(" 长期 ") == "长期"


# --------------------------------------------------------------------------------------------
# Set-wise parsing (parse_roster) against the per-row reference (parse_roster_by_row)

X_ID = next(make_id(seq=f"{n:03d}") for n in range(1000) if make_id(seq=f"{n:03d}").endswith("X"))
_FW = {ord(c): ord(c) + 0xFEE0 for c in "0123456789Xx.-/"}
_IDS = (
    ID, OTHER, X_ID, X_ID.lower(), ID.translate(_FW), X_ID.lower().translate(_FW),
    f" {ID[:6]} {ID[6:14]} {ID[14:]} ", f"\u200b{ID}\ufeff", f"\u3000{ID}\t", ID[:-1] + "0",
    ID[:-1] + "1", ID[:15], ID[:17], ID + "1", ID[:6] + "29990101123" + "4", make_id(birth="18991231"),
    make_id(birth="19800230")[:-1] + "5", ID[:10] + "O" + ID[11:], "", " ", "\u3000", "\u2003",
)  # fmt: skip
_DATES = (
    "2030年05月01日", "2030年5月1日", "2030.05.01", "2030-05-01", "2030/5/1", "20300501",
    "2023-02-29", "2024/02/29", "2023年2月29日", "20230229", "2030-5/1", "2030-13-01",
    "0000-01-01", "２０３０－０５－０１", "２０２０年１月２日", " 2030 年 5 月 1 日 ", "2030.5.1",
    "2019-01-01", "2019-1-1", "2031-12-31", "长期", "abc", "2030-05-01T00:00", "1999/12/31",
    "\u200b2030-05-01", "", " ",
)  # fmt: skip
_CERT_DATES = (*_DATES, "长期", "长期有效", "长 期", "长期\u3000", "永久")
_DIVISIONS = (
    "140425", "140425001", "140425001002", "１４０４２５", "14042", "1404250", " 140425 ",
    "14O425", "140 425", "", "140425.0",
)  # fmt: skip
_CATEGORIES = (
    "肢体", "肢体残疾", "4", "04", "0", "8", "１", " 视力 ", "多重残疾", "残疾", "Limb", "",
    "4.0", "精神\u200b", "00000000000000000000001",
)  # fmt: skip
_GRADES = (
    "一级", "1级", "1", "壹级", "Ⅰ级", "I级", "IV", "四", "5", "五级", "三 级", "３级", "",
    "级", "ii", "Ⅳ", "叁", "2 ",
)  # fmt: skip
_STATUSES = ("正常", "注销", "冻结", "正 常", "作废", "", " 注销 ")
_CERTS = (
    ID + "41", ID + "41B", ID + "41B1", ID + "41B0", ID.lower() + "41b", X_ID.lower() + "72",
    ID[:-1] + "0" + "41", ID, ID + "81", ID + "45", (ID + "41").translate(_FW), ID + "41B12",
    f" {ID} 41 ", ID + "41C", "",
)  # fmt: skip
_ASSISTANCE = (
    "低保",
    "低保边缘",
    "特困",
    "一般",
    "低保家庭",
    "特困人员",
    "低保 ",
    "低\u200b保",
    "",
    "五保",
)
_ORPHANS = ("孤儿", "事实无人抚养儿童", "孤 儿", "孤儿 ", "", "孤儿院")
_NAMES = ("张三", " 李四 ", "", "\u3000王五\u3000", "O'Brien", '赵"六"', "a,b")

_POOLS: dict[str, tuple[str, ...]] = {
    "死亡日期": _DATES, "迁出日期": _DATES, "迁入地区划代码": _DIVISIONS, "残疾人证号": _CERTS,
    "残疾类别": _CATEGORIES, "残疾等级": _GRADES, "证件状态": _STATUSES, "有效期至": _CERT_DATES,
    "户籍区划代码": _DIVISIONS, "保障类别": _ASSISTANCE, "开始日期": _DATES, "终止日期": _DATES,
    "入监日期": _DATES, "出监日期": _DATES, "保障类型": _ORPHANS, "姓名": _NAMES,
    "公民身份号码": _IDS,
}  # fmt: skip


def hostile_rows(kind: str, count: int, seed: int) -> list[dict[str, str]]:
    """Rows mostly valid (so the set-wise path accepts many) with hostile cells mixed in."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        row = {}
        for header in ROSTERS[kind].headers:
            pool = _POOLS[header]
            row[header] = pool[0] if rng.random() < 0.5 else rng.choice(pool)
        rows.append(row)
    return rows


def roster_csv(
    kind: str, rows: list[dict[str, str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    headers = ("备注", *reversed(ROSTERS[kind].headers))  # any order, an unknown column
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow([f" {h} " for h in headers])
    for i, row in enumerate(rows):
        writer.writerow(["x", *(row[h] for h in headers[1:])])
        if i % 97 == 5:
            writer.writerow([""] * len(headers))  # a blank record: skipped, numbers kept
    return buf.getvalue().encode(encoding)


def roster_xlsx(kind: str, rows: list[dict[str, str]]) -> bytes:
    """The rows with typed cells where Excel would type them: dates, numbers."""
    wb = Workbook()
    ws = wb.active
    headers = ROSTERS[kind].headers
    ws.append(list(headers))
    for i, row in enumerate(rows):
        cells: list[object] = [row[h] or None for h in headers]
        for j, header in enumerate(headers):
            value = row[header]
            if i % 3 == 0 and header.endswith("日期") and value == "2030-05-01":
                cells[j] = datetime(2030, 5, 1) if i % 2 else date(2030, 5, 1)
            elif i % 3 == 1 and header.endswith("日期") and value == "20300501":
                cells[j] = 20300501
            elif i % 3 == 2 and value in ("4", "1", "140425"):
                cells[j] = float(value) if i % 2 else int(value)
            elif i % 7 == 0 and header.endswith("日期") and value == "2019-01-01":
                cells[j] = datetime(2019, 1, 1, 12, 30)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _typed(parsed):
    """Rows and errors with each value's type, so that 1 and True or a date and a datetime
    never pass for each other."""
    rows = [
        {k: (type(v).__name__, v) if k != "raw" else v for k, v in row.items()}
        for row in parsed.rows
    ]
    return rows, parsed.errors, parsed.unknown_headers


def _assert_same(kind: str, table) -> None:
    setwise, by_row = parse_roster(kind, table), parse_roster_by_row(kind, table)
    assert _typed(setwise) == _typed(by_row)
    assert setwise.rows, "some rows should be accepted"
    assert setwise.errors, "some rows should be rejected"


@pytest.mark.parametrize("kind", KINDS)
def test_setwise_parse_equals_the_per_row_parse_on_hostile_csv(kind: str) -> None:
    rows = hostile_rows(kind, 600, seed=KINDS.index(kind))
    _assert_same(kind, read_table(roster_csv(kind, rows), "r.csv", spec=header_spec(kind)))


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-8", ";", False), ("utf-8", "\t", True), ("gb18030", ",", False)],
)
def test_setwise_parse_equals_the_per_row_parse_whatever_the_csv_dialect(
    encoding: str, delimiter: str, bom: bool
) -> None:
    kind = "cert_base"
    data = roster_csv(kind, hostile_rows(kind, 300, seed=7), encoding=encoding, delimiter=delimiter)
    table = read_table((b"\xef\xbb\xbf" if bom else b"") + data, "r.csv", spec=header_spec(kind))
    assert table.encoding == ("gb18030" if encoding == "gb18030" else "utf-8")
    _assert_same(kind, table)


def test_setwise_parse_equals_the_per_row_parse_from_a_path_with_a_multiline_cell(
    tmp_path,
) -> None:
    kind = "assistance"
    rows = hostile_rows(kind, 300, seed=11)
    rows[40]["姓名"] = "张\n三"
    path = tmp_path / "r.csv"
    path.write_bytes(roster_csv(kind, rows))
    table = read_table(path, "r.csv", spec=header_spec(kind))
    assert table.csv_layout is not None and not table.csv_layout.simple
    _assert_same(kind, table)


@pytest.mark.parametrize("kind", ["death", "cert_base", "prison"])
def test_setwise_parse_equals_the_per_row_parse_on_xlsx_with_typed_cells(kind: str) -> None:
    rows = hostile_rows(kind, 300, seed=100 + KINDS.index(kind))
    _assert_same(kind, read_table(roster_xlsx(kind, rows), "r.xlsx", spec=header_spec(kind)))


def test_setwise_parse_keeps_row_numbers_column_and_chinese_reason() -> None:
    rows = [
        {"姓名": "张三", "公民身份号码": X_ID.lower(), "死亡日期": "２０２６年１月２日"},
        {"姓名": "李四", "公民身份号码": ID[:-1] + "0", "死亡日期": "2026-02-29"},
    ]
    parsed = parse_roster("death", read_table(roster_csv("death", rows), "d.csv"))
    assert [(r["row"], r["id_number"], r["event_date"]) for r in parsed.rows] == [
        (2, X_ID, date(2026, 1, 2))
    ]
    assert [(e.row, e.column, e.code) for e in parsed.errors] == [
        (3, "公民身份号码", "ID_CHECKSUM"),
        (3, "死亡日期", "DATE_INVALID"),
    ]
    assert "校验位" in parsed.errors[0].message


@pytest.mark.parametrize(
    "shape", ["long_and_short_records", "empty_line", "cr_line_ends", "lf_line_ends"]
)
def test_setwise_parse_equals_the_per_row_parse_on_irregular_csv(shape: str) -> None:
    kind = "hukou_out"
    lines = roster_csv(kind, hostile_rows(kind, 200, seed=5)).decode().split("\r\n")
    if shape == "long_and_short_records":
        lines[10] += ",surplus"
        lines[20] = lines[20].rsplit(",", 2)[0]
    elif shape == "empty_line":
        lines.insert(30, "")
    data = ("\r" if shape == "cr_line_ends" else "\n" if shape == "lf_line_ends" else "\r\n").join(
        lines
    )
    _assert_same(kind, read_table(data.encode(), "r.csv", spec=header_spec(kind)))


def _shaped_dates() -> list[str]:
    """Date texts of every listed form, real days and not, at the edges of years, months
    and days, with one- and two-digit parts."""
    texts = []
    for year in ("0000", "0001", "0999", "1900", "2023", "2024", "2100", "9999"):
        for month in (0, 1, 2, 4, 9, 10, 12, 13):
            for day in (0, 1, 9, 28, 29, 30, 31, 32):
                m, d = f"{month:02d}", f"{day:02d}"
                texts += [f"{year}{m}{d}", f"{year}年{month}月{day}日", f"{year}年{m}月{d}日"]
                texts += [f"{year}{sep}{m}{sep}{d}" for sep in "-/."]
                texts += [f"{year}{sep}{month}{sep}{day}" for sep in "-/."]
                texts += [f"{year}-{m}/{d}", f"{year}.{month}-{day}"]
    return texts


def test_setwise_dates_equal_parse_date_for_every_form_and_calendar_edge() -> None:
    rows = [{"姓名": "张三", "公民身份号码": ID, "死亡日期": text} for text in _shaped_dates()]
    _assert_same("death", read_table(roster_csv("death", rows), "d.csv", spec=header_spec("death")))


def _plain_cert_rows() -> list[dict[str, str]]:
    """Valid cert_base rows in every form a department writes: each category and grade word
    of core.cells, each date form, 长期 and an empty expiry, reissue suffixes, lower-case x,
    full-width digits, spaces."""
    from review.rosters import _CATEGORY_CELLS, _GRADE_CELLS

    categories, grades = list(_CATEGORY_CELLS), list(_GRADE_CELLS)
    expiries = ["2030年05月01日", "2030年5月1日", "2030.05.01", "2030-05-01", "2030/5/1"]
    expiries += ["20300501", "长期", "长期有效", "", "２０３０－０５－０１", " 2030-05-01"]
    ids = [ID, X_ID.lower(), ID.translate(_FW), f"{ID[:6]} {ID[6:14]} {ID[14:]}"]
    rows = []
    for i in range(max(len(categories), len(grades), len(expiries)) * len(ids)):
        number = ids[i % len(ids)]
        cert = number.upper().translate(str.maketrans("０１２３４５６７８９ＸX", "0123456789XX"))
        cert = cert.replace(" ", "") + "41" + ("", "B", "B2")[i % 3]
        rows.append(
            {
                "姓名": ("张三", " 李四 ", "")[i % 3],
                "公民身份号码": number,
                "残疾人证号": cert.lower() if i % 5 == 0 else cert,
                "残疾类别": categories[i % len(categories)],
                "残疾等级": grades[i % len(grades)],
                "证件状态": ("正常", "注销", "冻结", "正 常")[i % 4],
                "有效期至": expiries[i % len(expiries)],
                "户籍区划代码": ("140425", "140425001", "１４０４２５", "140425001002")[i % 4],
            }
        )
    return rows


def test_setwise_parse_takes_every_plain_form_without_the_per_row_parser() -> None:
    from review.rosters import parse_set

    table = read_table(
        roster_csv("cert_base", _plain_cert_rows()), "c.csv", spec=header_spec("cert_base")
    )
    with parse_set("cert_base", table) as parsed:
        assert parsed.fallback == []
    by_row = parse_roster_by_row("cert_base", table)
    assert not by_row.errors
    assert _typed(parse_roster("cert_base", table)) == _typed(by_row)


def test_setwise_id_check_character_equals_core_for_every_digit_at_every_place() -> None:
    first = "14042519800101123"
    ids = []
    for place in range(17):
        for digit in "0123456789":
            # keep the birth date real: of its places, vary the last digit only
            if place in range(6, 14) and (place != 13 or digit == "0"):
                continue
            stem = first[:place] + digit + first[place + 1 :]
            good = id_check_char(stem)
            ids += [stem + good, stem + ("0" if good != "0" else "1")]
    rows = [{"姓名": "张三", "公民身份号码": number, "死亡日期": "2020-01-01"} for number in ids]
    _assert_same("death", read_table(roster_csv("death", rows), "d.csv", spec=header_spec("death")))
