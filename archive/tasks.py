"""Celery tasks of the archive. Each is thin: the logic lives in plain functions.

- ``archive.ocr_document``: reads a stored version with the OCR pipeline
  (`ocr.pipeline.read_file`, the same call as the task ``ocr.read_document``, which stores
  nothing) and hands what it read to `archive.documents.ocr_results.keep`, where the rules of
  what OCR may propose or file live.
- ``archive.requeue_stale_ocr`` (beat, every minute): re-sends OCR whose worker died mid-way
  (no heartbeat, ``archive.heartbeats``) or that was committed but never delivered.
- ``archive.integrity_check`` (beat, nightly): re-hashes every original (`archive.casefiles.integrity`).
- ``archive.refresh_completeness`` (beat, nightly): recomputes every case file's completeness.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from archive.documents import ocr_results, storage
from archive.documents.ingest import OCR_TASK
from archive.heartbeats import beating, dead_before
from archive.models import DocumentVersion

logger = logging.getLogger("archive.tasks")

STALE_AFTER = timedelta(minutes=15)
REQUEUE_BATCH = 500


@shared_task(name=OCR_TASK, acks_late=True)
def ocr_document(version_id: int) -> str:
    # Claim the version: queued, and nobody beating on it (a redelivered copy of a task that
    # another worker is still running, or that the reaper already sent again, is skipped).
    claimed = (
        DocumentVersion.objects.filter(pk=version_id, ocr_status=DocumentVersion.Ocr.QUEUED)
        .filter(Q(ocr_heartbeat_at__isnull=True) | Q(ocr_heartbeat_at__lt=dead_before()))
        .update(ocr_heartbeat_at=timezone.now(), ocr_pages_done=0)
    )
    if not claimed:
        return "skipped"
    version = DocumentVersion.objects.select_related("blob", "document").get(pk=version_id)
    with beating(DocumentVersion.objects.filter(pk=version_id), "ocr_heartbeat_at"):
        return _read_and_apply(version)


def _pages_done(version_id: int):
    """Writes the pages read so far, for the case file page's progress (ocr_progress)."""

    def report(page: int) -> None:
        DocumentVersion.objects.filter(pk=version_id).update(ocr_pages_done=page)

    return report


def _read_and_apply(version: DocumentVersion) -> str:
    version_id = version.pk
    try:
        from ocr.engine import EngineError
        from ocr.pages import PageError
        from ocr.pipeline import read_file
    except ImportError:
        logger.warning("ocr.pipeline is not available; version %s stays queued", version_id)
        return "unavailable"
    original = storage.original_path(version.blob.sha256)
    try:  # the pipeline recognises the format by content, like the upload did
        results = read_file(original, name=version.original_name, progress=_pages_done(version_id))
    except EngineError:
        # Tesseract missing or hung: stays queued, unclaimed; the 15-minute sweep of
        # archive.requeue_stale_ocr tries again.
        logger.exception("OCR engine failed on version %s; will be retried", version_id)
        DocumentVersion.objects.filter(pk=version_id).update(ocr_heartbeat_at=None)
        return "retry"
    except (PageError, OSError) as error:
        DocumentVersion.objects.filter(pk=version_id).update(
            ocr_status=DocumentVersion.Ocr.FAILED,
            ocr_fields={"error": getattr(error, "message", str(error))[:500]},
        )
        return "failed"
    ocr_results.keep(version_id, results)
    return "done"


def requeue_stale() -> int:
    """Re-sends OCR that is queued but not in progress: claimed by a worker that stopped beating
    (killed mid-OCR: a minute or two, ``WORKER_DEAD_AFTER_SECONDS``), or never claimed for
    STALE_AFTER (committed but never delivered: a crash between commit and publish, or the
    broker down)."""
    from archive.documents.ingest import queue_ocr

    queued = DocumentVersion.objects.filter(ocr_status=DocumentVersion.Ocr.QUEUED)
    abandoned = Q(ocr_heartbeat_at__lt=dead_before())
    undelivered = Q(ocr_heartbeat_at__isnull=True, ocr_queued_at__lt=timezone.now() - STALE_AFTER)
    stale = list(
        queued.filter(abandoned | undelivered).values_list("pk", flat=True)[:REQUEUE_BATCH]
    )
    if stale:
        DocumentVersion.objects.filter(pk__in=stale).update(
            ocr_queued_at=timezone.now(), ocr_heartbeat_at=None
        )
    for pk in stale:
        queue_ocr(pk)
    return len(stale)


@shared_task(name="archive.requeue_stale_ocr")
def requeue_stale_ocr() -> int:
    return requeue_stale()


@shared_task(name="archive.integrity_check", acks_late=True)
def integrity_check(triggered_by: str = "定时任务") -> dict:
    from archive.casefiles.integrity import run_check

    run = run_check(triggered_by=triggered_by)
    return {"run": run.pk, "checked": run.checked, "missing": run.missing, "altered": run.altered}


@shared_task(name="archive.refresh_completeness")
def refresh_completeness() -> int:
    from archive.casefiles import refresh_all

    return refresh_all()


@shared_task(name="archive.clean_tmp")
def clean_tmp() -> int:
    """Sweeps what interrupted uploads and jobs left in the private store's tmp/, and roster
    uploads nobody confirmed (archive.imports.uploads)."""
    from archive.documents import storage
    from archive.imports import uploads

    return storage.clean_tmp() + len(uploads.sweep())
