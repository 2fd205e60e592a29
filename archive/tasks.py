"""Celery tasks of the archive. Each is thin: the logic lives in plain functions.

- ``archive.ocr_document``: reads a stored version with the OCR pipeline
  (`ocr.pipeline.read_file`, the same call as the task ``ocr.read_document``, which stores
  nothing) and keeps the text and fields; proposes the type (and, for the inbox, the person);
  files a document uploaded to a case file without a type when OCR is sure of it
  (``ARCHIVE_OCR_AUTO_FILE_CONFIDENCE``, default 0.8).
- ``archive.requeue_stale_ocr`` (beat, every minute): re-sends OCR whose worker died mid-way
  (no heartbeat, ``archive.heartbeats``) or that was committed but never delivered.
- ``archive.integrity_check`` (beat, nightly): re-hashes every original (`archive.casefiles.integrity`).
- ``archive.refresh_completeness`` (beat, nightly): recomputes every case file's completeness.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from archive import access
from archive.documents import storage
from archive.documents.ingest import OCR_TASK
from archive.heartbeats import beating, dead_before
from archive.models import Document, DocumentVersion
from core.doctypes import BY_CODE

logger = logging.getLogger("archive.tasks")

STALE_AFTER = timedelta(minutes=15)
REQUEUE_BATCH = 500


def auto_file_confidence() -> float:
    return settings.ARCHIVE_OCR_AUTO_FILE_CONFIDENCE


@shared_task(name=OCR_TASK, acks_late=True)
def ocr_document(version_id: int) -> str:
    # Claim the version: queued, and nobody beating on it (a redelivered copy of a task that
    # another worker is still running, or that the reaper already sent again, is skipped).
    claimed = (
        DocumentVersion.objects.filter(pk=version_id, ocr_status=DocumentVersion.Ocr.QUEUED)
        .filter(Q(ocr_heartbeat_at__isnull=True) | Q(ocr_heartbeat_at__lt=dead_before()))
        .update(ocr_heartbeat_at=timezone.now())
    )
    if not claimed:
        return "skipped"
    version = DocumentVersion.objects.select_related("blob", "document").get(pk=version_id)
    with beating(DocumentVersion.objects.filter(pk=version_id), "ocr_heartbeat_at"):
        return _read_and_apply(version)


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
        results = read_file(original, name=version.original_name)
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
    apply_ocr(version_id, results)
    return "done"


def apply_ocr(version_id: int, results) -> None:
    """Keeps what OCR read (``PageResult``s) and acts on it: the fields, the engine, the
    cross-check against the case file and the place in the OCR 核对 queue
    (`archive.documents.ocr_review`)."""
    from archive.documents import ocr_review, operations
    from ocr.engine import engine_name

    pages = [
        {
            "page": r.page,
            "doc_type": r.doc_type,
            "confidence": r.confidence,
            "fields": r.fields,
            "warnings": list(r.warnings),
            "size": list(r.size),
        }
        for r in results
    ]
    fields: dict = {}
    # Where each field kept was read (the page, and the box as fractions of it): the crops of
    # OCR 核对, the same on the stored page image at any size.
    boxes: dict = {}
    for r in results:
        for key, value in (r.fields or {}).items():
            if value is not None and fields.get(key) is None:
                fields[key] = value
                if key in r.boxes:
                    boxes[key] = {"page": r.page, "box": list(r.boxes[key])}
    for r in results:  # a field read nowhere: where it is printed (a doubtful name), if known
        for key, box in r.boxes.items():
            if fields.get(key) is None and key not in boxes:
                boxes[key] = {"page": r.page, "box": list(box)}
    typed = [r for r in results if r.doc_type in BY_CODE and r.doc_type != "other"]
    best = max(typed, key=lambda r: r.confidence or 0, default=None)
    with transaction.atomic():
        version = DocumentVersion.objects.select_for_update().get(pk=version_id)
        version.ocr_text = "\n\f".join(r.text or "" for r in results)
        version.ocr_fields = {
            "pages": pages,
            "fields": _jsonable(fields),
            "doc_type": ocr_review.read_doc_type(pages),
            "boxes": boxes,
        }
        version.ocr_status = DocumentVersion.Ocr.DONE
        version.ocr_engine = engine_name()
        ocr_review.classify(version)
        version.save(
            update_fields=[
                "ocr_text",
                "ocr_fields",
                "ocr_status",
                "ocr_engine",
                "ocr_reasons",
                "ocr_priority",
            ]
        )
        document = Document.objects.select_for_update().get(pk=version.document_id)
        if document.current_id != version.pk or document.deleted_at:
            return
        if best is not None and not document.doc_type:
            document.proposed_type = best.doc_type
            document.proposal_confidence = best.confidence
        id_number = fields.get("id_number")
        if id_number and not document.case_file_id:
            # Proposed from the uploader's jurisdiction only: a scan showing another
            # county's ID number proposes nobody.
            found = access.person_in_scope(document.created_by, str(id_number))
            document.proposed_person = found[0] if found else None
        document.save(update_fields=["proposed_type", "proposal_confidence", "proposed_person"])
        if (
            document.case_file_id
            and not document.doc_type
            and best is not None
            and (best.confidence or 0) >= auto_file_confidence()
        ):
            operations.move(
                document, None, doc_type=best.doc_type, reason="（OCR 自动识别材料类型）"
            )
            document.refresh_from_db()
        document.current = version
        ocr_review.cross_check(document)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


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
