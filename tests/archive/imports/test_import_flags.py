"""Rows kept and flagged, not rejected (docs/formats.md, "Rejected or flagged").

Each flag code is followed through the three ways a roster comes in or is judged: the command
(``--json`` ``flagged``, exit 0), the admin preview (a warning with the Chinese label, no raw
code), and the next comparison run (the finding the flag stands for).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from archive import imports
from archive.models import Certificate, DataFlag, Enrolment, Person
from core.codes import FLAG_CODES, FLAG_LABELS, FLAGS
from tests.archive.imports.test_import import (
    ID_A,
    ID_B,
    ID_C,
    TODAY,
    csv_bytes,
    make_id,
    roster_row,
)
from tests.helpers import follow_job

AS_OF = "2026-11-30"
NO_CERT = {"残疾人证号": "", "残疾类别": "", "残疾等级": ""}

#: A roster row raising exactly the flag, with the column it names.
FLAGGED_ROWS: dict[str, tuple[dict[str, Any], str]] = {
    "CERT_CODE_MISMATCH": ({"残疾等级": "二级"}, "残疾人证号"),
    "CERT_ID_MISMATCH": ({"残疾人证号": ID_C + "43"}, "残疾人证号"),
    "NURSING_NO_CERT": (
        {**NO_CERT, "享受生活补贴": "否", "生活补贴标准": "", "享受护理补贴": "是"},
        "享受护理补贴",
    ),
    "LIVING_NO_CERT": (NO_CERT, "享受生活补贴"),
    "NURSING_NOT_QUALIFIED": (
        {"享受生活补贴": "否", "生活补贴标准": "", "享受护理补贴": "是"},
        "享受护理补贴",
    ),
    "LIVING_NOT_QUALIFIED": ({"家庭类别": "一般"}, "家庭类别"),
    "SEX_MISMATCH": ({"性别": "女"}, "性别"),
}

pytestmark = pytest.mark.django_db


def test_every_flag_code_has_a_row_here() -> None:
    assert set(FLAGGED_ROWS) == {row.code for row in FLAG_CODES}


def _command(path: Path) -> dict[str, Any]:
    out = io.StringIO()
    call_command("import_beneficiaries", str(path), "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def _roster(tmp_path: Path, rows: list[dict[str, Any]], name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows))
    return path


def _compare(*rosters: str) -> list[dict[str, Any]]:
    args = ["--as-of", AS_OF, "--division", "140425", "--json"]
    for roster in rosters:
        args += ["--roster", roster]
    out = io.StringIO()
    call_command("compare", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())["findings"]


@pytest.mark.parametrize("code", list(FLAGGED_ROWS))
def test_command_keeps_the_flagged_row_and_lists_it_then_the_comparison_reports_it(
    tmp_path: Path, code: str
) -> None:
    overrides, column = FLAGGED_ROWS[code]
    path = _roster(tmp_path, [roster_row(**overrides), roster_row(ID_B)])
    payload = _command(path)  # no CommandError: exit 0
    assert (payload["created"], payload["rejected"]) == (2, [])
    [flagged] = payload["flagged"]
    assert set(flagged) == {"row", "column", "code", "message"}
    assert (flagged["row"], flagged["column"], flagged["code"]) == (2, column, code)
    person = Person.objects.get(id_number=ID_A)
    [flag] = DataFlag.objects.open()
    assert (flag.person, flag.code, flag.column) == (person, code, column)
    assert flag.message == flagged["message"]
    if FLAGS[code].of_person:
        assert flag.enrolment is None
    else:
        assert flag.enrolment is not None and flag.enrolment.person == person

    finding = FLAGS[code].finding
    rosters = []
    if finding == "LEFT_ASSISTANCE":  # the assistance roster is the evidence
        other = tmp_path / "assistance.csv"
        other.write_text(
            f"姓名,公民身份号码,保障类别,开始日期,终止日期\n李芳,{ID_B},低保,2020-01-01,\n",
            encoding="utf-8",
        )
        rosters.append(f"assistance={other}")
    findings = {(f["id_number"], f["code"]) for f in _compare(*rosters)}
    if finding is None:
        assert not any(id_number == ID_A for id_number, _ in findings)
    else:
        assert (ID_A, finding) in findings
        assert not any(id_number == ID_B for id_number, _ in findings)


@pytest.mark.parametrize("code", list(FLAGGED_ROWS))
def test_admin_preview_lists_the_flag_as_a_warning_in_chinese(client, admin_user, code) -> None:
    client.force_login(admin_user)
    overrides, _ = FLAGGED_ROWS[code]
    content = csv_bytes([roster_row(**overrides), roster_row(ID_B, 家庭类别="富裕")])
    response = client.post(
        reverse("archive_import:upload"), {"file": SimpleUploadedFile("花名册.csv", content)}
    )
    preview_url = follow_job(response)
    page = client.get(preview_url).content.decode()
    assert "有问题标记 1" in page and "拒绝 1" in page
    assert FLAG_LABELS[code] in page
    assert code not in page  # no raw codes on pages people read
    flagged = client.get(preview_url + "?outcome=flagged").content.decode()
    assert FLAG_LABELS[code] in flagged and "富裕" not in flagged
    assert DataFlag.objects.count() == 0  # a preview writes nothing


def test_the_same_problem_again_keeps_one_flag_and_a_corrected_row_clears_it(
    tmp_path: Path,
) -> None:
    flagged = _roster(tmp_path, [roster_row(残疾等级="二级")], "a.csv")
    _command(flagged)
    _command(_roster(tmp_path, [roster_row(残疾等级="二级", 联系电话="139")], "b.csv"))
    [flag] = DataFlag.objects.all()
    assert flag.is_open and flag.raised_by is not None
    payload = _command(_roster(tmp_path, [roster_row()], "c.csv"))
    assert payload["flagged"] == []
    flag.refresh_from_db()
    assert not flag.is_open and flag.cleared_by is not None
    assert flag.cleared_by != flag.raised_by
    _command(flagged)
    assert DataFlag.objects.count() == 2 and DataFlag.objects.open().count() == 1


def test_a_stored_flag_is_open_and_names_the_import_that_raised_it(
    tmp_path: Path,
) -> None:
    """The flags go by COPY on PostgreSQL and by bulk statements elsewhere: both must store
    every field as the model defines it."""
    payload = _command(_roster(tmp_path, [roster_row(性别="女")]))
    [flag] = DataFlag.objects.select_related("raised_by")
    record = flag.raised_by
    assert record is not None and record.flagged == 1 and record.filename == "roster.csv"
    assert flag.raised_at is not None and flag.cleared_at is None and flag.cleared_by is None
    assert flag.message == payload["flagged"][0]["message"][:255]
    assert len(flag.message) <= DataFlag._meta.get_field("message").max_length


def test_a_subsidy_flag_is_cleared_when_the_subsidy_stops(tmp_path: Path) -> None:
    overrides, _ = FLAGGED_ROWS["NURSING_NOT_QUALIFIED"]
    _command(_roster(tmp_path, [roster_row(**overrides)], "a.csv"))
    flag = DataFlag.objects.open().get()
    assert flag.enrolment == Enrolment.objects.get(subsidy="nursing")
    _command(_roster(tmp_path, [roster_row()], "b.csv"))
    assert DataFlag.objects.open().count() == 0


def test_a_flagged_certificate_keeps_the_recorded_category_and_grade(tmp_path: Path) -> None:
    _command(_roster(tmp_path, [roster_row(残疾等级="二级")]))
    certificate = Certificate.objects.get(is_current=True)
    assert (certificate.number, certificate.category, certificate.grade) == (ID_A + "43", 4, 2)


def test_the_person_page_shows_the_flag_its_reason_and_how_to_correct_it(
    tmp_path: Path, client, admin_user
) -> None:
    _command(_roster(tmp_path, [roster_row(残疾等级="二级"), roster_row(ID_B)]))
    client.force_login(admin_user)
    person = Person.objects.get(id_number=ID_A)
    page = client.get(reverse("archive_person_detail", args=[person.pk])).content.decode()
    flag = DataFlag.objects.get()
    assert "数据问题标记" in page and flag.get_code_display() in page
    assert flag.message in page
    assert reverse("archive_import:upload") in page
    assert "CERT_CODE_MISMATCH" not in page


def test_the_person_list_marks_flagged_people_and_filters_by_flag(
    tmp_path: Path, client, admin_user
) -> None:
    other = make_id(seq=127)
    _command(
        _roster(
            tmp_path, [roster_row(残疾等级="二级"), roster_row(ID_B, 性别="男"), roster_row(other)]
        )
    )
    client.force_login(admin_user)
    url = reverse("archive_person_list")
    page = client.get(url).content.decode()
    assert page.count("有问题标记 1") == 2
    by_code = client.get(url, {"flag": "CERT_CODE_MISMATCH"}).context["page"]
    assert [p.id_number for p in by_code] == [ID_A]
    any_flag = client.get(url, {"flag": "any"}).context["page"]
    assert {p.id_number for p in any_flag} == {ID_A, ID_B}


def test_a_dry_run_reports_flags_and_stores_none() -> None:
    result = imports.import_beneficiaries(
        csv_bytes([roster_row(残疾等级="二级")]), "r.csv", dry_run=True, today=TODAY
    )
    assert [f.code for f in result.flags] == ["CERT_CODE_MISMATCH"]
    assert result.as_json()["flagged"][0]["code"] == "CERT_CODE_MISMATCH"
    assert DataFlag.objects.count() == 0
