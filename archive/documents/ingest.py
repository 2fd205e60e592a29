"""Receiving scans: upload → checked → stored → filed → queued for OCR, one upload (a scan, or
every good scan of a ZIP) as one transaction.

The order makes a crash at any point harmless:

1. the bytes are copied to a private temporary file while hashed (nothing visible yet);
2. the content is checked completely and the page images derived into a temporary folder
   (a rejected file stops here; the temporary files are removed);
3. the original is flushed and renamed to its content-addressed name, the derived folder
   renamed into place (inside step 4's transaction; a crash or a rollback now leaves a file
   nobody refers to: invisible, reported by the integrity check, reused by the next upload of
   the same bytes);
4. one database transaction locks the case files and the blob rows, re-checks for a duplicate,
   creates the blob, document and version rows, takes the 档号 from the locked counter,
   recomputes completeness and writes the audit entry — all or nothing;
5. after the commit, OCR is queued (`transaction.on_commit`); the version is already marked
   "queued" with a time, so if the process dies before the message reaches the broker, the
   beat task `archive.requeue_stale_ocr` sends it again.

A ZIP is checked member by member first (a bad member is reported and does not stop the
others), then its good members are filed in that one transaction: interrupted, it filed
nothing. A ZIP, and a PDF of more than ``ARCHIVE_BACKGROUND_PDF_PAGES`` pages, is filed by a
background job with progress by file or page (``archive/jobs.py``,
:meth:`Received.runs_in_background`).

The same bytes uploaded again are not stored again: the archivist is told where they are
already filed.
"""

from __future__ import annotations

import logging
import shutil
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO
from zipfile import BadZipFile

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive import access, casefiles
from archive.access.audit import record
from archive.casefiles import archival_codes
from archive.documents import scans, storage, zips
from archive.documents.scans import Rejected
from archive.models import CaseFile, Document, DocumentVersion, StoredFile

logger = logging.getLogger("archive.documents")

FILED, UNTYPED, INBOX, DUPLICATE, REJECTED = "filed", "untyped", "inbox", "duplicate", "rejected"
STATUS_LABELS = {
    FILED: "已归档",
    UNTYPED: "已存入档案，待识别类型",
    INBOX: "已放入收件箱",
    DUPLICATE: "重复文件",
    REJECTED: "拒收",
}


@dataclass
class Target:
    """Where an upload goes: a case file (with a document type, or "" for OCR to decide), or
    the inbox of a division (``case_file`` None)."""

    case_file: CaseFile | None = None
    doc_type: str = ""
    county_id: str | None = None


@dataclass
class Outcome:
    name: str
    status: str
    message: str = ""
    document_id: int | None = None
    case_file_id: int | None = None
    archival_code: str = ""
    pages: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def ok(self) -> bool:
        return self.status in (FILED, UNTYPED, INBOX)

    def as_dict(self) -> dict:
        return {**asdict(self), "label": self.label, "ok": self.ok}


def inbox_target(user, doc_type: str = "") -> Target:
    profile = getattr(user, "subsidy_profile", None)
    return Target(None, doc_type, profile.division_id if profile else None)


# --- Entry points --------------------------------------------------------------------------------

#: ``progress(done, total, message)``: how far the checking of an upload has come (files of a
#: ZIP, pages of a PDF). It may raise (a cancelled job): nothing is filed then.
Progress = Callable[[int, int, str], None]


@dataclass
class Received:
    """An uploaded file copied privately (``tmp/``) and hashed, not yet checked."""

    path: Path
    sha: str
    size: int
    kind: str | None
    name: str

    def runs_in_background(self) -> bool:
        """A ZIP, or a PDF of more than ``ARCHIVE_BACKGROUND_PDF_PAGES`` pages, is filed by a
        background job (archive/jobs.py); a scan that is checked in a moment is filed at once."""
        if self.kind == "zip":
            return True
        if self.kind != "pdf":
            return False
        pages = scans.page_count(self.path)
        return pages is not None and pages > settings.ARCHIVE_BACKGROUND_PDF_PAGES


