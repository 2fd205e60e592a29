"""``manage.py import_beneficiaries``: the JSON contract of docs/commands.md and the exit codes 0/1/2."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from archive.models import ImportRecord, Person
from tests.archive.imports.test_import import (
    COUNTY,
    HEADERS,
    ID_B,
    ID_C,
    OTHER_COUNTY,
    csv_bytes,
    roster_row,
)
from tests.helpers import run_manage

BAD_ID = ID_B[:-1] + ("0" if ID_B[-1] != "0" else "1")  # fails its check character


def command(*args: str) -> tuple[dict[str, Any] | str, str]:
    """Run the command in-process; return parsed JSON (or text) from stdout, and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_beneficiaries", *args, stdout=out, stderr=err)
    text = out.getvalue()
    return (json.loads(text) if "--json" in args else text), err.getvalue()


def write(tmp_path: Path, rows: list[dict[str, Any]], name: str = "roster.csv") -> str:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows))
    return str(path)


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return run_manage("import_beneficiaries", *args)


@pytest.mark.django_db
def test_json_output_is_exactly_the_documented_shape(tmp_path: Path) -> None:
    path = write(tmp_path, [roster_row(), roster_row(ID_B)])
    payload, err = command(path, "--json")
    assert payload == {"created": 2, "updated": 0, "unchanged": 0, "rejected": [], "flagged": []}
    assert err == ""
    again, _ = command(path, "--json")
    assert again == {"created": 0, "updated": 0, "unchanged": 2, "rejected": [], "flagged": []}


@pytest.mark.django_db
def test_rejected_rows_in_json_carry_row_column_code_and_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            roster_row(),
            roster_row(BAD_ID, 残疾人证号="", 残疾类别="", 残疾等级="", 家庭类别="富裕"),
        ],
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_beneficiaries", path, "--json", stdout=out)
    assert caught.value.returncode == 1
    payload = json.loads(out.getvalue())
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (0, 0, 0)
    assert [(r["row"], r["column"], r["code"]) for r in payload["rejected"]] == [
        (3, "公民身份号码", "ID_CHECKSUM"),
        (3, "家庭类别", "FAMILY_TYPE"),
    ]
    assert all(set(r) == {"row", "column", "code", "message"} for r in payload["rejected"])
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_writes_valid_rows_reports_rejects_and_writes_the_rejected_file(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, [roster_row(), roster_row(ID_B, 家庭类别="富裕"), roster_row(ID_C)])
    out = tmp_path / "rejected.xlsx"
    payload, _ = command(path, "--json", "--skip-invalid", "--rejected-out", str(out))
    assert isinstance(payload, dict)
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (2, 0, 0)
    assert payload["rejected"] == [
        {
            "row": 3,
            "column": "家庭类别",
            "code": "FAMILY_TYPE",
            "message": payload["rejected"][0]["message"],
        }
    ]
    assert "富裕" in payload["rejected"][0]["message"]
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]] == [*HEADERS, "错误原因"]
    assert sheet.max_row == 2 and sheet["B2"].value == ID_B


@pytest.mark.django_db
def test_dry_run_counts_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, [roster_row()])
    payload, _ = command(path, "--json", "--dry-run")
    assert payload == {"created": 1, "updated": 0, "unchanged": 0, "rejected": [], "flagged": []}
    assert Person.objects.count() == ImportRecord.objects.count() == 0


@pytest.mark.django_db
def test_text_output_summarises_and_prints_every_reason(tmp_path: Path) -> None:
    path = write(tmp_path, [roster_row(), roster_row(ID_B, 家庭类别="富裕")])
    text, err = command(path, "--skip-invalid")
    assert "新增1" in text and "拒绝1" in text
    assert "第3行，家庭类别：" in err and "FAMILY_TYPE" in err


@pytest.mark.django_db
def test_user_option_restricts_to_the_jurisdiction_and_records_the_importer(
    tmp_path: Path, make_user
) -> None:
    clerk = make_user("pingshun", COUNTY)
    path = write(tmp_path, [roster_row(), roster_row(ID_B, 户籍区划代码=OTHER_COUNTY)])
    payload, _ = command(path, "--json", "--skip-invalid", "--user", "pingshun")
    assert isinstance(payload, dict)
    assert payload["created"] == 1
    assert [r["code"] for r in payload["rejected"]] == ["OUT_OF_JURISDICTION"]
    assert ImportRecord.objects.get().imported_by == clerk


@pytest.mark.django_db
def test_whole_file_error_is_one_rejected_entry_with_row_zero(tmp_path: Path) -> None:
    path = tmp_path / "scan.xlsx"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_beneficiaries", str(path), "--json", stdout=out)
    assert caught.value.returncode == 1
    payload = json.loads(out.getvalue())
    assert payload["created"] == payload["updated"] == payload["unchanged"] == 0
    [entry] = payload["rejected"]
    assert (entry["row"], entry["column"], entry["code"]) == (0, "", "TABLE_FORMAT")
    assert "PDF" in entry["message"]


@pytest.mark.django_db
def test_unknown_user_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path, [roster_row()])
    with pytest.raises(CommandError) as caught:
        command(path, "--user", "nobody")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError) as caught:
        command(str(tmp_path / "missing.csv"))
    assert caught.value.returncode == 2


# Exit codes as a shell sees them: a child process on the test database.  These runs never
# write (dry run, rejected input, usage errors), so the test transaction stays clean.


@pytest.mark.django_db
def test_exit_code_0_and_json_on_stdout_for_a_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, [roster_row(), roster_row(ID_B)])
    proc = manage(path, "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "flagged": [],
    }
    assert "\r" not in proc.stderr  # no progress bar when not on a terminal / with --json


@pytest.mark.django_db
def test_exit_code_1_when_a_row_is_invalid_in_atomic_mode(tmp_path: Path) -> None:
    path = write(tmp_path, [roster_row(), roster_row(ID_B, 家庭类别="富裕")])
    proc = manage(path, "--json")
    assert proc.returncode == 1
    payload = json.loads(proc.stdout)
    assert [(r["row"], r["code"]) for r in payload["rejected"]] == [(3, "FAMILY_TYPE")]
    assert "导入被拒绝" in proc.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "TABLE_EMPTY"),
        (b"%PDF-1.7\n", "TABLE_FORMAT"),
        ("名字,号码\n张三,1\n".encode(), "TABLE_MISSING_HEADERS"),
    ],
)
def test_exit_code_1_for_a_file_that_is_not_a_roster(
    tmp_path: Path, content: bytes, code: str
) -> None:
    path = tmp_path / "roster.xlsx"
    path.write_bytes(content)
    proc = manage(str(path))
    assert proc.returncode == 1
    assert code in proc.stderr


@pytest.mark.django_db
def test_exit_code_2_on_usage_errors(tmp_path: Path) -> None:
    assert manage().returncode == 2  # FILE missing
    assert manage(str(tmp_path / "none.csv")).returncode == 2
    path = write(tmp_path, [roster_row()])
    assert manage(path, "--no-such-option").returncode == 2
