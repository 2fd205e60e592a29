"""Changing a filed document: replace it (a new version; the old one is kept), move it to
another type or case file (or file it from the inbox), split a multi-page scan into documents
by page ranges, withdraw it (soft delete, with a reason). Each is one transaction that recomputes the completeness of the case files involved
and writes the audit log. The 档号 stays with the document once given.
"""

from __future__ import annotations

import io
from datetime import date
from functools import partial
from pathlib import Path, PurePath
from typing import BinaryIO

import pypdfium2
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from PIL import Image

from archive import casefiles
from archive.access.audit import record
from archive.casefiles import archival_codes
from archive.documents import scans, storage
from archive.documents.ingest import (
    DUPLICATE,
    FILED,
    REJECTED,
    Outcome,
    Target,
    _too_large,
    ingest_stream,
    queue_ocr,
    store,
)
from archive.models import CaseFile, Document, DocumentVersion, StoredFile
from core import page_ranges


class OperationError(ValueError):
    """The change does not apply (message in Chinese)."""


def _locked(document: Document, *case_file_ids: int | None) -> Document:
    ids = sorted({i for i in (document.case_file_id, *case_file_ids) if i})
    list(CaseFile.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("case_file__person", "current__blob")
        .get(pk=document.pk)
    )


def replace(
    document: Document, stream: BinaryIO, name: str, user, request=None, note: str = ""
) -> Outcome:
    """Uploads a new version of a document; the previous versions stay."""
    if document.deleted_at:
        raise OperationError("已作废的文件不能替换")
    limit = scans.max_bytes()
    try:
        tmp, sha, size = storage.spool(stream, limit)
    except storage.TooLarge:
        return _too_large(name, limit)
    try:
        kind = scans.sniff_file(tmp) if size else None
        if not size:
            return Outcome(name, REJECTED, "文件为空")
        if kind is None or kind == "zip":
            return Outcome(name, REJECTED, "替换时请上传单个 JPEG、PNG、TIFF 或 PDF 文件")
        create = partial(_new_version, document, note)
        lock = (document.case_file_id,) if document.case_file_id else ()
        return store(tmp, sha, size, kind, name, user, request, create, lock)
    finally:
        tmp.unlink(missing_ok=True)


