"""Importing the beneficiary roster: the rules of each row, and what an import writes.

The helpers at the top (``make_id``, ``roster_row``, ``csv_bytes``, ``xlsx_bytes``) are
imported by the other ``test_import_*`` modules.
"""

from __future__ import annotations

import csv
import gc
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from openpyxl import Workbook, load_workbook

from archive import imports
from archive.imports import Counties, RowError, match_headers, validate_rows, write
from archive.models import (
    CaseFile,
    Certificate,
    DataFlag,
    Enrolment,
    EnrolmentChange,
    FamilyStatus,
    ImportRecord,
    Person,
    UserProfile,
)
from core.cells import LONG_TERM
from core.numbers import id_check_char
from core.tabular import TableError

TODAY = date(2026, 11, 28)
COUNTY = "140425"  # 平顺县
OTHER_COUNTY = "140426"  # 黎城县

HEADERS = [
    "姓名", "公民身份号码", "性别", "残疾人证号", "残疾类别", "残疾等级", "证件有效期至",
    "户籍区划代码", "户籍地址", "家庭类别", "享受生活补贴", "生活补贴标准", "享受护理补贴",
    "护理补贴标准", "护理补贴发放对象", "补贴起始年月", "监护人", "联系电话",
]  # fmt: skip


def make_id(county: str = COUNTY, birth: str = "19800101", seq: int = 123) -> str:
    """A valid ID number; an odd ``seq`` is a man, an even one a woman."""
    first17 = f"{county}{birth}{seq:03d}"
    return first17 + id_check_char(first17)


ID_A = make_id(seq=123)
ID_B = make_id(seq=124)
ID_C = make_id(seq=125)


def roster_row(id_number: str = ID_A, **overrides: Any) -> dict[str, Any]:
    """A valid roster row (肢体三级, 低保, living subsidy 80 元) with ``overrides`` by header."""
    male = int(id_number[16]) % 2 == 1
    row: dict[str, Any] = {
        "姓名": "张三" if male else "李芳",
        "公民身份号码": id_number,
        "性别": "男" if male else "女",
        "残疾人证号": id_number + "43",
        "残疾类别": "肢体",
        "残疾等级": "三级",
        "证件有效期至": "长期",
        "户籍区划代码": COUNTY,
        "户籍地址": "平顺县青羊镇1号",
        "家庭类别": "低保",
        "享受生活补贴": "是",
        "生活补贴标准": "80",
        "享受护理补贴": "否",
        "护理补贴标准": "",
        "护理补贴发放对象": "",
        "补贴起始年月": "2024-01",
        "监护人": "",
        "联系电话": "13800000000",
    }
    row.update(overrides)
    return row


def many_rows(count: int) -> list[dict[str, Any]]:
    """``count`` valid roster rows of different people (900 per birth date), for imports large
    enough to show progress."""
    rows = []
    for i in range(count):
        birth = (date(1950, 1, 1) + timedelta(days=i // 900)).strftime("%Y%m%d")
        rows.append(roster_row(make_id(birth=birth, seq=i % 900 + 100)))
    return rows


def csv_bytes(
    rows: list[dict[str, Any]], headers: list[str] | None = None, encoding: str = "utf-8"
) -> bytes:
    headers = headers or HEADERS
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(h.strip()) is None else row.get(h.strip()) for h in headers])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    headers = headers or HEADERS
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h.strip()) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def validate(rows: list[dict[str, Any]], headers: list[str] | None = None, **kwargs: Any):
    """The pure validation layer on in-memory rows (no database, no file)."""
    headers = headers or HEADERS
    columns, _ = match_headers(headers)
    table_rows = [
        (number, {h: row.get(h.strip()) for h in headers})
        for number, row in enumerate(rows, start=2)
    ]
    return validate_rows(table_rows, columns, counties=Counties.built_in(), today=TODAY, **kwargs)


def codes(validation: imports.Validation) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in validation.errors]


def run(data: bytes, filename: str = "roster.csv", **kwargs: Any) -> imports.ImportResult:
    kwargs.setdefault("today", TODAY)
    return imports.import_beneficiaries(data, filename, **kwargs)


def counts(result: imports.ImportResult) -> tuple[int, int, int, int]:
    return result.created, result.updated, result.unchanged, len(result.rejected_rows)


def history() -> tuple[int, int, int]:
    return (
        Certificate.objects.count(),
        FamilyStatus.objects.count(),
        EnrolmentChange.objects.count(),
    )


# ---------------------------------------------------------------------------------------------
# Headers


def test_headers_match_in_any_order_with_spaces_around_and_inside() -> None:
    headers = [
        "  公民身份号码 ",
        "姓　名",
        "户籍区划代码",
        "家庭 类别",
        "享受护理补贴",
        "享受生活补贴",
    ]
    columns, unknown = match_headers(headers)
    assert columns["姓名"] == "姓　名"
    assert columns["家庭类别"] == "家庭 类别"
    assert unknown == []