def receive(stream: BinaryIO, name: str, size_hint: int | None = None) -> Received | Outcome:
    """Step 1 for one uploaded file: copied into ``tmp/`` while hashed; an Outcome if it is
    too large."""
    limit = scans.max_bytes()
    if size_hint is not None and size_hint > limit:
        return _too_large(name, limit)
    try:
        tmp, sha, size = storage.spool(stream, limit)
    except storage.TooLarge:
        return _too_large(name, limit)
    return Received(tmp, sha, size, scans.sniff_file(tmp) if size else None, name)


def ingest_received(
    received: Received,
    target: Target,
    user,
    request=None,
    *,
    progress: Progress | None = None,
    check: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Files one received file (a scan or a ZIP of scans) whole or not at all: every scan is
    checked first, then all are filed in one transaction (``check()``, called in it before
    anything is written, may still stop it). Returns one outcome per scan; the received file
    is consumed."""
    try:
        if received.kind == "zip":
            return _ingest_zip(received.path, received.name, target, user, request, progress, check)
        return [_single(received, target, user, request, progress, check)]
    finally:
        received.path.unlink(missing_ok=True)


def ingest_stream(
    stream: BinaryIO,
    name: str,
    target: Target,
    user,
    request=None,
    size_hint: int | None = None,
) -> list[Outcome]:
    """Files one uploaded file (a scan or a ZIP of scans) in this process. Returns one outcome
    per scan."""
    received = receive(stream, name, size_hint)
    if isinstance(received, Outcome):
        return [received]
    return ingest_received(received, target, user, request)


def ingest_path(path: Path, target: Target, user, request=None) -> list[Outcome]:
    with path.open("rb") as fh:
        return ingest_stream(fh, path.name, target, user, request)


#: The Celery task that reads a version (archive/tasks.py), sent by name so that filing never
#: imports the tasks module that imports it.
OCR_TASK = "archive.ocr_document"


def queue_ocr(version_id: int) -> None:
    """Sends a stored version to OCR. Never fails the caller: a message that does not reach
    the broker is sent again by the beat task `archive.requeue_stale_ocr`."""
    try:
        current_app.send_task(OCR_TASK, args=[version_id])
    except Exception:  # the broker is down: the version stays "queued" and is retried
        logger.warning("OCR of document version %s not queued; will be retried", version_id)


# --- One scan ------------------------------------------------------------------------------------


def _too_large(name: str, limit: int) -> Outcome:
    return Outcome(name, REJECTED, f"文件超过大小上限 {scans.human_size(limit)}")


def _single(
    received: Received,
    target: Target,
    user,
    request,
    progress: Progress | None = None,
    check: Callable[[], None] | None = None,
) -> Outcome:
    on_page = None
    if progress is not None and received.kind == "pdf":
        total = scans.page_count(received.path) or 0

        def on_page(page: int) -> None:
            progress(page, total, f"正在检查第 {page}/{total} 页")

    prepared = prepare(received, user, on_page)
    if isinstance(prepared, Outcome):
        return prepared
    try:
        if progress is not None:
            progress(prepared.pages, prepared.pages, "正在归档")
        [outcome] = file_prepared(
            [(prepared, partial(_new_document, target))], user, request, check=check
        )
        return outcome
    finally:
        prepared.discard()


@dataclass
class Prepared:
    """A checked scan, ready to be filed: its bytes and page images still in ``tmp/``."""

    tmp: Path
    sha: str
    size: int
    kind: str
    name: str
    pages: int
    derive_dir: Path | None = None

    def put_in_place(self) -> None:
        """Step 3: the original and its page images renamed to their content-addressed place."""
        storage.commit_original(self.tmp, self.sha)
        if self.derive_dir is not None:
            storage.commit_derived(self.derive_dir, self.sha)
            self.derive_dir = None

    def discard(self) -> None:
        """Removes what was not put in place."""
        self.tmp.unlink(missing_ok=True)
        if self.derive_dir is not None:
            shutil.rmtree(self.derive_dir, ignore_errors=True)
            self.derive_dir = None


def prepare(
    received: Received, user, on_page: Callable[[int], None] | None = None
) -> Prepared | Outcome:
    """Step 2 for one received scan: rejected (an Outcome), a duplicate of a filed one (an
    Outcome), or checked with its page images derived into ``tmp/``. The received file is
    removed unless it is prepared."""
    try:
        prepared = _check(received, user, on_page)
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise
    if isinstance(prepared, Outcome):
        received.path.unlink(missing_ok=True)
    return prepared


def _check(received: Received, user, on_page: Callable[[int], None] | None) -> Prepared | Outcome:
    name, sha, kind = received.name, received.sha, received.kind
    if received.size == 0:
        return Outcome(name, REJECTED, "文件为空")
    if kind is None:
        return Outcome(name, REJECTED, "不支持的文件类型：只接受 JPEG、PNG、TIFF、PDF 或 ZIP")
    if kind == "zip":
        return Outcome(name, REJECTED, "ZIP 内含压缩包：不接受嵌套的 ZIP")
    existing = StoredFile.objects.filter(sha256=sha).first()
    if existing is not None:
        duplicate = duplicate_outcome(sha, name, user)
        if duplicate:
            return duplicate
        if storage.thumbnail_path(sha).exists():
            return Prepared(received.path, sha, received.size, kind, name, existing.page_count)
    derive_dir = storage.new_tmp_dir()
    try:
        pages = scans.check_and_derive(received.path, kind, derive_dir, on_page).page_count
    except Rejected as rejected:
        shutil.rmtree(derive_dir, ignore_errors=True)
        return Outcome(name, REJECTED, rejected.message)
    except BaseException:
        shutil.rmtree(derive_dir, ignore_errors=True)
        raise
    return Prepared(received.path, sha, received.size, kind, name, pages, derive_dir)


def file_prepared(
    items: list[tuple[Prepared, Callable[..., Outcome]]],
    user,
    request,
    lock_case_files: tuple[int, ...] = (),
    check: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Steps 3–5 for checked scans, all in one transaction: the case files locked (in order,
    so two uploads never wait on each other crosswise), ``check()``, then per scan its files
    put in place and ``create(blob, name, user, request)`` writing its rows."""
    with transaction.atomic():
        if lock_case_files:
            list(
                CaseFile.objects.select_for_update()
                .filter(pk__in=sorted(set(lock_case_files)))
                .order_by("pk")
            )
        if check is not None:
            check()
        return [_file_one(prepared, create, user, request) for prepared, create in items]


def _file_one(prepared: Prepared, create: Callable[..., Outcome], user, request) -> Outcome:
    prepared.put_in_place()
    sha = prepared.sha
    StoredFile.objects.bulk_create(
        [StoredFile(sha256=sha, size=prepared.size, kind=prepared.kind, page_count=prepared.pages)],
        ignore_conflicts=True,
    )
    blob = StoredFile.objects.select_for_update().get(sha256=sha)
    # A concurrent upload of the same bytes (or an earlier scan of this ZIP) may be filed.
    if DocumentVersion.objects.filter(blob=blob, document__deleted_at__isnull=True).exists():
        return duplicate_outcome(sha, prepared.name, user)
    outcome = create(blob, prepared.name, user, request)
    if prepared.kind == "pdf" and outcome.ok:
        _flag_active_pdf(storage.original_path(sha), outcome, blob, request, user)
    return outcome


def store(
    tmp: Path,
    sha: str,
    size: int,
    kind: str,
    name: str,
    user,
    request,
    create: Callable[..., Outcome],
    lock_case_files: tuple[int, ...] = (),
) -> Outcome:
    """Steps 2–5 for one checked-in temporary file; ``create(blob, name, user, request)``
    writes the document rows inside the transaction."""
    prepared = prepare(Received(tmp, sha, size, kind, name), user)
    if isinstance(prepared, Outcome):
        return prepared
    try:
        [outcome] = file_prepared([(prepared, create)], user, request, lock_case_files)
        return outcome
    finally:
        prepared.discard()


def _flag_active_pdf(path: Path, outcome: Outcome, blob: StoredFile, request, user) -> None:
    """A PDF with scripts or automatic actions is kept (it is the paper's scan) but flagged:
    on its version's note, in the upload result and in the audit log."""
    names = scans.active_content(path)
    if not names:
        return
    DocumentVersion.objects.filter(document_id=outcome.document_id, blob=blob).update(
        note=scans.ACTIVE_PDF_NOTE
    )
    outcome.message = f"{outcome.message}（{scans.ACTIVE_PDF_NOTE}）"
    outcome.extra["active_content"] = names
    record(
        request,
        "flag_active_pdf",
        obj_type="archive.Document",
        obj_id=str(outcome.document_id),
        detail=f"PDF 含 {'、'.join('/' + n for n in names)}，已标记",
        user=user,
    )


def _new_document(target: Target, blob: StoredFile, name: str, user, request) -> Outcome:
    case_file = None
    if target.case_file is not None:
        case_file = (
            CaseFile.objects.select_for_update()
            .select_related("person", "county")
            .get(pk=target.case_file.pk)
        )
    now = timezone.now()
    document = Document.objects.create(
        case_file=case_file,
        county_id=case_file.county_id if case_file else target.county_id,
        doc_type=target.doc_type,
        doc_date=timezone.localdate(now),
        created_by=user,
    )
    version = DocumentVersion.objects.create(
        document=document,
        number=1,
        blob=blob,
        original_name=name[-255:],
        uploaded_by=user,
        ocr_queued_at=now,
    )
    document.current = version
    archival_codes.assign(document, now)
    document.save()
    if case_file is not None:
        casefiles.refresh(case_file)
    status = FILED if document.is_filed else (UNTYPED if case_file else INBOX)
    record(
        request,
        "upload_document",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=f"上传 {name[-120:]} → {document.archival_code or STATUS_LABELS[status]}"
        f"（{blob.sha256[:12]}…，{blob.page_count} 页）",
        user=user,
    )
    transaction.on_commit(partial(queue_ocr, version.pk))
    return Outcome(
        name,
        status,
        _filed_message(document, case_file),
        document_id=document.pk,
        case_file_id=case_file.pk if case_file else None,
        archival_code=document.archival_code or "",
        pages=blob.page_count,
    )


def _filed_message(document: Document, case_file: CaseFile | None) -> str:
    if case_file is None:
        return "已放入收件箱，待识别人员和类型"
    where = f"{case_file.person.name}的补贴档案"
    if document.archival_code:
        return f"已归入{where}，档号 {document.archival_code}"
    return f"已存入{where}，待识别材料类型"


def duplicate_outcome(sha: str, name: str, user) -> Outcome | None:
    """If these bytes are already filed (in a document that is not withdrawn), says where."""
    version = (
        DocumentVersion.objects.filter(blob__sha256=sha, document__deleted_at__isnull=True)
        .select_related("document__case_file__person", "document__current")
        .order_by("id")
        .first()
    )
    if version is None:
        return None
    document = version.document
    county = document.county_id
    visible = access.user_prefix(user) == access.ALL or (county and access.covers(user, county))
    if not visible:
        return Outcome(name, DUPLICATE, "该文件已由其他辖区归档，未重复存储")
    if document.case_file_id:
        where = f"已归档于 {document.case_file.person.name}（{document.case_file.person.masked_id}）的补贴档案"
        where += f"，档号 {document.archival_code}" if document.archival_code else "（待识别类型）"
    else:
        where = f"已在收件箱中（文件 #{document.pk}）"
    if document.current_id != version.pk:
        where += f"，为其第{version.number}版（已被替换）"
    return Outcome(
        name,
        DUPLICATE,
        f"{where}，未重复存储",
        document_id=document.pk,
        case_file_id=document.case_file_id,
        archival_code=document.archival_code or "",
    )


# --- ZIPs ----------------------------------------------------------------------------------------


def _ingest_zip(
    path: Path,
    zip_name: str,
    target: Target,
    user,
    request,
    progress: Progress | None = None,
    check: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Every member checked (a bad one reported, never stopping the others), then the good
    ones filed together in one transaction: a ZIP is filed whole or, interrupted, not at all."""
    try:
        archive, members = zips.open_zip(path)
    except Rejected as rejected:
        return [Outcome(zip_name, REJECTED, rejected.message)]
    slots: list[Outcome | tuple[Prepared, Target]] = []
    limit = scans.max_bytes()
    people = access.people_in_scope(user, {m.id_number for m in members})
    total = len(members)
    try:
        with archive:
            for number, member in enumerate(members, 1):
                label = f"{zip_name}/{member.name}"
                if progress is not None:
                    progress(
                        number - 1, total, f"正在检查第 {number}/{total} 个文件：{member.name}"
                    )
                slots.append(_zip_member(archive, member, label, target, people, user, limit))
        if progress is not None:
            progress(total, total, f"正在归档 {total} 个文件")
        ready = [slot for slot in slots if not isinstance(slot, Outcome)]
        items = [(prepared, partial(_new_document, where)) for prepared, where in ready]
        locks = tuple(where.case_file.pk for _prepared, where in ready if where.case_file)
        filed = iter(file_prepared(items, user, request, locks, check) if items else ())
        return [slot if isinstance(slot, Outcome) else next(filed) for slot in slots]
    finally:
        for slot in slots:
            if not isinstance(slot, Outcome):
                slot[0].discard()


def _zip_member(archive, member, label: str, target: Target, people: dict, user, limit: int):
    """One member checked: an Outcome, or its prepared scan with where it goes."""
    member_target = _member_target(member, target, people)
    if isinstance(member_target, Outcome):
        member_target.name = label
        return member_target
    if member.encrypted:
        return Outcome(label, REJECTED, "ZIP 条目已加密，无法读取")
    if member.info.file_size > limit:
        return _too_large(label, limit)
    try:
        with archive.open(member.info) as fh:
            tmp, sha, size = storage.spool(fh, limit)
    except storage.TooLarge:
        return _too_large(label, limit)
    except (BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError):
        return Outcome(label, REJECTED, "ZIP 条目已损坏，无法解压")
    received = Received(tmp, sha, size, scans.sniff_file(tmp) if size else None, label)
    prepared = prepare(received, user)
    if isinstance(prepared, Outcome):
        return prepared
    return prepared, member_target


def _member_target(member, target: Target, people: dict) -> Target | Outcome:
    """Where one ZIP member goes under the naming rule of docs/formats.md."""
    if target.case_file is not None:
        own = target.case_file.person.id_number
        if member.id_number and member.id_number != own:
            return Outcome(
                member.name,
                REJECTED,
                f"文件名中的身份号码 {member.id_number[:6]}…{member.id_number[-4:]} 与本档案不符，未存储",
            )
        return target
    if not member.id_number:
        return target
    found = people.get(member.id_number)
    if found is not None:
        return Target(casefiles.case_file_for(*found), target.doc_type)
    return target


# --- Derived images on demand ------------------------------------------------------------------


def ensure_derived(blob: StoredFile) -> bool:
    """Re-creates the page images and thumbnail of a stored original if they are missing
    (derived files are a cache). False if the original itself is missing or unreadable."""
    if (
        storage.thumbnail_path(blob.sha256).exists()
        and storage.page_path(blob.sha256, blob.page_count).exists()
    ):
        return True
    original = storage.original_path(blob.sha256)
    if not original.exists():
        return False
    out = storage.new_tmp_dir()
    try:
        scans.check_and_derive(original, blob.kind, out)
    except Rejected:
        shutil.rmtree(out, ignore_errors=True)
        return False
    storage.commit_derived(out, blob.sha256)
    return True