def _new_version(document: Document, note: str, blob: StoredFile, name: str, user, request):
    document = _locked(document)
    if document.deleted_at:
        return Outcome(name, REJECTED, "已作废的文件不能替换")
    number = (document.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    previous = document.current
    version = DocumentVersion.objects.create(
        document=document,
        number=number,
        blob=blob,
        original_name=name[-255:],
        note=note[:200],
        uploaded_by=user,
        ocr_queued_at=timezone.now(),
    )
    document.current = version
    document.save(update_fields=["current"])
    if document.case_file_id:
        casefiles.refresh(document.case_file)
    record(
        request,
        "replace_document",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=f"替换 {document} 第{previous.number if previous else 0}版 → 第{number}版 "
        f"（{name[-80:]}，{blob.sha256[:12]}…）{note}",
        user=user,
    )
    transaction.on_commit(partial(queue_ocr, version.pk))
    return Outcome(
        name,
        FILED,
        f"已替换为第{number}版，旧版本保留",
        document_id=document.pk,
        case_file_id=document.case_file_id,
        archival_code=document.archival_code or "",
        pages=blob.page_count,
    )


@transaction.atomic
def move(
    document: Document,
    user,
    request=None,
    *,
    case_file: CaseFile | None = None,
    doc_type: str | None = None,
    title: str | None = None,
    doc_date: date | None = None,
    reason: str = "",
) -> Document:
    """Moves a document to another type and/or case file (filing it from the inbox when it
    gets both), or corrects its 题名 and 日期. Gives it its 档号 when it becomes filed."""
    target_id = case_file.pk if case_file else None
    locked = _locked(document, target_id)
    if locked.deleted_at:
        raise OperationError("已作废的文件不能移动")
    before = (locked.case_file, locked.doc_type, locked.title, locked.doc_date)
    old_case_file = locked.case_file
    if case_file is not None and case_file.pk != locked.case_file_id:
        locked.case_file = case_file
        locked.county_id = case_file.county_id
    if doc_type is not None:
        locked.doc_type = doc_type
    if title is not None:
        locked.title = title[:200]
    if doc_date is not None:
        locked.doc_date = doc_date
    after = (locked.case_file, locked.doc_type, locked.title, locked.doc_date)
    if after == before:
        return locked
    archival_codes.assign(locked)
    locked.proposed_person = None if locked.case_file_id else locked.proposed_person
    locked.save()
    for touched in {c for c in (old_case_file, locked.case_file) if c is not None}:
        casefiles.refresh(touched)
    changes = []
    if before[0] != after[0]:
        changes.append(f"档案 {_where(before[0])} → {_where(after[0])}")
    if before[1] != after[1]:
        changes.append(f"类型 {casefiles.type_name(before[1])} → {casefiles.type_name(after[1])}")
    if before[2:] != after[2:]:
        changes.append(f"题名/日期 → {locked.title or '（默认）'} {locked.doc_date or ''}")
    record(
        request,
        "move_document",
        obj_type="archive.Document",
        obj_id=str(locked.pk),
        detail=f"{locked}：{'；'.join(changes)} {reason}".strip(),
        user=user,
    )
    return locked


def _where(case_file: CaseFile | None) -> str:
    return f"#{case_file.pk}" if case_file else "收件箱"


@transaction.atomic
def soft_delete(document: Document, reason: str, user, request=None) -> Document:
    """Withdraws a document: it leaves the checklist and the catalogue but stays stored, with
    its versions and 档号 (never reused), who withdrew it, when and why."""
    reason = reason.strip()
    if not reason:
        raise OperationError("请填写作废原因")
    locked = _locked(document)
    if locked.deleted_at:
        raise OperationError("该文件已作废")
    locked.deleted_at = timezone.now()
    locked.deleted_by = user
    locked.delete_reason = reason[:500]
    locked.save(update_fields=["deleted_at", "deleted_by", "delete_reason"])
    if locked.case_file_id:
        casefiles.refresh(locked.case_file)
    record(
        request,
        "delete_document",
        obj_type="archive.Document",
        obj_id=str(locked.pk),
        detail=f"作废 {locked}：{reason}",
        user=user,
    )
    return locked


@transaction.atomic
def rerun_ocr(document: Document, user, request=None) -> bool:
    """Reads the current version again (after a better scan setting, a new engine, or a page
    OCR got wrong): queued like a new upload, its earlier result kept until the new one lands.
    False when it is already waiting or being read."""
    if document.deleted_at:
        raise OperationError("已作废的文件不能重新识别")
    queued = DocumentVersion.objects.filter(pk=document.current_id).exclude(
        ocr_status=DocumentVersion.Ocr.QUEUED
    )
    now = timezone.now()
    if not queued.update(
        ocr_status=DocumentVersion.Ocr.QUEUED, ocr_queued_at=now, ocr_heartbeat_at=None
    ):
        return False
    version_id = document.current_id
    transaction.on_commit(lambda: queue_ocr(version_id))
    record(
        request,
        "rerun_ocr",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=f"重新识别 {document}",
        user=user,
    )
    return True


def split(
    document: Document, parts: list[tuple[int, int, str]], user, request=None
) -> list[Outcome]:
    """Splits the current version of a multi-page scan into one document per page range
    (``(first, last, doc_type)``; "" leaves the type to OCR) in the same case file or inbox,
    each filed through the upload path (档号, OCR, checklist), then withdraws the source with
    the ranges as its reason. All or nothing: every page must be in exactly one part
    (core/page_ranges.py), and a part that cannot be filed undoes the whole split.

    The source keeps its original and versions, as any withdrawn document does; each part's
    original is the pages cut from it (a PDF's own pages, a TIFF's frames, as PDF)."""
    if document.deleted_at:
        raise OperationError("已作废的文件不能拆分")
    version = document.current
    blob = version.blob
    if blob.page_count < 2:
        raise OperationError("只有一页的文件无法拆分")
    try:
        page_ranges.check_cover([(first, last) for first, last, _ in parts], blob.page_count)
    except page_ranges.PageRangeError as error:
        raise OperationError(error.message) from None
    stem = PurePath(version.original_name).stem[:80] or "拆分"
    described = "、".join(page_ranges.label(first, last) for first, last, _ in parts)
    with transaction.atomic():
        locked = _locked(document)
        if locked.deleted_at:
            raise OperationError("已作废的文件不能拆分")
        outcomes = []
        for first, last, doc_type in parts:
            label = page_ranges.label(first, last)
            target = Target(locked.case_file, doc_type, locked.county_id)
            content = _pages_as_pdf(storage.original_path(blob.sha256), blob.kind, first, last)
            [outcome] = ingest_stream(io.BytesIO(content), f"{stem}_{label}.pdf", target, user)
            if not outcome.ok:
                raise OperationError(f"{label}未能归档：{outcome.message}")
            outcomes.append(outcome)
        soft_delete(locked, f"已按页拆分为 {len(parts)} 份文件：{described}", user, request)
        record(
            request,
            "split_document",
            obj_type="archive.Document",
            obj_id=str(locked.pk),
            detail=f"拆分 {locked}：{described} → "
            + "、".join(f"#{o.document_id}" for o in outcomes),
            user=user,
        )
    return outcomes


def _pages_as_pdf(path: Path, kind: str, first: int, last: int) -> bytes:
    """Pages ``first``..``last`` (1-based) of a stored original, as a PDF."""
    out = io.BytesIO()
    if kind == StoredFile.Kind.PDF:
        source = pypdfium2.PdfDocument(path)
        try:
            part = pypdfium2.PdfDocument.new()
            part.import_pages(source, list(range(first - 1, last)))
            part.save(out)
            part.close()
        finally:
            source.close()
        return out.getvalue()
    with Image.open(path) as image:
        frames = []
        for index in range(first - 1, last):
            image.seek(index)
            frames.append(image.convert("RGB") if image.mode not in ("L", "RGB") else image.copy())
    frames[0].save(out, "PDF", save_all=True, append_images=frames[1:], resolution=200)
    return out.getvalue()


__all__ = ["DUPLICATE", "OperationError", "move", "replace", "rerun_ocr", "soft_delete", "split"]
