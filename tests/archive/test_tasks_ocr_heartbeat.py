"""A worker killed in the middle of OCR (by its PID, with its pool, as the out-of-memory killer
would) delays the page by a minute or two, not until the broker's visibility timeout: the
heartbeat stops, the minute's sweep (archive.tasks.requeue_stale) sends it again, and another
worker reads it. A redelivered copy of a task another worker is still beating on is skipped."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from archive import tasks
from archive.documents.ingest import Target
from archive.models import DocumentVersion
from tests.archive.documents import samples
from tests.conftest import start_celery_worker, stop_celery_worker
from tests.helpers import wait_until

pytestmark = pytest.mark.usefixtures("private_media")

ORIGINAL_PRIVATE_ROOT = Path(django_settings.PRIVATE_MEDIA_ROOT)
BEATS = {"WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_DEAD_AFTER_SECONDS": "3"}


@pytest.mark.django_db
def test_a_version_another_worker_is_beating_on_is_skipped(upload, case_file, archivist):
    upload(samples.jpeg(1), "scan.jpg", Target(case_file, "id_card"), archivist)
    version = DocumentVersion.objects.get()
    DocumentVersion.objects.update(ocr_heartbeat_at=timezone.now())
    assert tasks.ocr_document(version.pk) == "skipped"
    assert tasks.requeue_stale() == 0


@pytest.mark.django_db
def test_the_sweep_resends_only_abandoned_or_undelivered_ocr(
    upload, case_file, archivist, settings, monkeypatch
):
    sent: list[int] = []
    monkeypatch.setattr("archive.documents.ingest.queue_ocr", sent.append)
    for seed in range(3):
        upload(samples.jpeg(seed), f"{seed}.jpg", Target(case_file, "id_card"), archivist)
    working, abandoned, waiting = DocumentVersion.objects.order_by("pk")
    now = timezone.now()
    DocumentVersion.objects.filter(pk=working.pk).update(ocr_heartbeat_at=now)
    DocumentVersion.objects.filter(pk=abandoned.pk).update(
        ocr_heartbeat_at=now - timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS + 5)
    )
    assert tasks.requeue_stale() == 1
    assert sent == [abandoned.pk]
    abandoned.refresh_from_db()
    assert abandoned.ocr_heartbeat_at is None  # free for the next worker to claim
    DocumentVersion.objects.filter(pk=waiting.pk).update(ocr_queued_at=now - timedelta(hours=1))
    assert tasks.requeue_stale() == 1 and sent[-1] == waiting.pk


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ocr_killed_mid_way_is_redone_within_a_minute_by_another_worker(
    upload, case_file, archivist, settings, tmp_path, monkeypatch
):
    settings.PRIVATE_MEDIA_ROOT = ORIGINAL_PRIVATE_ROOT  # where worker processes look
    settings.WORKER_DEAD_AFTER_SECONDS = float(BEATS["WORKER_DEAD_AFTER_SECONDS"])
    monkeypatch.setattr("archive.documents.ingest.queue_ocr", lambda pk: None)  # sent by hand below
    upload(samples.tiff(pages=40), "scans.tif", Target(case_file, "application_form"), archivist)
    version = DocumentVersion.objects.get()
    log = tmp_path / "workers.log"

    first = start_celery_worker(log, "doomed", queues="kill-test", **BEATS)
    try:
        tasks.ocr_document.apply_async(args=[version.pk], queue="kill-test")
        assert wait_until(lambda: _claimed(version), 60), log.read_text()[-2000:]
        time.sleep(1.5)  # mid-way through 40 pages
    finally:
        stop_celery_worker(first, kill=True)
    version.refresh_from_db()
    assert version.ocr_status == DocumentVersion.Ocr.QUEUED  # not lost, not done

    monkeypatch.undo()  # the sweep sends it the normal way, to the default queue
    second = start_celery_worker(log, "survivor", **BEATS)
    try:
        assert wait_until(lambda: tasks.requeue_stale() == 1, 30)  # within seconds of the last beat
        done = lambda: _status(version) == DocumentVersion.Ocr.DONE  # noqa: E731
        assert wait_until(done, 240), log.read_text()[-3000:]
    finally:
        stop_celery_worker(second)


def _claimed(version: DocumentVersion) -> bool:
    version.refresh_from_db()
    return version.ocr_heartbeat_at is not None


def _status(version: DocumentVersion) -> str:
    version.refresh_from_db()
    return version.ocr_status