def test_a_row_under_headers_written_otherwise_or_beside_an_unknown_column_validates_alike() -> (
    None
):
    good, wrong = roster_row(ID_A), roster_row(ID_B, 残疾等级="五级", 性别="男")
    written = {h: h.replace("类别", "类 别") for h in HEADERS}  # spaces inside are ignored
    outcomes = []
    for names in ({h: h for h in HEADERS}, written):
        headers = [*names.values(), "备注"]
        columns, unknown = match_headers(headers)
        rows = [
            (n, {**{names[h]: row[h] for h in HEADERS}, "备注": "残疾等级"})
            for n, row in enumerate((good, wrong), start=2)
        ]
        validation = validate_rows(rows, columns, counties=Counties.built_in(), today=TODAY)
        assert unknown == ["备注"]
        outcomes.append((validation.rows, codes(validation), validation.flags))
    assert outcomes[0] == outcomes[1]
    assert [r.id_number for r in outcomes[0][0]] == [ID_A]
    assert outcomes[0][1] == [(3, "残疾等级", "GRADE")]


def test_missing_required_headers_are_one_whole_file_error_listing_all_of_them() -> None:
    with pytest.raises(TableError) as caught:
        match_headers(["姓名", "身份证号", "户籍区划代码"])
    assert caught.value.code == "TABLE_MISSING_HEADERS"
    assert caught.value.details == ["公民身份号码", "家庭类别", "享受生活补贴", "享受护理补贴"]


def test_two_headers_for_the_same_column_are_refused() -> None:
    with pytest.raises(TableError) as caught:
        match_headers([*HEADERS, "姓 名"])
    assert caught.value.code == "TABLE_DUPLICATE_HEADER"


def test_columns_in_another_order_validate_the_same() -> None:
    shuffled = list(reversed(HEADERS))
    validation = validate([roster_row()], shuffled)
    assert validation.errors == []
    assert validation.rows[0].id_number == ID_A


@pytest.mark.django_db
def test_unknown_columns_are_ignored_and_reported_once() -> None:
    data = csv_bytes([roster_row(), roster_row(ID_B)], [*HEADERS, "备注", "乡镇"])
    result = run(data, dry_run=True)
    assert result.errors == []
    assert result.notices == ["以下列不属于花名册，已忽略：备注、乡镇"]


# ---------------------------------------------------------------------------------------------
# Row rules (pure)


def test_a_valid_row_is_normalised() -> None:
    [row] = validate([roster_row(生活补贴标准="80.50元")]).rows
    assert (row.name, row.sex, row.birth_date) == ("张三", "男", date(1980, 1, 1))
    assert row.certificate is not None and row.certificate.stem == ID_A + "43"
    assert row.county == COUNTY
    assert row.living and not row.nursing
    assert row.living_amount == Decimal("80.50")
    assert row.start_month == date(2024, 1, 1)
    assert row.payee == "本人"


def flags(validation: imports.Validation) -> list[tuple[int, str, str]]:
    return [(f.row, f.column, f.code) for f in validation.flags]


def test_sex_that_contradicts_the_id_number_is_kept_and_flagged() -> None:
    validation = validate([roster_row(性别="女")])
    assert codes(validation) == []
    assert flags(validation) == [(2, "性别", "SEX_MISMATCH")]
    assert "男" in validation.flags[0].message
    assert validation.rows[0].sex == "男"  # the ID number decides


def test_invalid_id_number_gives_the_exact_reason() -> None:
    bad = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
    validation = validate([roster_row(bad, 残疾人证号="")])
    assert ("公民身份号码", "ID_CHECKSUM") in [(e.column, e.code) for e in validation.errors]


def test_certificate_requires_category_and_grade() -> None:
    validation = validate([roster_row(残疾类别="", 残疾等级=" ")])
    assert codes(validation) == [(2, "残疾类别", "REQUIRED"), (2, "残疾等级", "REQUIRED")]


def test_certificate_of_another_person_is_kept_and_flagged() -> None:
    validation = validate([roster_row(残疾人证号=ID_C + "43")])
    assert codes(validation) == []
    assert flags(validation) == [(2, "残疾人证号", "CERT_ID_MISMATCH")]
    assert ID_C not in validation.flags[0].message  # another person's ID is masked


def test_category_or_grade_contradicting_the_certificate_number_is_kept_and_flagged() -> None:
    validation = validate([roster_row(残疾等级="二级")])
    assert codes(validation) == []
    assert flags(validation) == [(2, "残疾人证号", "CERT_CODE_MISMATCH")]
    assert "肢体残疾三级" in validation.flags[0].message
    assert "肢体残疾二级" in validation.flags[0].message
    [row] = validation.rows
    assert (row.category, row.grade) == (4, 2)  # as recorded; the number says 4, 3


def test_a_subsidy_without_a_certificate_is_kept_and_flagged() -> None:
    validation = validate([roster_row(残疾人证号="", 残疾类别="", 残疾等级="", 享受护理补贴="是")])
    assert codes(validation) == []
    assert flags(validation) == [
        (2, "享受护理补贴", "NURSING_NO_CERT"),
        (2, "享受生活补贴", "LIVING_NO_CERT"),
    ]
    assert [f.subsidy for f in validation.flags] == ["nursing", "living"]


