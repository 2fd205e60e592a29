"""Keeping what OCR read on a document version and acting on it, the rules the OCR task
(archive/tasks.py ``ocr_document``) applies after the pipeline: keep the text, the fields and
where each was read; propose the type and, for an inbox scan, the person (looked up only in
the uploader's jurisdiction); file a document uploaded to a case file without a type when OCR
is sure of it (``ARCHIVE_OCR_AUTO_FILE_CONFIDENCE``, default 0.8); cross-check it against the
case file and place it in the OCR 核对 queue (`archive.documents.ocr_review`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from archive import access
from archive.documents import ocr_review, operations
from archive.models import Document, DocumentVersion
from core.doctypes import BY_CODE
from ocr.engine import engine_name


def auto_file_confidence() -> float:
    return settings.ARCHIVE_OCR_AUTO_FILE_CONFIDENCE


def keep(version_id: int, results) -> None:
    """Keeps what OCR read (``PageResult``s) and acts on it: the fields, the engine, the
    cross-check against the case file and the place in the OCR 核对 queue
    (`archive.documents.ocr_review`)."""
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
