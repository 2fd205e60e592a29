"""End to end: the upload's commit queues the OCR task and a real worker reads the scan and keeps
what it read (the rules of what OCR may do: tests/archive/documents/test_ocr_results.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from archive.documents.ingest import INBOX, inbox_target
from archive.models import Document, DocumentVersion
from tests.archive.conftest import make_person

pytestmark = pytest.mark.usefixtures("private_media")

ORIGINAL_PRIVATE_ROOT = Path(django_settings.PRIVATE_MEDIA_ROOT)


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_upload_commit_queues_ocr_that_a_real_worker_reads(
    celery_worker_process, settings, upload, archivist, tmp_path
):
    from ocr import samples as ocr_samples

    settings.PRIVATE_MEDIA_ROOT = ORIGINAL_PRIVATE_ROOT  # where the worker process looks
    sample = ocr_samples.make_person(3)
    person = make_person(9, name=sample.name)
    person.id_number = sample.id_number
    person.save()
    scan = tmp_path / "id.png"
    ocr_samples.id_card_page(sample).save(scan)
    [outcome] = upload(scan.read_bytes(), "id.png", inbox_target(archivist), archivist)
    assert outcome.status == INBOX
    deadline = time.monotonic() + 90
    version = Document.objects.get(pk=outcome.document_id).current
    while version.ocr_status == DocumentVersion.Ocr.QUEUED and time.monotonic() < deadline:
        time.sleep(0.5)
        version.refresh_from_db()
    assert version.ocr_status == DocumentVersion.Ocr.DONE, version.ocr_fields
    document = Document.objects.get(pk=outcome.document_id)
    assert document.proposed_type == "id_card"
    assert document.proposed_person == person