def test_a_subsidy_the_rules_do_not_grant_is_kept_and_flagged() -> None:
    validation = validate([roster_row(享受护理补贴="是", 家庭类别="一般")])
    assert codes(validation) == []
    assert flags(validation) == [
        (2, "享受护理补贴", "NURSING_NOT_QUALIFIED"),  # 肢体三级
        (2, "家庭类别", "LIVING_NOT_QUALIFIED"),
    ]
    assert "肢体残疾三级" in validation.flags[0].message


def test_a_rejected_row_reports_no_flags() -> None:
    validation = validate([roster_row(残疾等级="二级", 家庭类别="富裕")])
    assert codes(validation) == [(2, "家庭类别", "FAMILY_TYPE")]
    assert validation.flags == []


def test_every_problem_of_a_row_is_reported_not_only_the_first() -> None:
    validation = validate(
        [roster_row(性别="未知", 家庭类别="富裕", 享受生活补贴="也许", 生活补贴标准="-5")]
    )
    assert [e.code for e in validation.errors] == [
        "SEX",
        "FAMILY_TYPE",
        "YES_NO",
        "AMOUNT",
    ]


def test_duplicate_id_for_the_same_county_rejects_both_rows_naming_both() -> None:
    validation = validate([roster_row(), roster_row(ID_B), roster_row(ID_A)])
    assert codes(validation) == [
        (2, "公民身份号码", "DUPLICATE_ROW"),
        (4, "公民身份号码", "DUPLICATE_ROW"),
    ]
    for error in validation.errors:
        assert "第2行" in error.message and "第4行" in error.message
    assert [r.id_number for r in validation.rows] == [ID_B]


def test_duplicate_is_found_across_old_and_new_codes_of_one_county() -> None:
    # 140421 (长治县, abolished 2018) is now 140404 (上党区): the same county twice.
    validation = validate([roster_row(户籍区划代码="140421"), roster_row(户籍区划代码="140404101")])
    assert [e.code for e in validation.errors] == ["DUPLICATE_ROW", "DUPLICATE_ROW"]


def test_same_person_in_two_counties_is_kept_with_a_notice() -> None:
    validation = validate([roster_row(), roster_row(户籍区划代码=OTHER_COUNTY)])
    assert validation.errors == []
    assert len(validation.rows) == 2
    assert "多个县（区）" in validation.notices[0]


def test_full_width_digits_spaces_and_lower_case_x_are_normalised() -> None:
    id_x = next(make_id(seq=seq) for seq in range(100, 999) if make_id(seq=seq).endswith("X"))
    full_width = id_x[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "ｘ"
    row = roster_row(
        id_x,
        公民身份号码=f" {full_width[:6]} {full_width[6:]}",
        残疾人证号=full_width + "４３",
        户籍区划代码="１４０４２５",
        生活补贴标准="８０",
        补贴起始年月="２０２４年３月",
    )
    validation = validate([row])
    assert validation.errors == []
    [valid] = validation.rows
    assert valid.id_number == id_x
    assert valid.certificate is not None and valid.certificate.value == id_x + "43"
    assert (valid.hukou_code, valid.living_amount) == (COUNTY, Decimal("80.00"))
    assert valid.start_month == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("category", "grade"),
    [
        ("肢体", "三级"),
        ("肢体残疾", "3级"),
        ("4", "3"),
        ("肢体", "叁级"),
        ("肢体", "Ⅲ级"),
        (4, 3.0),
    ],
)
def test_category_and_grade_forms_are_accepted(category: object, grade: object) -> None:
    validation = validate([roster_row(残疾类别=category, 残疾等级=grade)])
    assert validation.errors == []


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ("2030年05月01日", date(2030, 5, 1)),
        ("2030年5月1日", date(2030, 5, 1)),
        ("2030.05.01", date(2030, 5, 1)),
        ("2030-05-01", date(2030, 5, 1)),
        ("2030/5/1", date(2030, 5, 1)),
        ("20300501", date(2030, 5, 1)),
        ("长期", LONG_TERM),
        ("", None),
    ],
)
def test_expiry_date_forms_are_accepted(expiry: str, expected: object) -> None:
    [row] = validate([roster_row(证件有效期至=expiry)]).rows
    assert row.expiry == expected


def test_unparseable_date_and_month_are_cell_errors() -> None:
    validation = validate([roster_row(证件有效期至="明年", 补贴起始年月="2024-13")])
    assert codes(validation) == [(2, "证件有效期至", "DATE_FORMAT"), (2, "补贴起始年月", "MONTH")]


def test_yes_no_forms_are_accepted() -> None:
    forms = [("是", "否"), ("Y", "N"), ("1", "0"), ("TRUE", "false")]
    rows = [
        roster_row(make_id(seq=101 + 2 * i), 享受生活补贴=yes, 享受护理补贴=no)
        for i, (yes, no) in enumerate(forms)
    ]
    validation = validate(rows)
    assert validation.errors == []
    assert all(r.living and not r.nursing for r in validation.rows)


def test_division_outside_every_known_county_is_rejected() -> None:
    validation = validate([roster_row(户籍区划代码="110105")])
    assert codes(validation) == [(2, "户籍区划代码", "DIVISION_UNKNOWN")]


