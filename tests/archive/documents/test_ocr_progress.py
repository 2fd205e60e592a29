"""How far OCR has read a case file (archive/documents/ocr_progress.py), as the case file page
polls it: each live document's current version with its state and pages read, inside the
user's jurisdiction, and the worker writing the pages as it reads them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from archive import casefiles, tasks
from archive.access.roles import EDITOR
from archive.documents import operations
from archive.documents.ingest import FILED, Target
from archive.documents.ocr_progress import case_file_progress, state_of
from archive.models import Document, DocumentVersion
from tests.archive.conftest import make_person
from tests.archive.documents import samples
from tests.archive.documents.test_document_views import denied

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


def _file(
    upload, case_file, user, data: bytes, name: str, doc_type: str = "application_form"
) -> int:
    [outcome] = upload(data, name, Target(case_file, doc_type), user)
    assert outcome.status == FILED
    return Document.objects.get(pk=outcome.document_id).current_id


@pytest.mark.parametrize(
    ("status", "reading", "state"),
    [
        ("queued", False, "queued"),
        ("queued", True, "reading"),
        ("done", False, "done"),
        ("failed", False, "failed"),
        ("done", True, "done"),
    ],
)
def test_a_version_is_reading_only_while_queued_with_a_heartbeat(status, reading, state):
    assert state_of(status, reading) == state


def test_the_progress_lists_each_live_current_version_with_its_pages(upload, case_file, archivist):
    waiting = _file(upload, case_file, archivist, samples.scanned_pdf(3), "申请表.pdf")
    reading = _file(upload, case_file, archivist, samples.tiff(4), "户口簿.tif")
    failed = _file(upload, case_file, archivist, samples.jpeg(2), "身份证.jpg", "id_card")
    gone = _file(upload, case_file, archivist, samples.jpeg(3), "作废.jpg", "id_card")
    DocumentVersion.objects.filter(pk=reading).update(
        ocr_heartbeat_at=timezone.now(), ocr_pages_done=2
    )
    DocumentVersion.objects.filter(pk=failed).update(ocr_status="failed")
    operations.soft_delete(Document.objects.get(current_id=gone), "重复上传", archivist)
    versions = {v["id"]: v for v in case_file_progress(case_file)["versions"]}
    assert set(versions) == {waiting, reading, failed}
    assert versions[waiting] == {
        "id": waiting,
        "state": "queued",
        "label": "排队识别",
        "pages_done": 0,
        "pages": 3,
    }
    assert (versions[reading]["state"], versions[reading]["label"]) == ("reading", "识别中")
    assert (versions[reading]["pages_done"], versions[reading]["pages"]) == (2, 4)
    assert versions[failed]["label"] == "识别失败" and versions[failed]["pages_done"] == 1


def test_the_worker_writes_the_pages_read_and_a_new_claim_starts_from_zero(
    upload, case_file, archivist
):
    version = _file(upload, case_file, archivist, samples.scanned_pdf(2), "申请表.pdf")
    DocumentVersion.objects.filter(pk=version).update(ocr_pages_done=7)  # a dead attempt's
    assert tasks.ocr_document(version) == "done"
    [read] = case_file_progress(case_file)["versions"]
    row = DocumentVersion.objects.get(pk=version)
    assert (row.ocr_pages_done, read["state"], read["pages_done"]) == (2, "done", 2)


def test_the_page_polls_its_own_case_file_and_shows_each_documents_state(
    client, upload, case_file, archivist
):
    version = _file(upload, case_file, archivist, samples.jpeg(1), "身份证.jpg", "id_card")
    client.force_login(archivist)
    url = reverse("archive_casefile_ocr_progress", args=[case_file.pk])
    page = client.get(reverse("archive_casefile_detail", args=[case_file.pk])).content.decode()
    assert f'data-ocr-progress="{url}"' in page and "archive/ocr_progress.js" in page
    assert f'data-ocr-version="{version}">排队识别<' in page
    answer = client.get(url)
    assert answer.status_code == 200 and answer.json()["versions"][0]["id"] == version


def test_another_countys_case_file_progress_is_not_found(client, make_user):
    other = casefiles.case_file_for(make_person(2, county="140426"))
    client.force_login(make_user("archivist", "140425"))
    assert client.get(reverse("archive_casefile_ocr_progress", args=[other.pk])).status_code == 404


def test_a_user_who_may_not_view_documents_is_refused_the_progress(client, case_file, make_user):
    client.force_login(make_user("editor", "140425", role=EDITOR))
    url = reverse("archive_casefile_ocr_progress", args=[case_file.pk])
    assert denied(client.get(url))
