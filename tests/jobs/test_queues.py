"""Interactive work never waits behind bulk OCR: OCR and comparisons are routed to different
queues (config/settings.py CELERY_TASK_ROUTES, jobs.kinds), and `make run` gives each queue a
worker of its own (config/supervisord.conf). Here a comparison is started behind 100 queued
OCR pages, with one worker per queue as `make run` has them, and must finish while the OCR
still waits.

The workers consume queues named for this test, so the session's worker (which takes every
real queue) cannot take the messages.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from archive import casefiles, tasks
from archive.documents.ingest import Target, ingest_stream
from archive.models import Division, DocumentVersion
from config.celery import app
from jobs.kinds import BULK, INTERACTIVE, get
from jobs.models import Job
from review import services
from review.jobs import COMPARISON, submit_run
from tests.archive.conftest import make_person
from tests.archive.documents import samples
from tests.conftest import start_celery_worker, stop_celery_worker
from tests.helpers import wait_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ORIGINAL_PRIVATE_ROOT = Path(django_settings.PRIVATE_MEDIA_ROOT)
OCR_QUEUE, INTERACTIVE_QUEUE = "qt-bulk", "qt-interactive"
DOCUMENTS, PAGES = 5, 20  # 100 OCR pages
AS_OF = date(2026, 11, 30)


def test_ocr_is_routed_to_the_bulk_queue_and_a_comparison_to_the_interactive_one():
    routes = django_settings.CELERY_TASK_ROUTES
    assert routes["archive.ocr_document"]["queue"] == BULK
    assert get(COMPARISON).queue == INTERACTIVE


def test_a_comparison_behind_100_queued_ocr_pages_finishes_while_the_ocr_still_waits(
    settings, tmp_path, monkeypatch, admin_user
):
    settings.PRIVATE_MEDIA_ROOT = ORIGINAL_PRIVATE_ROOT  # where worker processes look
    monkeypatch.setattr("archive.documents.ingest.queue_ocr", lambda pk: None)  # sent by hand below
    case_file = casefiles.case_file_for(make_person())
    for seed in range(DOCUMENTS):
        scan = io.BytesIO(samples.tiff(pages=PAGES, seed=seed))
        ingest_stream(scan, f"{seed}.tif", Target(case_file, "application_form"), admin_user)
    versions = list(DocumentVersion.objects.values_list("pk", flat=True))
    assert len(versions) == DOCUMENTS

    log = tmp_path / "workers.log"
    bulk = start_celery_worker(log, "bulk", queues=OCR_QUEUE)
    interactive = start_celery_worker(log, "interactive", queues=INTERACTIVE_QUEUE)
    try:
        for pk in versions:
            tasks.ocr_document.apply_async(args=[pk], queue=OCR_QUEUE)
        assert wait_until(lambda: _ocr_started(versions), 60), log.read_text()[-2000:]

        run = services.create_run(
            division=Division.objects.get(code="140425"), as_of=AS_OF, uploads=[]
        )
        with transaction.atomic():  # sent on commit, to the interactive worker's queue
            job = submit_run(run.pk)
            job.queue = INTERACTIVE_QUEUE
            job.save(update_fields=["queue"])
        assert wait_until(lambda: _state(job) == Job.State.DONE, 120), log.read_text()[-3000:]
        waiting = DocumentVersion.objects.exclude(ocr_status=DocumentVersion.Ocr.DONE).count()
        assert waiting >= 2, "the OCR queue drained first: the comparison waited behind it"
    finally:
        stop_celery_worker(bulk, kill=True)
        stop_celery_worker(interactive)
        with app.connection_for_write() as connection:
            for queue in (OCR_QUEUE, INTERACTIVE_QUEUE):
                connection.default_channel.queue_purge(queue)


def _ocr_started(versions: list[int]) -> bool:
    return DocumentVersion.objects.filter(pk__in=versions, ocr_heartbeat_at__isnull=False).exists()


def _state(job: Job) -> str:
    job.refresh_from_db()
    return job.state