def test_pre_2018_county_code_is_mapped_to_its_successor_and_kept_as_written() -> None:
    [row] = validate([roster_row(户籍区划代码="140421100")]).rows
    assert (row.hukou_code, row.county) == ("140421100", "140404")


def test_rows_outside_the_jurisdiction_are_rejected_in_chinese() -> None:
    validation = validate(
        [roster_row(), roster_row(ID_B, 户籍区划代码=OTHER_COUNTY)],
        covers=lambda county: county == COUNTY,
    )
    assert codes(validation) == [(3, "户籍区划代码", "OUT_OF_JURISDICTION")]
    assert "不在您的辖区内" in validation.errors[0].message


def test_row_error_reads_as_row_column_reason() -> None:
    error = RowError(5, "性别", "SEX_MISMATCH", "性别与身份号码不符")
    assert str(error) == "第5行，性别：性别与身份号码不符"
    assert error.as_dict() == {
        "row": 5,
        "column": "性别",
        "code": "SEX_MISMATCH",
        "message": "性别与身份号码不符",
    }


# ---------------------------------------------------------------------------------------------
# Files and encodings


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["utf-8", "utf-8-sig", "gb18030", "xlsx"])
def test_roster_is_read_from_every_accepted_file_form(form: str) -> None:
    rows = [roster_row(), roster_row(ID_B, 姓名="欧阳娜娜")]
    if form == "xlsx":
        data, filename = xlsx_bytes(rows), "roster.xlsx"
    else:
        data, filename = csv_bytes(rows, encoding=form), "roster.csv"
    result = run(data, filename)
    assert counts(result) == (2, 0, 0, 0)
    assert Person.objects.get(id_number=ID_B).name == "欧阳娜娜"


@pytest.mark.django_db
def test_xlsx_with_dates_and_numbers_as_cell_types_is_read() -> None:
    from datetime import datetime

    row = roster_row(
        证件有效期至=datetime(2030, 5, 1),
        补贴起始年月=datetime(2024, 3, 1),
        生活补贴标准=80,
        户籍区划代码=140425,
        联系电话=13800000000,
    )
    result = run(xlsx_bytes([row]), "roster.xlsx")
    assert counts(result) == (1, 0, 0, 0)
    person = Person.objects.get(id_number=ID_A)
    assert person.phone == "13800000000"
    assert person.certificates.get().expiry_date == date(2030, 5, 1)
    assert person.enrolments.get().start_month == date(2024, 3, 1)


@pytest.mark.django_db
def test_numeric_id_cell_from_excel_is_rejected_with_a_hint() -> None:
    row = roster_row(公民身份号码=int(ID_A[:15]), 残疾人证号="")
    result = run(xlsx_bytes([row]), "roster.xlsx")
    assert result.errors[0].code == "ID_CHARS"
    assert "文本" in result.errors[0].message
    assert Person.objects.count() == 0


