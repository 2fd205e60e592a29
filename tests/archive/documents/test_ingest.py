"""Uploading scans: what is accepted and how it is filed, what is rejected (and then nothing is
stored), duplicates, the naming rule of ZIPs, and a ZIP filed whole or not at all."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import override_settings
from django.urls import reverse

from archive.documents import ingest, storage
from archive.documents.ingest import (
    DUPLICATE,
    FILED,
    INBOX,
    REJECTED,
    UNTYPED,
    Target,
    inbox_target,
)
from archive.models import AuditLog, Document, DocumentVersion, StoredFile
from tests.archive.conftest import OTHER_COUNTY, make_person, stored_files
from tests.archive.documents import samples

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("data", "name", "pages"),
    [
        (samples.jpeg(), "id.jpg", 1),
        (samples.png(), "scan.png", 1),
        (samples.tiff(3), "form.tif", 3),
        (samples.scanned_pdf(2), "scan.pdf", 2),
        (samples.digital_pdf(), "digital.pdf", 1),
    ],
)
def test_each_accepted_format_is_stored_unchanged_with_pages_and_thumbnail(
    upload, case_file, archivist, private_media, data, name, pages
):
    [outcome] = upload(data, name, Target(case_file, "id_card"), archivist)
    assert outcome.status == FILED, outcome.message
    document = Document.objects.get(pk=outcome.document_id)
    blob = document.current.blob
    assert blob.page_count == pages == outcome.pages
    original = storage.original_path(blob.sha256)
    assert original.read_bytes() == data  # the original bytes, unchanged
    assert storage.hash_file(original) == blob.sha256
    assert original.stat().st_mode & 0o777 == 0o440
    assert storage.thumbnail_path(blob.sha256).exists()
    assert all(storage.page_path(blob.sha256, n).exists() for n in range(1, pages + 1))
    assert private_media in original.parents


def test_type_is_recognised_by_content_not_by_name(upload, case_file, archivist):
    [pdf_named_jpg] = upload(
        samples.scanned_pdf(1), "photo.jpg", Target(case_file, "id_card"), archivist
    )
    assert pdf_named_jpg.status == FILED
    assert StoredFile.objects.get().kind == "pdf"
    [text_named_pdf] = upload(b"just some text\n" * 10, "scan.pdf", Target(case_file), archivist)
    assert text_named_pdf.status == REJECTED
    assert "不支持的文件类型" in text_named_pdf.message


def test_filed_document_gets_archival_code_and_upload_is_audited(upload, case_file, archivist):
    [outcome] = upload(
        samples.jpeg(), "申请表.jpg", Target(case_file, "application_form"), archivist
    )
    document = Document.objects.get(pk=outcome.document_id)
    assert document.archival_code.startswith("J014-MZ·")
    assert "-D30-LX-0001" in document.archival_code
    assert outcome.archival_code == document.archival_code
    entry = AuditLog.objects.get(action="upload_document")
    assert entry.user == archivist and entry.object_id == str(document.pk)


def test_upload_without_type_waits_for_ocr_without_archival_code(upload, case_file, archivist):
    [outcome] = upload(samples.jpeg(), "scan.jpg", Target(case_file, ""), archivist)
    assert outcome.status == UNTYPED
    document = Document.objects.get()
    assert document.archival_code is None and document.case_file == case_file
    assert document.current.ocr_status == DocumentVersion.Ocr.QUEUED


def test_upload_queues_ocr_after_commit(
    upload, case_file, archivist, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("archive.documents.ingest.queue_ocr", queued.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [outcome] = upload(samples.jpeg(), "scan.jpg", Target(case_file, "id_card"), archivist)
    assert len(callbacks) == 1
    assert queued == [Document.objects.get(pk=outcome.document_id).current_id]


def test_checklist_fills_in_as_documents_arrive(upload, case_file, archivist):
    assert case_file.completeness == 0
    assert ",id_card," in case_file.missing
    upload(samples.jpeg(1), "a.jpg", Target(case_file, "id_card"), archivist)
    case_file.refresh_from_db()
    assert ",id_card," not in case_file.missing
    assert case_file.completeness == 100 // 7  # 1 of 7 required (6 for both + 低保证明)
    assert case_file.document_count == 1 and case_file.page_count == 1


# --- Rejected inputs: a clear reason, and nothing stored ------------------------------------------


def _rejected(upload, case_file, archivist, data, name="x.bin"):
    [outcome] = upload(data, name, Target(case_file, "id_card"), archivist)
    assert outcome.status == REJECTED
    return outcome.message


def _assert_nothing_stored(private_media):
    assert not StoredFile.objects.exists()
    assert not Document.objects.exists()
    leftovers = [p for p in stored_files(private_media)]
    assert leftovers == [], leftovers


def test_other_types_are_rejected(upload, case_file, archivist, private_media):
    gif = b"GIF89a" + b"\x00" * 100
    assert "只接受" in _rejected(upload, case_file, archivist, gif, "scan.gif")
    docx = samples.zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    outcomes = upload(docx, "letter.docx", Target(case_file, "id_card"), archivist)
    assert all(o.status == REJECTED for o in outcomes)
    _assert_nothing_stored(private_media)


def test_empty_file_is_rejected(upload, case_file, archivist, private_media):
    assert _rejected(upload, case_file, archivist, b"", "empty.jpg") == "文件为空"
    _assert_nothing_stored(private_media)


@pytest.mark.parametrize(
    "data",
    [
        samples.jpeg()[:-200],
        samples.png()[:-20],
        samples.tiff(2)[: len(samples.tiff(2)) // 2],
        samples.scanned_pdf(1)[:-40],
    ],
    ids=["jpeg", "png", "tiff", "pdf"],
)
def test_truncated_files_are_rejected(upload, case_file, archivist, private_media, data):
    message = _rejected(upload, case_file, archivist, data)
    assert "不完整" in message or "损坏" in message
    _assert_nothing_stored(private_media)


def test_decompression_bomb_is_rejected_before_decoding(
    upload, case_file, archivist, private_media
):
    message = _rejected(upload, case_file, archivist, samples.bomb_png(), "bomb.png")
    assert "像素过多" in message
    _assert_nothing_stored(private_media)


@override_settings(SCAN_MAX_IMAGE_PIXELS=100 * 100)
def test_pixel_limit_is_a_setting(upload, case_file, archivist, private_media):
    assert "像素过多" in _rejected(upload, case_file, archivist, samples.jpeg(size=(120, 170)))
    _assert_nothing_stored(private_media)


@pytest.mark.parametrize("user_password", [True, False], ids=["user-password", "owner-password"])
def test_encrypted_pdf_is_rejected(upload, case_file, archivist, private_media, user_password):
    message = _rejected(upload, case_file, archivist, samples.encrypted_pdf(user_password), "e.pdf")
    assert "已加密" in message
    _assert_nothing_stored(private_media)


@override_settings(UPLOAD_MAX_BYTES=1000)
def test_file_over_the_size_limit_is_rejected(upload, case_file, archivist, private_media):
    assert "大小上限" in _rejected(upload, case_file, archivist, samples.jpeg(size=(400, 400)))
    _assert_nothing_stored(private_media)


@override_settings(SCAN_MAX_PAGES=2)
def test_too_many_pages_are_rejected(upload, case_file, archivist, private_media):
    assert "超过上限 2 页" in _rejected(upload, case_file, archivist, samples.tiff(3))
    _assert_nothing_stored(private_media)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"../../etc/evil.jpg": samples.jpeg()}, "路径穿越"),
        ({"/abs/evil.jpg": samples.jpeg()}, "路径穿越"),
        (
            {"ok.jpg": samples.jpeg(1), "inner.zip": samples.zip_of({"a.jpg": samples.jpeg(2)})},
            "嵌套",
        ),
        (
            {
                "ok.jpg": samples.jpeg(1),
                "disguised.jpg": samples.zip_of({"a.jpg": samples.jpeg(2)}),
            },
            "嵌套",
        ),
    ],
    ids=["traversal", "absolute", "nested", "nested-by-content"],
)
def test_dangerous_zip_is_rejected_whole(
    upload, case_file, archivist, private_media, members, reason
):
    outcomes = upload(samples.zip_of(members), "scans.zip", Target(case_file, "id_card"), archivist)
    assert [o.status for o in outcomes] == [REJECTED]
    assert reason in outcomes[0].message
    _assert_nothing_stored(private_media)


def _workbook() -> bytes:
    from openpyxl import Workbook

    out = io.BytesIO()
    book = Workbook()
    book.active.append(["姓名", "公民身份号码"])
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (_workbook, "花名册.xlsx", "Excel 工作簿"),
        (
            lambda: samples.zip_of(
                {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}
            ),
            "申请表.docx",
            "Word 文档",
        ),
        (_workbook, "scans.zip", "Excel 工作簿"),  # by content, whatever the name says
    ],
    ids=["xlsx", "docx", "xlsx-named-zip"],
)
def test_an_office_file_is_refused_as_a_file_not_unpacked(
    upload, case_file, archivist, private_media, data, name, kind
):
    outcomes = upload(data(), name, Target(case_file, "application_form"), archivist)
    assert [o.status for o in outcomes] == [REJECTED]
    assert kind in outcomes[0].message and "PDF" in outcomes[0].message
    _assert_nothing_stored(private_media)


@override_settings(ARCHIVE_ZIP_MAX_ENTRIES=3)
def test_zip_with_too_many_entries_is_rejected(upload, case_file, archivist, private_media):
    members = {f"{i}.jpg": samples.jpeg(i) for i in range(4)}
    [outcome] = upload(samples.zip_of(members), "many.zip", Target(case_file, "id_card"), archivist)
    assert outcome.status == REJECTED and "超过上限 3 个" in outcome.message
    _assert_nothing_stored(private_media)


def test_zip_with_some_bad_members_files_the_good_ones_and_reports_each_bad_one(
    upload, case_file, archivist
):
    members = {
        "good1.jpg": samples.jpeg(1),
        "empty.jpg": b"",
        "notes.txt": b"hello",
        "good2.pdf": samples.scanned_pdf(1, seed=5),
        "cut.jpg": samples.jpeg(3)[:-100],
        "__MACOSX/._good1.jpg": b"junk",
    }
    outcomes = upload(samples.zip_of(members), "batch.zip", Target(case_file, "id_card"), archivist)
    by_name = {o.name.split("/", 1)[1]: o for o in outcomes}
    assert set(by_name) == {"good1.jpg", "empty.jpg", "notes.txt", "good2.pdf", "cut.jpg"}
    assert by_name["good1.jpg"].status == by_name["good2.pdf"].status == FILED
    assert by_name["empty.jpg"].message == "文件为空"
    assert "不支持" in by_name["notes.txt"].message
    assert "不完整" in by_name["cut.jpg"].message
    assert Document.objects.count() == StoredFile.objects.count() == 2


def test_encrypted_zip_member_is_reported(upload, case_file, archivist):
    data = bytearray(samples.zip_of({"a.jpg": samples.jpeg(1)}, zipfile.ZIP_STORED))
    # set the "encrypted" flag in both the local header and the central directory entry
    data[6] |= 1
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    [outcome] = upload(bytes(data), "locked.zip", Target(case_file, "id_card"), archivist)
    assert outcome.status == REJECTED and "加密" in outcome.message


# --- Duplicates ------------------------------------------------------------------------------------


def test_same_file_twice_is_linked_not_stored_twice(upload, case_file, archivist, person):
    data = samples.jpeg(7)
    [first] = upload(data, "a.jpg", Target(case_file, "id_card"), archivist)
    [second] = upload(data, "copy-of-a.jpg", Target(case_file, "bank_card"), archivist)
    assert second.status == DUPLICATE
    assert second.document_id == first.document_id
    assert f"已归档于 {person.name}" in second.message and first.archival_code in second.message
    assert StoredFile.objects.count() == Document.objects.count() == 1


def test_duplicate_in_another_jurisdiction_reveals_nothing(
    upload, case_file, archivist, other_archivist
):
    data = samples.jpeg(8)
    upload(data, "a.jpg", Target(case_file, "id_card"), archivist)
    [outcome] = upload(data, "a.jpg", inbox_target(other_archivist), other_archivist)
    assert outcome.status == DUPLICATE
    assert outcome.document_id is None and "其他辖区" in outcome.message


def test_duplicate_within_one_zip_is_reported(upload, case_file, archivist):
    members = {"a.jpg": samples.jpeg(1), "again/a.jpg": samples.jpeg(1)}
    outcomes = upload(samples.zip_of(members), "z.zip", Target(case_file, "id_card"), archivist)
    assert [o.status for o in outcomes] == [FILED, DUPLICATE]


def test_file_of_a_withdrawn_document_can_be_filed_again(upload, case_file, archivist):
    from archive.documents.operations import soft_delete

    data = samples.jpeg(9)
    [first] = upload(data, "a.jpg", Target(case_file, "id_card"), archivist)
    soft_delete(Document.objects.get(pk=first.document_id), "扫错了", archivist)
    [again] = upload(data, "a.jpg", Target(case_file, "id_card"), archivist)
    assert again.status == FILED and again.document_id != first.document_id
    assert StoredFile.objects.count() == 1


# --- ZIP naming rule ---------------------------------------------------------------------------------


def test_zip_to_inbox_files_members_named_by_id_number(upload, archivist, person):
    other = make_person(2, name="李四")
    members = {
        f"{person.id_number}_身份证.jpg": samples.jpeg(1),
        f"{other.id_number}/户口簿.jpg": samples.jpeg(2),
        "unknown.jpg": samples.jpeg(3),
        f"{person.id_number[:-1]}0_bad-checksum.jpg": samples.jpeg(4),
    }
    outcomes = upload(
        samples.zip_of(members), "batch.zip", inbox_target(archivist, "id_card"), archivist
    )
    statuses = [o.status for o in outcomes]
    assert statuses == [FILED, FILED, INBOX, INBOX]
    assert Document.objects.get(pk=outcomes[0].document_id).case_file.person == person
    assert Document.objects.get(pk=outcomes[1].document_id).case_file.person == other
    inbox = Document.objects.filter(case_file__isnull=True)
    assert inbox.count() == 2 and {d.county_id for d in inbox} == {
        archivist.subsidy_profile.division_id
    }


def test_zip_to_inbox_leaves_people_of_other_counties_in_the_inbox(upload, archivist):
    stranger = make_person(3, county=OTHER_COUNTY, name="王五")
    members = {f"{stranger.id_number}_x.jpg": samples.jpeg(1)}
    [outcome] = upload(samples.zip_of(members), "b.zip", inbox_target(archivist), archivist)
    assert outcome.status == INBOX
    assert not Document.objects.filter(case_file__person=stranger).exists()


def test_zip_to_case_file_refuses_members_named_for_someone_else(upload, case_file, archivist):
    other = make_person(2, name="李四")
    members = {"mine.jpg": samples.jpeg(1), f"{other.id_number}_x.jpg": samples.jpeg(2)}
    outcomes = upload(samples.zip_of(members), "b.zip", Target(case_file, "id_card"), archivist)
    assert [o.status for o in outcomes] == [FILED, REJECTED]
    assert "与本档案不符" in outcomes[1].message


def test_gbk_member_names_from_windows_are_read(upload, case_file, archivist):
    # Chinese Windows writes GBK names without the UTF-8 flag: patch the raw name bytes in.
    gbk = "身份证.jpg".encode("gbk")
    placeholder = b"X" * (len(gbk) - 4) + b".jpg"
    data = samples.zip_of({placeholder.decode(): samples.jpeg(1)}).replace(placeholder, gbk)
    [outcome] = upload(data, "win.zip", Target(case_file, "id_card"), archivist)
    assert outcome.name == "win.zip/身份证.jpg"
    assert DocumentVersion.objects.get().original_name == "win.zip/身份证.jpg"


@pytest.mark.django_db
@pytest.mark.parametrize("obfuscated", [False, True], ids=["plain", "escaped-names"])
def test_a_pdf_with_javascript_is_flagged_and_never_served_inline(
    client, upload, case_file, archivist, obfuscated
):
    [outcome] = upload(
        samples.scripted_pdf(obfuscated), "scan.pdf", Target(case_file, "id_card"), archivist
    )
    assert outcome.ok and "含脚本" in outcome.message
    assert set(outcome.extra["active_content"]) >= {"JS", "OpenAction"}
    version = Document.objects.get().current
    assert "含脚本" in version.note
    assert AuditLog.objects.filter(action="flag_active_pdf").exists()
    client.force_login(archivist)
    response = client.get(reverse("archive_file_original", args=[version.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_an_ordinary_pdf_is_not_flagged(upload, case_file, archivist):
    [outcome] = upload(samples.digital_pdf(), "scan.pdf", Target(case_file, "id_card"), archivist)
    assert outcome.ok and "含脚本" not in outcome.message


@pytest.mark.django_db
def test_a_truncated_jpeg_padded_with_an_end_marker_is_rejected(upload, case_file, archivist):
    [outcome] = upload(
        samples.truncated_jpeg_padded(), "scan.jpg", Target(case_file, "id_card"), archivist
    )
    assert outcome.status == REJECTED and "文件不完整" in outcome.message
    assert not Document.objects.exists()


class _Stop(Exception):
    pass


def test_a_zip_reports_its_files_checked_and_is_filed_whole(case_file, archivist):
    scans = {f"{i}.jpg": samples.jpeg(60 + i) for i in range(3)}
    received = ingest.receive(io.BytesIO(samples.zip_of(scans)), "扫描件.zip")
    reports: list[tuple[int, int]] = []
    outcomes = ingest.ingest_received(
        received,
        Target(case_file, "id_card"),
        archivist,
        progress=lambda done, total, message: reports.append((done, total)),
    )
    assert reports == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert [o.status for o in outcomes] == [FILED] * 3
    assert not received.path.exists()


def test_a_zip_stopped_before_its_commit_files_none_of_its_scans_and_leaves_no_temporary_file(
    case_file, archivist, private_media
):
    scans = {"a.jpg": samples.jpeg(71), "b.pdf": samples.scanned_pdf(2, seed=72)}
    received = ingest.receive(io.BytesIO(samples.zip_of(scans)), "扫描件.zip")

    def stop() -> None:
        raise _Stop  # a cancel arriving as the job is about to file

    with pytest.raises(_Stop):
        ingest.ingest_received(received, Target(case_file, "id_card"), archivist, check=stop)
    assert not Document.objects.exists() and not StoredFile.objects.exists()
    assert stored_files(private_media) == []
