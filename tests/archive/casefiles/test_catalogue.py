"""The catalogue (卷内目录) in the browser and as PDF, and the export of a whole case file."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pypdfium2 as pdfium
import pytest
from django.urls import reverse

from archive import casefiles
from archive.documents import operations, storage
from archive.documents.ingest import Target
from archive.models import AuditLog, Document
from tests.archive.documents import samples

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


@pytest.fixture
def filed_case_file(upload, case_file, archivist):
    for seed, doc_type in enumerate(["bank_card", "application_form", "id_card"]):
        upload(samples.jpeg(seed), f"{doc_type}.jpg", Target(case_file, doc_type), archivist)
    upload(
        samples.scanned_pdf(3, seed=50),
        "户口簿.pdf",
        Target(case_file, "household_register"),
        archivist,
    )
    # untyped: listed last
    upload(samples.jpeg(60), "unknown.jpg", Target(case_file, ""), archivist)
    return case_file


def test_catalogue_lists_filed_documents_in_checklist_order_then_the_untyped(filed_case_file):
    rows = casefiles.catalogue(filed_case_file)
    assert [r.number for r in rows] == [1, 2, 3, 4, 5]
    assert [r.document.doc_type for r in rows] == [
        "application_form",
        "id_card",
        "household_register",
        "bank_card",
        "",
    ]
    assert rows[0].title == "张三残疾人两项补贴申请审批表"
    assert rows[2].pages == 3
    assert all(r.code and r.date for r in rows[:4])
    assert rows[4].code == "" and rows[4].note == "待识别类型"


def test_catalogue_names_who_made_each_document(filed_case_file):
    rows = casefiles.catalogue(filed_case_file)
    county = filed_case_file.county.name
    assert [r.responsible for r in rows[:4]] == ["张三", "公安机关", "公安机关", "发卡银行"]
    certificate = Document(doc_type="disability_certificate")
    person = filed_case_file.person
    assert casefiles.responsible(certificate, person, county) == f"{county}残疾人联合会"


def test_catalogue_page_numbers_run_on_through_the_file(filed_case_file):
    rows = casefiles.catalogue(filed_case_file)
    first = 1
    for row in rows:
        last = first + max(row.pages, 1) - 1
        assert row.page_range == (str(first) if first == last else f"{first}-{last}")
        first = last + 1
    assert rows[2].page_range == "3-5"  # the three-page household register


def test_catalogue_page_is_printable_html(client, archivist, filed_case_file):
    client.force_login(archivist)
    response = client.get(reverse("archive_casefile_catalogue", args=[filed_case_file.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    for heading in ("序号", "档号", "责任者", "题名", "日期", "页号", "备注"):
        assert heading in body
    assert "window.print()" in body and "catalogue.css" in body
    assert AuditLog.objects.filter(action="print_catalogue").exists()


def test_catalogue_pdf_has_the_table_on_a4_pages(client, archivist, filed_case_file):
    client.force_login(archivist)
    response = client.get(
        reverse("archive_casefile_catalogue", args=[filed_case_file.pk]), {"format": "pdf"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = pdfium.PdfDocument(response.content)
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_long_catalogue_continues_over_pages(filed_case_file):
    rows = casefiles.catalogue(filed_case_file) * 30
    pdf = pdfium.PdfDocument(casefiles.catalogue_pdf(filed_case_file, rows))
    assert len(pdf) >= 3


def test_export_zip_has_originals_catalogue_and_manifest(client, archivist, filed_case_file):
    document = Document.objects.filter(doc_type="id_card").get()
    operations.replace(document, io.BytesIO(samples.jpeg(99)), "v2.jpg", archivist)
    client.force_login(archivist)
    response = client.get(reverse("archive_casefile_export", args=[filed_case_file.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert "卷内目录.pdf" in names and "manifest.csv" in names and "SHA256SUMS" in names
    originals = [n for n in names if n.startswith("原件/")]
    assert len(originals) == 5 and originals[0].startswith("原件/001_J014-MZ·")
    assert originals[4].startswith("原件/005_待识别类型.")  # untyped: exported, no 档号
    assert any(n.startswith("历史版本/") for n in names)  # the replaced version is kept
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    listed = {row["文件"]: row["SHA-256"] for row in manifest}
    assert set(listed) == set(names) - {"manifest.csv", "SHA256SUMS"}
    for name, sha in listed.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == sha
    assert AuditLog.objects.filter(action="export_casefile", user=archivist).exists()


def test_export_refuses_an_altered_original(client, archivist, filed_case_file):
    document = Document.objects.filter(doc_type="id_card").get()
    path = storage.original_path(document.current.blob.sha256)
    path.chmod(0o640)
    path.write_bytes(samples.jpeg(1234))
    client.force_login(archivist)
    response = client.get(reverse("archive_casefile_export", args=[filed_case_file.pk]))
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("校验失败" in m for m in messages)
