"""``manage.py ocr_extract`` as a script would run it (subprocess): the JSON contract of
docs/commands.md, the exit codes, and the reasons printed for rejected files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ocr import samples
from tests.helpers import run_manage
from tests.ocr.helpers import one_page_pdf

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_manage("ocr_extract", *args, env={**os.environ, "DATA_DIR": str(data_dir)})


@pytest.fixture
def scans(tmp_path: Path, person) -> dict[str, Path]:
    certificate = tmp_path / "cert.png"
    samples.certificate_page(person).save(certificate)
    id_card = tmp_path / "id.jpg"
    samples.id_card_page(person).save(id_card, quality=85)
    encrypted = tmp_path / "locked.pdf"
    encrypt = (
        "<< /Filter /Standard /V 1 /R 2 /O <" + "ab" * 32 + "> /U <" + "cd" * 32 + "> /P -4 >>"
    )
    encrypted.write_bytes(
        one_page_pdf(
            trailer_extra="/Encrypt 4 0 R /ID [<" + "01" * 16 + "><" + "01" * 16 + ">]",
            extra=(encrypt,),
        )
    )
    text = tmp_path / "notes.docx"
    text.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    return {"cert": certificate, "id": id_card, "encrypted": encrypted, "docx": text}


def test_json_prints_exactly_the_list_of_pages(scans, tmp_path: Path, person):
    done = run(str(scans["cert"]), str(scans["id"]), "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert [(item["file"], item["page"], item["doc_type"]) for item in items] == [
        (str(scans["cert"]), 1, "disability_certificate"),
        (str(scans["id"]), 1, "id_card"),
    ]
    for item in items:
        assert list(item) == ["file", "page", "doc_type", "confidence", "fields", "warnings"]
        assert list(item["fields"]) == [
            "certificate_number", "id_number", "name", "category", "grade", "valid_until",
        ]  # fmt: skip
    assert items[0]["fields"] == person.expected_fields
    assert items[1]["fields"]["id_number"] == person.id_number
    assert items[1]["fields"]["certificate_number"] is None


def test_rejected_files_exit_1_with_every_reason_and_the_rest_still_read(scans, tmp_path: Path):
    done = run(
        str(scans["encrypted"]), str(scans["cert"]), str(scans["docx"]), "--json", data_dir=tmp_path
    )
    assert done.returncode == 1
    items = json.loads(done.stdout)
    assert [item["file"] for item in items] == [str(scans["cert"])]
    assert "locked.pdf" in done.stderr and "加密" in done.stderr
    assert "notes.docx" in done.stderr and "不支持的文件类型" in done.stderr


def test_readable_summary_without_json(scans, tmp_path: Path, person):
    done = run(str(scans["cert"]), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"残疾人证号：{person.certificate_number}" in done.stdout
    assert "残疾人证" in done.stdout


@pytest.mark.parametrize(
    "args",
    [[], ["/nonexistent/scan.png", "--json"]],
    ids=["no-file", "missing-file"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path):
    done = run(*args, data_dir=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
