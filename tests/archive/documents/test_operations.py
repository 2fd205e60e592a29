"""Replacing (versions), moving and withdrawing documents — all logged, nothing lost."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR
from archive.documents import operations, storage
from archive.documents.ingest import DUPLICATE, FILED, REJECTED, Target
from archive.models import AuditLog, Document, StoredFile
from tests.archive.conftest import COUNTY, make_person
from tests.archive.documents import samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(upload, case_file, archivist) -> Document:
    [outcome] = upload(samples.jpeg(1), "身份证.jpg", Target(case_file, "id_card"), archivist)
    return Document.objects.get(pk=outcome.document_id)


def test_replacing_adds_a_version_and_keeps_the_old_one(document, archivist):
    old = document.current
    outcome = operations.replace(
        document, io.BytesIO(samples.jpeg(2)), "重扫.jpg", archivist, note="更清晰"
    )
    assert outcome.status == FILED and "第2版" in outcome.message
    document.refresh_from_db()
    assert document.current.number == 2 and document.current.note == "更清晰"
    assert list(document.versions.values_list("number", flat=True)) == [1, 2]
    assert storage.original_path(old.blob.sha256).read_bytes() == samples.jpeg(1)
    assert document.archival_code == outcome.archival_code  # the 档号 stays
    assert AuditLog.objects.filter(action="replace_document", object_id=str(document.pk)).exists()


def test_replacing_with_a_file_already_filed_is_refused(document, upload, case_file, archivist):
    upload(samples.jpeg(5), "other.jpg", Target(case_file, "bank_card"), archivist)
    outcome = operations.replace(document, io.BytesIO(samples.jpeg(5)), "x.jpg", archivist)
    assert outcome.status == DUPLICATE
    assert document.versions.count() == 1


def test_replacing_with_a_bad_file_is_refused(document, archivist):
    outcome = operations.replace(
        document, io.BytesIO(samples.zip_of({"a.jpg": samples.jpeg(9)})), "z.zip", archivist
    )
    assert outcome.status == REJECTED
    assert document.versions.count() == 1 and StoredFile.objects.count() == 1


def test_old_version_stays_viewable(client, document, archivist):
    operations.replace(document, io.BytesIO(samples.jpeg(2)), "new.jpg", archivist)
    client.force_login(archivist)
    response = client.get(reverse("archive_document_view", args=[document.pk]), {"v": 1})
    assert response.status_code == 200 and response.context["version"].number == 1
    old = document.versions.get(number=1)
    assert client.get(reverse("archive_file_original", args=[old.pk])).status_code == 200


def test_replace_view(client, document, archivist):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_document_replace", args=[document.pk]),
        {"file": SimpleUploadedFile("new.pdf", samples.scanned_pdf(2)), "note": "补扫背面"},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.current.number == 2 and document.current.blob.page_count == 2
    document.case_file.refresh_from_db()
    assert document.case_file.page_count == 2


def test_moving_to_another_type_updates_the_checklist(document, archivist, case_file):
    operations.move(document, archivist, doc_type="bank_card", reason="类型选错")
    case_file.refresh_from_db()
    assert ",id_card," in case_file.missing and ",bank_card," not in case_file.missing
    entry = AuditLog.objects.get(action="move_document")
    assert "居民身份证（复印件） → 银行卡" in entry.detail and "类型选错" in entry.detail


def test_moving_to_another_case_file_updates_both(document, archivist, case_file):
    from archive import casefiles

    other = casefiles.case_file_for(make_person(2, name="李四"))
    operations.move(document, archivist, case_file=other)
    case_file.refresh_from_db()
    other.refresh_from_db()
    assert (case_file.document_count, other.document_count) == (0, 1)
    document.refresh_from_db()
    assert document.case_file == other and document.county_id == other.county_id


def test_move_view_refuses_a_person_outside_the_jurisdiction(client, document, archivist):
    stranger = make_person(3, county="140426", name="王五")
    client.force_login(archivist)
    client.post(
        reverse("archive_document_edit", args=[document.pk]), {"id_number": stranger.id_number}
    )
    document.refresh_from_db()
    assert document.case_file.person.name == "张三"


def test_soft_delete_needs_the_permission(client, document, archivist):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_document_delete", args=[document.pk]), {"reason": "重复"}
    )
    assert response.status_code in (302, 403)
    document.refresh_from_db()
    assert document.deleted_at is None


def test_soft_delete_needs_a_reason(document, archivist):
    with pytest.raises(operations.OperationError):
        operations.soft_delete(document, "  ", archivist)


def test_soft_delete_keeps_everything_and_is_logged(client, make_user, document, case_file):
    admin = make_user("admin", COUNTY, role=ADMINISTRATOR)
    client.force_login(admin)
    response = client.post(
        reverse("archive_document_delete", args=[document.pk]), {"reason": "扫描了别人的证件"}
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.deleted_at and document.deleted_by == admin
    assert document.delete_reason == "扫描了别人的证件"
    assert storage.original_path(document.current.blob.sha256).exists()
    case_file.refresh_from_db()
    assert case_file.document_count == 0 and ",id_card," in case_file.missing
    from archive import casefiles

    assert casefiles.catalogue(case_file) == []
    entry = AuditLog.objects.get(action="delete_document")
    assert entry.user == admin and "扫描了别人的证件" in entry.detail
    page = client.get(reverse("archive_casefile_detail", args=[case_file.pk])).content.decode()
    assert "已作废文件" in page and "扫描了别人的证件" in page
    # a withdrawn document cannot be changed any more
    with pytest.raises(operations.OperationError):
        operations.replace(document, io.BytesIO(samples.jpeg(7)), "x.jpg", admin)


# --- Splitting by page ranges -------------------------------------------------------------------


@pytest.fixture
def bundle(upload, case_file, archivist) -> Document:
    """A certificate (pages 1-2) and an application form (pages 3-5) scanned as one PDF."""
    [outcome] = upload(
        samples.scanned_pdf(5, seed=70), "一起扫的.pdf", Target(case_file, "other"), archivist
    )
    return Document.objects.get(pk=outcome.document_id)


def test_splitting_files_each_range_as_its_own_document_and_withdraws_the_source(
    bundle, case_file, archivist
):
    outcomes = operations.split(
        bundle, [(1, 2, "disability_certificate"), (3, 5, "application_form")], archivist
    )
    parts = [Document.objects.get(pk=o.document_id) for o in outcomes]
    assert [p.doc_type for p in parts] == ["disability_certificate", "application_form"]
    assert [p.current.blob.page_count for p in parts] == [2, 3]
    assert all(p.case_file_id == case_file.pk and p.archival_code for p in parts)
    bundle.refresh_from_db()
    assert bundle.deleted_at and "第1-2页、第3-5页" in bundle.delete_reason
    assert storage.original_path(bundle.current.blob.sha256).exists()  # the source stays
    log = AuditLog.objects.get(action="split_document", object_id=str(bundle.pk))
    assert f"#{parts[0].pk}" in log.detail


def test_a_split_part_left_untyped_waits_for_ocr_to_propose_its_type(bundle, archivist):
    outcomes = operations.split(bundle, [(1, 1, ""), (2, 5, "application_form")], archivist)
    assert Document.objects.get(pk=outcomes[0].document_id).doc_type == ""


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ([(1, 5, "id_card")], "至少要分成两份"),
        ([(1, 3, "id_card"), (3, 5, "bank_card")], "第 3 页被分到了两份中"),
        ([(1, 2, "id_card"), (4, 5, "bank_card")], "第 3 页没有分到任何一份"),
    ],
)
def test_a_split_that_would_lose_or_double_a_page_changes_nothing(bundle, archivist, parts, reason):
    with pytest.raises(operations.OperationError, match=reason):
        operations.split(bundle, parts, archivist)
    bundle.refresh_from_db()
    assert bundle.deleted_at is None and Document.objects.count() == 1


def test_a_one_page_scan_cannot_be_split(document, archivist):
    with pytest.raises(operations.OperationError, match="只有一页"):
        operations.split(document, [(1, 1, "id_card"), (1, 1, "id_card")], archivist)


def test_the_split_form_splits_and_opens_the_first_part(client, bundle, archivist):
    client.force_login(archivist)
    page = client.get(reverse("archive_document_view", args=[bundle.pk]))
    assert "按页拆分" in page.text and 'name="pages_5"' in page.text
    response = client.post(
        reverse("archive_document_split", args=[bundle.pk]),
        {"pages_1": "第1～2页", "type_1": "id_card", "pages_2": "3-5", "type_2": ""},
    )
    first = Document.objects.filter(deleted_at__isnull=True).order_by("pk").first()
    assert response["Location"] == reverse("archive_document_view", args=[first.pk])
    assert first.doc_type == "id_card" and first.current.blob.page_count == 2


def test_the_split_form_explains_a_bad_range_in_chinese_and_changes_nothing(
    client, bundle, archivist
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_document_split", args=[bundle.pk]),
        {"pages_1": "1-2", "pages_2": "3-9"},
        follow=True,
    )
    assert "未拆分：页码“3-9”超出范围：该文件共 5 页" in response.text
    assert Document.objects.filter(deleted_at__isnull=True).count() == 1


def test_a_multi_page_tiff_is_split_into_pdfs_of_its_frames(upload, case_file, archivist):
    [outcome] = upload(samples.tiff(3, seed=71), "扫描.tif", Target(case_file, "other"), archivist)
    source = Document.objects.get(pk=outcome.document_id)
    outcomes = operations.split(source, [(1, 1, "id_card"), (2, 3, "bank_card")], archivist)
    parts = [Document.objects.get(pk=o.document_id) for o in outcomes]
    assert [(p.current.blob.kind, p.current.blob.page_count) for p in parts] == [
        ("pdf", 1),
        ("pdf", 2),
    ]
