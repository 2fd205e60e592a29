"""Bulk actions on documents (批量操作, archive/documents/bulk_views.py): each document goes
through its own operation and audit entry, inside the user's jurisdiction."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR, INSPECTOR
from archive.documents.ingest import Target, inbox_target
from archive.models import AuditLog, Document, DocumentVersion
from tests.archive.conftest import OTHER_COUNTY
from tests.archive.documents import samples

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]
URL = "archive_documents_bulk"


@pytest.fixture
def inbox_scans(upload, archivist) -> list[Document]:
    target = inbox_target(archivist)
    found = []
    for seed in range(3):
        [outcome] = upload(samples.jpeg(80 + seed), f"扫描{seed}.jpg", target, archivist)
        found.append(Document.objects.get(pk=outcome.document_id))
    return found


def _post(client, user, data):
    client.force_login(user)
    return client.post(reverse(URL), {"next": reverse("archive_inbox"), **data}, follow=True)


def test_setting_the_type_of_the_ticked_documents_changes_only_those(
    client, archivist, inbox_scans
):
    first, second, third = inbox_scans
    response = _post(
        client, archivist, {"action": "type", "doc_type": "bank_card", "ids": [first.pk, second.pk]}
    )
    assert "设置材料类型：已处理 2 份文件" in response.text
    types = dict(Document.objects.values_list("pk", "doc_type"))
    assert (types[first.pk], types[second.pk], types[third.pk]) == ("bank_card", "bank_card", "")
    assert AuditLog.objects.filter(action="move_document").count() == 2


def test_filing_ticked_inbox_scans_to_one_person_gives_them_codes(
    client, archivist, inbox_scans, person
):
    ids = [d.pk for d in inbox_scans[:2]]
    _post(
        client,
        archivist,
        {"action": "file", "doc_type": "id_card", "id_number": person.id_number, "ids": ids},
    )
    for document in Document.objects.filter(pk__in=ids):
        assert document.case_file.person == person and document.archival_code


def test_rerunning_ocr_queues_each_again_and_names_those_already_waiting(
    client, archivist, inbox_scans
):
    done, waiting = inbox_scans[0], inbox_scans[1]
    DocumentVersion.objects.filter(pk=done.current_id).update(ocr_status="done")
    DocumentVersion.objects.filter(pk=waiting.current_id).update(ocr_status="queued")
    response = _post(client, archivist, {"action": "ocr", "ids": [done.pk, waiting.pk]})
    assert DocumentVersion.objects.get(pk=done.current_id).ocr_status == "queued"
    assert "重新识别：已处理 1 份文件" in response.text and "已在排队识别" in response.text
    assert AuditLog.objects.filter(action="rerun_ocr", object_id=str(done.pk)).exists()


def test_withdrawing_needs_one_reason_for_all(client, make_user, inbox_scans):
    administrator = make_user("administrator", inbox_scans[0].county_id, ADMINISTRATOR)
    ids = [d.pk for d in inbox_scans]
    response = _post(client, administrator, {"action": "delete", "ids": ids})
    assert "请填写作废原因" in response.text
    assert not Document.objects.filter(deleted_at__isnull=False).exists()
    _post(client, administrator, {"action": "delete", "reason": "重复扫描", "ids": ids})
    assert Document.objects.filter(deleted_at__isnull=False, delete_reason="重复扫描").count() == 3


def test_a_document_of_another_county_is_left_alone(
    client, archivist, make_user, upload, inbox_scans
):
    stranger = make_user("stranger", OTHER_COUNTY)
    [outcome] = upload(samples.jpeg(90), "外县.jpg", inbox_target(stranger), stranger)
    response = _post(
        client, archivist, {"action": "type", "doc_type": "id_card", "ids": [outcome.document_id]}
    )
    assert "请先勾选要处理的文件" in response.text
    assert Document.objects.get(pk=outcome.document_id).doc_type == ""


def test_a_role_without_the_permission_is_told_so(client, make_user, inbox_scans):
    inspector = make_user("inspector", inbox_scans[0].county_id, INSPECTOR)
    response = _post(
        client, inspector, {"action": "delete", "reason": "x", "ids": [inbox_scans[0].pk]}
    )
    assert "您没有“作废”的权限" in response.text
    assert Document.objects.filter(deleted_at__isnull=True).count() == 3


def test_the_inbox_and_the_case_file_offer_the_bulk_form_with_a_box_per_document(
    client, archivist, inbox_scans, upload, case_file
):
    upload(samples.jpeg(95), "卡.jpg", Target(case_file, "bank_card"), archivist)
    client.force_login(archivist)
    inbox = client.get(reverse("archive_inbox")).text
    assert 'id="bulk-form"' in inbox and inbox.count('form="bulk-form"') == 3
    assert 'value="file"' in inbox
    page = client.get(reverse("archive_casefile_detail", args=[case_file.pk])).text
    assert 'id="bulk-form"' in page and page.count('form="bulk-form"') == 1
    assert 'value="file"' not in page  # already in a case file: moving is per document
