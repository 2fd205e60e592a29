"""The seven comparison rosters: one declarative table, one parser, errors per cell."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from core.numbers import id_check_char
from core.tabular import TableError, read_table
from review.rosters import KINDS, ROSTERS, header_spec, iter_roster, parse_roster, raw_text


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
