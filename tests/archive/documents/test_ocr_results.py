"""What OCR read is kept with the version and acted on (archive/documents/ocr_results.py): an
untyped document in a case file is filed when OCR is sure, an inbox scan gets a proposed person
and type inside the uploader's jurisdiction, a replaced version touches nothing."""

from __future__ import annotations

import pytest

from archive.documents import ocr_results
from archive.documents.ingest import INBOX, UNTYPED, Target, inbox_target
from archive.models import Document, DocumentVersion
from tests.archive.conftest import OTHER_COUNTY, make_person
from tests.archive.documents import samples
from tests.archive.documents.ocr_queue import Page as FakePage


@pytest.mark.django_db
def test_confident_ocr_files_an_untyped_document(upload, case_file, archivist):
    [outcome] = upload(samples.jpeg(1), "scan.jpg", Target(case_file, ""), archivist)
    assert outcome.status == UNTYPED
    version = Document.objects.get().current
    ocr_results.keep(
        version.pk, [FakePage(1, "id_card", 0.93, {"id_number": "x"}, [], "居民身份证")]
    )
    document = Document.objects.get()
    assert document.doc_type == "id_card" and document.archival_code
    assert document.current.ocr_status == DocumentVersion.Ocr.DONE
    assert document.current.ocr_text == "居民身份证"
    case_file.refresh_from_db()
    assert ",id_card," not in case_file.missing


@pytest.mark.django_db
def test_unsure_ocr_only_proposes(upload, case_file, archivist):
    upload(samples.jpeg(1), "scan.jpg", Target(case_file, ""), archivist)
    ocr_results.keep(Document.objects.get().current_id, [FakePage(1, "bank_card", 0.4)])
    document = Document.objects.get()
    assert document.doc_type == "" and document.proposed_type == "bank_card"
    assert document.archival_code is None


@pytest.mark.django_db
def test_ocr_proposes_the_person_of_an_inbox_scan(upload, archivist, person):
    [outcome] = upload(samples.jpeg(1), "scan.jpg", inbox_target(archivist), archivist)
    assert outcome.status == INBOX
    page = FakePage(1, "disability_certificate", 0.9, {"id_number": person.id_number})
    ocr_results.keep(Document.objects.get().current_id, [page])
    document = Document.objects.get()
    assert document.proposed_person == person
    assert document.proposed_type == "disability_certificate"
    assert document.case_file is None  # the archivist confirms the filing


@pytest.mark.django_db
def test_ocr_proposes_nobody_from_another_county(upload, archivist):
    stranger = make_person(7, county=OTHER_COUNTY, name="冯斌")
    upload(samples.jpeg(1), "scan.jpg", inbox_target(archivist), archivist)
    page = FakePage(1, "disability_certificate", 0.9, {"id_number": stranger.id_number})
    ocr_results.keep(Document.objects.get().current_id, [page])
    document = Document.objects.get()
    assert document.proposed_person is None
    assert document.proposed_type == "disability_certificate"


@pytest.mark.django_db
def test_ocr_of_a_replaced_version_does_not_touch_the_document(upload, case_file, archivist):
    import io

    from archive.documents import operations

    upload(samples.jpeg(1), "scan.jpg", Target(case_file, ""), archivist)
    document = Document.objects.get()
    first = document.current_id
    operations.replace(document, io.BytesIO(samples.jpeg(2)), "v2.jpg", archivist)
    ocr_results.keep(first, [FakePage(1, "id_card", 0.99)])
    document.refresh_from_db()
    assert document.doc_type == "" and document.proposed_type == ""