def formula_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    row = roster_row()
    sheet.append([row[h] for h in HEADERS])
    sheet["L2"] = "=60+20"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BAD_FILES = {
    "empty": (b"", {}, "TABLE_EMPTY"),
    "wrong headers": ("名字,身份证\n张三,1\n".encode(), {}, "TABLE_MISSING_HEADERS"),
    "PDF renamed .xlsx": (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", {}, "TABLE_FORMAT"),
    "formula cell": (None, {}, "TABLE_FORMULA"),
    "oversize": (None, {"max_bytes": 200}, "TABLE_TOO_LARGE"),
    "too many rows": (None, {"max_rows": 2}, "TABLE_TOO_MANY_ROWS"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_as_a_whole_and_write_nothing(case: str) -> None:
    data, kwargs, code = BAD_FILES[case]
    if case == "formula cell":
        data = formula_xlsx()
    elif data is None:
        data = csv_bytes([roster_row(), roster_row(ID_B), roster_row(ID_C)])
    with pytest.raises(TableError) as caught:
        run(data, "roster.xlsx", **kwargs)
    assert caught.value.code == code
    assert caught.value.message  # Chinese text for the clerk
    assert Person.objects.count() == ImportRecord.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Writing


@pytest.mark.django_db
def test_a_large_import_leaves_the_planner_statistics_of_what_it_wrote(monkeypatch) -> None:
    """A large import refreshes the statistics of the tables it wrote on PostgreSQL (the next
    import's lookups are planned for the rows now there); elsewhere it writes the same."""
    monkeypatch.setattr(write, "ANALYZE_AFTER", 1)
    assert counts(run(csv_bytes([roster_row(), roster_row(ID_B)]))) == (2, 0, 0, 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'archive_person'")
            assert cursor.fetchone()[0] == Person.objects.count() == 2


@pytest.mark.django_db
def test_a_load_larger_than_the_archive_checks_its_keys_at_once_and_leaves_them_as_found(
    monkeypatch, caplog
) -> None:
    """On PostgreSQL a load that more than doubles the archive drops the keys between the
    tables it writes and adds them again at the end (archive.pgcopy.keys_checked_at_the_end);
    a smaller one, and every import elsewhere, leaves them to be checked row by row."""
    from tests.helpers import foreign_keys

    monkeypatch.setattr(write, "BULK_LOAD_AFTER", 2)

    def constraints() -> set[tuple[str, str, str]]:
        return foreign_keys() if connection.vendor == "postgresql" else set()

    before = constraints()
    caplog.set_level("INFO", logger="archive.imports.run")
    caplog.set_level("INFO", logger="archive.pgcopy")
    rows = [
        roster_row(),
        roster_row(ID_B, 享受护理补贴="是", 残疾人证号=ID_B + "41", 残疾等级="一级"),
    ]
    assert counts(run(csv_bytes(rows))) == (2, 0, 0, 0)
    at_once = "keys between its tables checked at once"
    assert (at_once in caplog.text) == (connection.vendor == "postgresql"), caplog.text
    assert constraints() == before
    assert CaseFile.objects.count() == 2 and Enrolment.objects.count() == 3
    caplog.clear()
    assert counts(run(csv_bytes([roster_row(ID_C)]))) == (1, 0, 0, 0)
    assert at_once not in caplog.text


def _varied_rows(first_seq: int) -> list[dict[str, Any]]:
    """Rows whose plans depend on each other's: one person twice (two counties, the last
    row's facts win), a flagged nursing subsidy without a certificate, a plain row."""
    a, b, c = (make_id(seq=first_seq + i) for i in range(3))
    return [
        roster_row(a),
        roster_row(b, 残疾人证号="", 残疾类别="", 残疾等级="", 享受护理补贴="是"),
        roster_row(a, 户籍区划代码=OTHER_COUNTY, 联系电话="13900000000"),
        roster_row(c),
    ]


def _archive_of(seqs: range) -> list[tuple[Any, ...]]:
    """What the archive holds for the IDs with these serials, without keys or times: people,
    enrolments with their changes, flags and case files, each by the ID's serial."""
    ids = {make_id(seq=seq): index for index, seq in enumerate(seqs)}
    people = Person.objects.filter(id_number__in=ids)
    return sorted(
        [("person", ids[p.id_number], p.name, p.county_id, p.phone) for p in people]
        + [
            ("enrolment", ids[e.person.id_number], e.subsidy, e.county_id, e.status,
             e.changes.count())
            for e in Enrolment.objects.filter(person__in=people).select_related("person")
        ]
        + [
            ("flag", ids[f.person.id_number], f.code, f.enrolment_id is not None)
            for f in DataFlag.objects.filter(person__in=people).select_related("person")
        ]
        + [
            ("case file", ids[f.person.id_number], f.county_id, f.completeness)
            for f in CaseFile.objects.filter(person__in=people).select_related("person")
        ]
    )  # fmt: skip


def test_rows_of_one_id_stay_in_one_part_with_their_flags_and_the_files_order() -> None:
    validation = validate(_varied_rows(300) + _varied_rows(310))
    parts = imports.plan.in_parts(validation, 2)
    # two people a part, in the order of their first rows: a b | c a' | b' c'
    assert [[row.row for row in part.rows] for part in parts] == [[2, 3, 4], [5, 6, 8], [7, 9]]
    assert [[flag.row for flag in part.flags] for part in parts] == [[3, 3], [], [7, 7]]
    assert imports.plan.in_parts(validation) == [validation]


@pytest.mark.django_db
def test_an_import_in_parts_writes_and_counts_what_one_plan_would(monkeypatch) -> None:
    """Each person's rows are planned together whatever the part size: a roster of a million
    rows is planned 100 000 rows at a time (archive.imports.plan.PLAN_ROWS)."""
    whole = run(csv_bytes(_varied_rows(300)))
    monkeypatch.setattr(imports.plan, "PLAN_ROWS", 1)
    progress: list[tuple[str, int, int]] = []
    parted = run(csv_bytes(_varied_rows(310)), progress=lambda *step: progress.append(step))
    assert counts(parted) == counts(whole) == (4, 0, 0, 0)  # rows, not people
    assert _archive_of(range(310, 313)) == _archive_of(range(300, 303))
    assert len(parted.flagged_rows) == len(whole.flagged_rows) == 1
    record = ImportRecord.objects.get(pk=parted.record_id)
    assert (record.created, record.updated, record.unchanged, record.flagged) == (4, 0, 0, 1)
    # the bar counts the file's rows, part after part
    writes = [(done, total) for stage, done, total in progress if stage == "write"]
    assert writes == sorted(writes) and writes[-1] == (4, 4)
    again = run(csv_bytes(_varied_rows(310)))
    assert counts(again) == (0, 0, 4, 0)


@pytest.mark.django_db
def test_a_large_import_opens_its_case_files_on_the_statistics_of_the_rows_it_wrote(
    monkeypatch,
) -> None:
    """The case files' query joins the people and enrolments just written; planned on tables
    believed empty (autovacuum after a purge) it took minutes at 100 000 rows."""
    monkeypatch.setattr(write, "ANALYZE_AFTER", 1)
    seen: list[tuple[str, float]] = []
    open_case_files = write.casefiles.open_case_files

    def opening(pairs):
        if connection.vendor != "postgresql":
            return open_case_files(pairs)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class"
                " WHERE relname IN ('archive_person', 'archive_enrolment') ORDER BY relname"
            )
            seen.extend(cursor.fetchall())
        return open_case_files(pairs)

    monkeypatch.setattr(write.casefiles, "open_case_files", opening)
    rows = [
        roster_row(),
        roster_row(ID_B, 享受护理补贴="是", 残疾人证号=ID_B + "41", 残疾等级="一级"),
    ]
    assert counts(run(csv_bytes(rows))) == (2, 0, 0, 0)
    assert CaseFile.objects.count() == 2
    if connection.vendor == "postgresql":
        assert seen == [("archive_enrolment", 3), ("archive_person", 2)]


@pytest.mark.django_db
def test_first_import_creates_person_certificate_family_status_enrolments_and_history() -> None:
    rows = [
        roster_row(),
        roster_row(
            ID_B,
            残疾人证号=ID_B + "61",
            残疾类别="精神",
            残疾等级="一级",
            证件有效期至="2030-05-01",
            家庭类别="特困",
            享受护理补贴="是",
            护理补贴标准="90",
            护理补贴发放对象="儿童福利机构",
        ),
    ]
    result = run(csv_bytes(rows))
    assert counts(result) == (2, 0, 0, 0)
    assert result.outcomes == {2: "created", 3: "created"}

    b = Person.objects.get(id_number=ID_B)
    assert (b.name, b.sex, b.birth_date, b.hukou_code, b.county_id) == (
        "李芳",
        "女",
        date(1980, 1, 1),
        COUNTY,
        COUNTY,
    )
    cert = b.certificates.get()
    assert (cert.number, cert.category, cert.grade, cert.expiry_date, cert.is_current) == (
        ID_B + "61",
        6,
        1,
        date(2030, 5, 1),
        True,
    )
    assert b.family_statuses.get().family_type == "特困"
    nursing = b.enrolments.get(subsidy="nursing")
    assert (nursing.status, nursing.monthly_amount, nursing.payee, nursing.county_id) == (
        "active",
        Decimal("90.00"),
        "儿童福利机构",
        COUNTY,
    )
    a_cert = Certificate.objects.get(person__id_number=ID_A)
    assert a_cert.long_term and a_cert.expiry_date is None

    record = ImportRecord.objects.get()
    assert result.record_id == record.pk
    assert (record.kind, record.filename, record.mode) == ("beneficiaries", "roster.csv", "atomic")
    assert (record.created, record.updated, record.unchanged, record.rejected) == (2, 0, 0, 0)
    assert len(record.sha256) == 64
    changes = EnrolmentChange.objects.all()
    assert changes.count() == 3  # A living, B living, B nursing
    assert {c.action for c in changes} == {"enrol"}
    assert {c.source for c in changes} == {f"导入 #{record.pk}"}


@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing_the_second_time() -> None:
    data = csv_bytes(
        [roster_row(), roster_row(ID_B, 享受护理补贴="是", 残疾等级="一级", 残疾人证号=ID_B + "41")]
    )
    run(data)
    before = history()
    second = run(data)
    assert counts(second) == (0, 0, 2, 0)
    assert history() == before
    assert ImportRecord.objects.count() == 2  # each import is kept as a record


@pytest.mark.django_db
def test_same_file_with_other_column_order_and_encoding_is_still_unchanged() -> None:
    rows = [roster_row(), roster_row(ID_B)]
    run(csv_bytes(rows))
    again = run(xlsx_bytes(rows, list(reversed(HEADERS))), "again.xlsx")
    assert counts(again) == (0, 0, 2, 0)


@pytest.mark.django_db
def test_atomic_import_with_one_bad_row_writes_nothing() -> None:
    data = csv_bytes([roster_row(), roster_row(ID_B, 家庭类别="富裕"), roster_row(ID_C)])
    result = run(data)
    assert result.rejected and not result.written
    assert counts(result) == (0, 0, 0, 1)
    assert result.errors[0].row == 3
    assert Person.objects.count() == EnrolmentChange.objects.count() == 0
    assert ImportRecord.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_writes_valid_rows_and_returns_the_rejected_ones_as_xlsx() -> None:
    rows = [roster_row(), roster_row(ID_B, 家庭类别="富裕"), roster_row(ID_C)]
    data = csv_bytes(rows)
    result = run(data, mode=imports.SKIP_INVALID)
    assert counts(result) == (2, 0, 0, 1)
    assert set(Person.objects.values_list("id_number", flat=True)) == {ID_A, ID_C}
    record = ImportRecord.objects.get()
    assert (record.mode, record.rejected) == ("skip_invalid", 1)

    from core.tabular import read_table

    content = imports.rejected_rows_xlsx(read_table(data, "r.csv").rows, result.errors)
    sheet = load_workbook(io.BytesIO(content)).active
    values = list(sheet.values)
    assert list(values[0]) == [*HEADERS, "错误原因"]
    assert len(values) == 2
    assert values[1][1] == ID_B
    assert "第3行" in values[1][-1] and "家庭类别" in values[1][-1]


def test_rejected_rows_file_keeps_formula_like_text_as_text() -> None:
    rows = [
        (2, {"姓名": '=HYPERLINK("http://x")', "备注": "a\x07b"}),
        (3, {"姓名": "好", "备注": ""}),
    ]
    errors = [RowError(2, "姓名", "X", "坏")]
    sheet = load_workbook(io.BytesIO(imports.rejected_rows_xlsx(rows, errors))).active
    assert [c.value for c in sheet[1]] == ["姓名", "备注", "错误原因"]
    assert sheet.max_row == 2
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("=")
    assert sheet["B2"].value == "ab"
    assert sheet["C2"].value == "第2行 姓名：坏"


@pytest.mark.django_db
def test_dry_run_reports_outcomes_but_writes_and_records_nothing() -> None:
    run(csv_bytes([roster_row()]))
    before = (Person.objects.count(), ImportRecord.objects.count(), history())
    result = run(csv_bytes([roster_row(家庭类别="特困"), roster_row(ID_B)]), dry_run=True)
    assert result.outcomes == {2: "updated", 3: "created"}
    assert result.record_id is None and not result.written
    assert (Person.objects.count(), ImportRecord.objects.count(), history()) == before


@pytest.mark.django_db
def test_changed_certificate_closes_the_old_one_and_opens_a_new_one() -> None:
    run(csv_bytes([roster_row()]))
    result = run(csv_bytes([roster_row(残疾人证号=ID_A + "42B1", 残疾等级="二级")]))
    assert counts(result) == (0, 1, 0, 0)
    old, new = Certificate.objects.filter(person__id_number=ID_A).order_by("id")
    assert (old.is_current, old.superseded_at is not None) == (False, True)
    assert (new.is_current, new.number, new.stem, new.grade) == (
        True,
        ID_A + "42B1",
        ID_A + "42",
        2,
    )


@pytest.mark.django_db
def test_same_certificate_keeps_its_status_and_issue_date() -> None:
    run(csv_bytes([roster_row()]))
    Certificate.objects.update(status="冻结", issue_date=date(2020, 1, 1))
    result = run(csv_bytes([roster_row(证件有效期至="2035-01-01")]))
    assert counts(result) == (0, 1, 0, 0)
    current = Certificate.objects.get(is_current=True)
    assert (current.status, current.issue_date, current.expiry_date) == (
        "冻结",
        date(2020, 1, 1),
        date(2035, 1, 1),
    )


@pytest.mark.django_db
def test_empty_certificate_cell_closes_the_certificate_but_an_absent_column_does_not() -> None:
    run(csv_bytes([roster_row(), roster_row(ID_B)]))
    without_column = [
        h for h in HEADERS if h not in ("残疾人证号", "残疾类别", "残疾等级", "证件有效期至")
    ]
    result = run(csv_bytes([roster_row(), roster_row(ID_B)], without_column))
    assert counts(result) == (0, 0, 2, 0)
    result = run(csv_bytes([roster_row(残疾人证号="", 残疾类别="", 残疾等级="")]))
    assert counts(result) == (0, 1, 0, 0)
    assert not Certificate.objects.filter(person__id_number=ID_A, is_current=True).exists()


@pytest.mark.django_db
def test_family_status_change_closes_the_open_row_and_opens_a_new_one() -> None:
    run(csv_bytes([roster_row()]), today=date(2026, 1, 5))
    result = run(csv_bytes([roster_row(家庭类别="低保边缘")]), today=TODAY)
    assert counts(result) == (0, 1, 0, 0)
    old, new = FamilyStatus.objects.order_by("id")
    assert (old.family_type, old.start_date, old.end_date) == ("低保", date(2026, 1, 5), TODAY)
    assert (new.family_type, new.start_date, new.end_date) == ("低保边缘", TODAY, None)


@pytest.mark.django_db
def test_person_fields_are_updated_in_place() -> None:
    run(csv_bytes([roster_row()]))
    result = run(csv_bytes([roster_row(姓名="张叁", 联系电话="13900000000", 监护人="张父")]))
    assert counts(result) == (0, 1, 0, 0)
    person = Person.objects.get()
    assert (person.name, person.phone, person.guardian) == ("张叁", "13900000000", "张父")
    assert history() == (1, 1, 1)


@pytest.mark.django_db
def test_absent_optional_column_leaves_the_stored_value_alone() -> None:
    run(csv_bytes([roster_row()]))
    headers = [h for h in HEADERS if h not in ("联系电话", "生活补贴标准")]
    result = run(csv_bytes([roster_row()], headers))
    assert counts(result) == (0, 0, 1, 0)
    assert Person.objects.get().phone == "13800000000"
    assert Enrolment.objects.get().monthly_amount == Decimal("80.00")


@pytest.mark.django_db
def test_enrolment_changes_amend_stop_and_resume_each_with_a_history_entry() -> None:
    run(csv_bytes([roster_row()]))
    amended = run(csv_bytes([roster_row(生活补贴标准="90")]))
    stopped = run(csv_bytes([roster_row(享受生活补贴="否")]))
    resumed = run(csv_bytes([roster_row()]))
    assert [counts(r) for r in (amended, stopped, resumed)] == [(0, 1, 0, 0)] * 3
    enrolment = Enrolment.objects.get()
    assert (enrolment.status, enrolment.monthly_amount, enrolment.stop_month) == (
        "active",
        Decimal("80.00"),
        None,
    )
    changes = list(enrolment.changes.order_by("id"))
    assert [(c.action, c.from_status, c.to_status) for c in changes] == [
        ("enrol", "", "active"),
        ("amend", "active", "active"),
        ("stop", "active", "stopped"),
        ("resume", "stopped", "active"),
    ]
    assert "80.00→90.00" in changes[1].note
    assert changes[2].reason == "OTHER" and "享受生活补贴" in changes[2].note
    records = list(ImportRecord.objects.order_by("id").values_list("pk", flat=True))
    assert [c.source for c in changes] == [f"导入 #{pk}" for pk in records]


@pytest.mark.django_db
def test_a_person_enrolled_by_two_counties_is_kept_twice() -> None:
    result = run(csv_bytes([roster_row(), roster_row(户籍区划代码=OTHER_COUNTY)]))
    assert counts(result) == (2, 0, 0, 0)
    assert Person.objects.count() == 1
    assert set(Enrolment.objects.values_list("county_id", flat=True)) == {COUNTY, OTHER_COUNTY}
    assert counts(run(csv_bytes([roster_row(), roster_row(户籍区划代码=OTHER_COUNTY)]))) == (
        0,
        0,
        2,
        0,
    )


@pytest.mark.django_db
def test_pre_2018_hukou_code_enrols_in_the_successor_county() -> None:
    run(csv_bytes([roster_row(户籍区划代码="140481")]))
    person = Person.objects.get()
    assert (person.hukou_code, person.county_id) == ("140481", "140406")
    assert Enrolment.objects.get().county_id == "140406"


@pytest.mark.django_db
def test_county_user_importing_another_countys_rows_gets_them_rejected(make_user) -> None:
    clerk = make_user("pingshun", COUNTY)
    data = csv_bytes([roster_row(), roster_row(ID_B, 户籍区划代码=OTHER_COUNTY)])
    result = run(data, user=clerk)
    assert result.rejected and Person.objects.count() == 0
    assert [(e.row, e.code) for e in result.errors] == [(3, "OUT_OF_JURISDICTION")]
    result = run(data, user=clerk, mode=imports.SKIP_INVALID)
    assert counts(result) == (1, 0, 0, 1)
    assert ImportRecord.objects.get().imported_by == clerk
    assert EnrolmentChange.objects.get().changed_by == clerk


@pytest.mark.django_db
def test_city_user_covers_every_county_of_the_city(make_user) -> None:
    officer = make_user("changzhi", "140400")
    data = csv_bytes([roster_row(), roster_row(ID_B, 户籍区划代码=OTHER_COUNTY)])
    assert counts(run(data, user=officer)) == (2, 0, 0, 0)


@pytest.mark.django_db
def test_user_without_a_division_may_import_nothing(django_user_model) -> None:
    nobody = django_user_model.objects.create_user("nobody")
    assert not UserProfile.objects.filter(user=nobody).exists()
    result = run(csv_bytes([roster_row()]), user=nobody)
    assert [e.code for e in result.errors] == ["OUT_OF_JURISDICTION"]


@pytest.mark.django_db
def test_successful_import_is_written_to_the_audit_log() -> None:
    from archive.models import AuditLog

    result = run(csv_bytes([roster_row()]))
    entry = AuditLog.objects.get(action="import")
    assert entry.object_id == str(result.record_id)
    assert "新增1" in entry.detail


@pytest.mark.django_db
def test_progress_that_queries_the_database_between_write_batches_never_runs_inside_a_copy(
    monkeypatch,
):
    """A job's progress report asks whether it was cancelled; on PostgreSQL the rows go in by
    COPY, and a query inside a COPY would hang the import (archive/imports/write.py)."""
    from archive.imports import write

    monkeypatch.setattr(write, "WRITE_BATCH", 2)
    seen: list[tuple[str, int, int]] = []

    def report(stage: str, done: int, total: int) -> None:
        Person.objects.exists()  # what the job's cancellation check does
        seen.append((stage, done, total))

    rows = [roster_row(make_id(seq=100 + n)) for n in range(5)]
    result = run(csv_bytes(rows), progress=report)
    assert result.created == 5 and Person.objects.count() == 5
    writes = [done for stage, done, _ in seen if stage == "write"]
    assert writes == sorted(writes) and writes[-1] == max(total for *_, total in seen)


# ---------------------------------------------------------------------------------------------
# The garbage collector, paused for the length of an import (archive/imports/run.py)


@pytest.mark.django_db
@pytest.mark.parametrize("enabled", [True, False])
def test_an_import_leaves_the_garbage_collector_as_it_found_it(
    enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    original = write._Writer.insert

    def insert(self: Any, *args: Any, **kwargs: Any) -> list[int]:
        seen.append(gc.isenabled())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(write._Writer, "insert", insert)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        result = run(csv_bytes([roster_row()]))
        after = gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert counts(result) == (1, 0, 0, 0)
    assert seen and not any(seen)  # off while the rows are written
    assert after is enabled


@pytest.mark.django_db
def test_a_whole_file_error_turns_the_garbage_collector_back_on() -> None:
    assert gc.isenabled()
    with pytest.raises(TableError):
        run(b"")
    assert gc.isenabled()
