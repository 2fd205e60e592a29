"""The archive's kinds of long work (``jobs.kinds``): parsing and previewing an uploaded roster,
and importing it (the views only store the upload and submit the job, archive/import_views.py);
exporting the case-file list to XLSX (archive/casefiles/casefile_views.py); filing a ZIP of scans or a
long PDF (扫描件归档, archive/documents/upload_views.py); reading again every document a filter
selects (按筛选结果重新识别, archive/documents/rerun_views.py).

**Scan ingestion.** The upload view receives the file (``ingest.receive``: copied privately
and hashed); a ZIP, or a PDF of more than ``ARCHIVE_BACKGROUND_PDF_PAGES`` pages, is moved into
the job's directory and :func:`submit_ingest` queues the job on the bulk queue. The job checks
it file by file or page by page (progress), then files every good scan in one transaction
(``ingest.ingest_received``): cancelled or killed before the commit, it filed nothing. Its
result lists every file — filed where, or rejected and why. Whatever the outcome, the file it
was given is removed (:func:`_forget_scan_input`). Running it again after its worker died is
safe: the file is still there and nothing of the dead attempt was filed. An upload made for
something else than the case file — the evidence of a spot-check result or of a verdict — names
a step (:func:`after_filing`, registered by that app's ``jobs.py``) that records what it was
for in the same transaction as the filing: both, or neither.

**Re-running OCR on a filter.** :func:`rerun_ocr` (``archive.documents.ocr_rerun``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from archive import access, casefiles, imports
from archive.documents import ingest, ocr_rerun
from archive.exports import write_xlsx
from archive.imports import uploads
from archive.models import CaseFile
from core.tabular import TableError, read_table
from jobs import services as jobs
from jobs.kinds import BULK, INTERACTIVE, JobFailed, register
from jobs.models import Job
from jobs.runner import Context, job_dir
from jobs.signals import job_finished

ROSTER_PREVIEW = "roster_preview"
ROSTER_IMPORT = "roster_import"
CASE_FILE_EXPORT = "case_file_export"
CASE_FILE_FILE = "casefiles.xlsx"
SCAN_INGEST = "scan_ingest"
OCR_RERUN = "ocr_rerun"
#: The uploaded ZIP or PDF, in the job's directory, until the job has ended.
SCAN_INPUT = "scans.upload"
#: A second name of the same bytes, for the ingestion to consume.
SCAN_WORK = "scans.work"

#: What each step of archive.imports reports, as the progress bar says it.
_STAGES = {"validate": "正在逐行校验", "write": "正在写入档案"}


def _progress(context: Context) -> imports.Progress:
    def report(stage: str, done: int, total: int) -> None:
        context.progress(done, total, f"{_STAGES.get(stage, '正在处理')}：{done}/{total} 行")

    return report


def _source(context: Context) -> tuple[str, str]:
    sha, filename = context.params["sha"], context.params["filename"]
    if not uploads.upload_path(sha).exists():
        raise JobFailed(
            "上传的文件已过期或已被处理，请重新上传。", url=reverse("archive_import:upload")
        )
    return sha, filename


@register(
    ROSTER_PREVIEW,
    "花名册校验预览",
    queue=INTERACTIVE,
    retry_safe=True,
    time_limit="JOB_PARSE_TIME_LIMIT_SECONDS",
    memory_limit="JOB_PARSE_MEMORY_LIMIT_MB",
)
def preview_roster(context: Context) -> dict[str, Any]:
    """Reads and dry-runs the upload for its user; writes only the preview file."""
    sha, filename = _source(context)
    context.progress(0, 0, "正在读取文件", force=True)
    try:
        preview = uploads.build_preview(sha, filename, context.user, _progress(context))
    except TableError as error:
        uploads.discard(sha)  # nothing of a file that is not a roster stays
        raise JobFailed(error.message, url=reverse("archive_import:upload")) from None
    return {
        "url": reverse("archive_import:preview", kwargs={"sha": sha}),
        "summary": f"共 {preview['total']} 行：新增 {preview['created']}，更新 {preview['updated']}，"
        f"未变 {preview['unchanged']}，拒绝 {preview['rejected']}",
    }


@register(ROSTER_IMPORT, "花名册导入", queue=INTERACTIVE, retry_safe=True)
def import_roster(context: Context) -> dict[str, Any]:
    """The import itself, in one transaction (archive.imports.run): a cancelled or killed
    attempt writes nothing, so running it again is safe."""
    sha, filename = _source(context)
    mode = context.params["mode"]
    back = reverse("archive_import:preview", kwargs={"sha": sha})
    context.progress(0, 0, "正在读取文件", force=True)
    source = uploads.upload_path(sha)
    try:
        result = imports.import_beneficiaries(
            source, filename, mode=mode, user=context.user, progress=_progress(context)
        )
    except TableError as error:
        raise JobFailed(error.message, url=reverse("archive_import:upload")) from None
    except IntegrityError:
        raise JobFailed("写入时与其他操作冲突，未写入任何数据，请稍后重试。", url=back) from None
    if result.rejected:
        raise JobFailed(
            f"有{len(result.rejected_rows)}行错误，按“整体导入”方式未写入任何数据。"
            "请改正后重新上传，或选择“跳过错误行导入”。",
            url=back,
        )
    assert result.record_id is not None
    if result.rejected_rows:
        content = imports.rejected_rows_xlsx(read_table(source, filename).rows, result.errors)
        target = uploads.rejected_path(result.record_id)
        target.write_bytes(content)
        target.chmod(0o600)
    uploads.discard(sha)
    return {
        "url": reverse("archive_import:result", kwargs={"pk": result.record_id}),
        "summary": f"已导入「{filename}」：新增 {result.created}，更新 {result.updated}，"
        f"未变 {result.unchanged}，拒绝 {len(result.rejected_rows)}",
    }


@register(CASE_FILE_EXPORT, "补贴档案清单导出", queue=INTERACTIVE, retry_safe=True)
def export_case_files(context: Context) -> dict[str, Any]:
    """The case-file list (its filters, the user's jurisdiction), every page of it, into the
    job's private directory: the sheet of ``casefiles.export_rows``, ID numbers masked as in
    the list. ``filters`` None is a filter the list refused: it selects nothing."""
    user = context.user
    if user is None:  # no user is not "everyone": no jurisdiction would apply
        raise JobFailed("提交导出的用户已不存在，未导出任何数据。")
    filters = context.params["filters"]
    context.progress(0, 0, "正在查询档案", force=True)
    rows = access.scope(CaseFile.objects.all(), user, "county")
    rows = rows.none() if filters is None else casefiles.filter_case_files(rows, filters)
    rows = rows.order_by("county_id", "person__name", "id")
    total = rows.count()

    def report(done: int) -> None:
        context.progress(done, total, f"正在导出：{done}/{total} 份档案")

    target = context.directory / CASE_FILE_FILE
    with target.open("wb") as out:
        write_xlsx(out, "补贴档案", casefiles.export_rows(rows, masked=True, progress=report))
    target.chmod(0o600)
    context.progress(total, total, f"已导出 {total} 份档案")
    return {
        "file": CASE_FILE_FILE,
        "filename": f"补贴档案清单_{timezone.localdate():%Y%m%d}.xlsx",
        "summary": f"导出 {total} 份档案",
    }


#: What an app does with the scans a background ingestion filed, in the same transaction
#: (``then`` of :func:`submit_ingest`): ``step(outcomes, user, params)`` records what the upload
#: was for — a spot check's result with its evidence, a verdict with its evidence — and returns
#: what the job's result should say instead (``url``, ``summary``), or raises
#: :class:`JobFailed`: then nothing of the upload is filed either.
AfterFiling = Callable[[list[ingest.Outcome], Any, dict[str, Any]], dict[str, Any]]
_AFTER_FILING: dict[str, AfterFiling] = {}


def after_filing(name: str) -> Callable[[AfterFiling], AfterFiling]:
    """Registers a step to run after a background ingestion (an app's own ``jobs.py``)."""

    def decorate(step: AfterFiling) -> AfterFiling:
        if _AFTER_FILING.get(name, step) is not step:
            raise ValueError(f"after-filing step {name!r} registered twice")
        _AFTER_FILING[name] = step
        return step

    return decorate


def submit_ingest(
    received: ingest.Received,
    target: ingest.Target,
    user: Any,
    then: tuple[str, dict[str, Any]] | None = None,
) -> Job:
    """Moves a received ZIP or long PDF into a new job's directory and submits the job (sent
    to a worker when the transaction commits, the file already in place). ``then`` names a
    step registered with :func:`after_filing` and its parameters (JSON-able)."""
    if then is not None and then[0] not in _AFTER_FILING:
        raise LookupError(f"unknown after-filing step {then[0]!r}")
    try:
        with transaction.atomic():
            job = jobs.submit(
                SCAN_INGEST,
                user=user,
                division_code=access.user_prefix(user) or "",
                name=received.name[:255],
                sha=received.sha,
                size=received.size,
                file_kind=received.kind,
                case_file=target.case_file.pk if target.case_file is not None else None,
                doc_type=target.doc_type,
                county=target.county_id,
                then=then[0] if then else "",
                then_params=then[1] if then else {},
            )
            os.replace(received.path, job_dir(job) / SCAN_INPUT)
    finally:
        received.path.unlink(missing_ok=True)
    return job


def _ingest_target(params: dict[str, Any], user: Any) -> tuple[ingest.Target, str]:
    """Where the scans go, as the upload view said, still within the user's jurisdiction;
    and the page the user goes back to."""
    if params["case_file"] is None:
        return ingest.Target(None, params["doc_type"], params["county"]), reverse("archive_inbox")
    case_file = (
        access.scope(CaseFile.objects.select_related("person"), user, "county")
        .filter(pk=params["case_file"])
        .first()
    )
    if case_file is None:
        raise JobFailed("档案不存在或已不在您的辖区内，未归档任何文件。")
    back = reverse("archive_casefile_detail", args=[case_file.pk])
    return ingest.Target(case_file, params["doc_type"]), back


def _summary(outcomes: list[ingest.Outcome]) -> str:
    filed = sum(outcome.ok for outcome in outcomes)
    duplicates = sum(outcome.status == ingest.DUPLICATE for outcome in outcomes)
    rejected = sum(outcome.status == ingest.REJECTED for outcome in outcomes)
    parts = [f"已归档 {filed} 个文件"]
    if duplicates:
        parts.append(f"重复 {duplicates} 个")
    if rejected:
        parts.append(f"拒收 {rejected} 个（原因见下表）")
    return "，".join(parts)


@register(SCAN_INGEST, "扫描件归档", queue=BULK, retry_safe=True)
def ingest_scans(context: Context) -> dict[str, Any]:
    params = context.params
    directory = context.directory
    try:
        user = context.user
        if user is None:  # no user is not "everyone": no jurisdiction would apply
            raise JobFailed("提交上传的用户已不存在，未归档任何文件。")
        target, back = _ingest_target(params, user)
        source = directory / SCAN_INPUT
        if not source.exists():
            if context.job.attempts > 1:
                raise JobFailed(
                    "处理进程在归档时中断，无法确定结果。请到档案中查看这些文件是否已归档；"
                    "重新上传时，已归档的文件会标为重复文件，不会存两份。",
                    url=back,
                )
            raise JobFailed("上传的文件已过期或已被处理，请重新上传。", url=back)
        # Ingestion consumes the file it reads; it reads a second name of the same bytes, so
        # the input stays until the job ends (_forget_scan_input). A retry after a worker died
        # past the filing commit reads it again and finds each scan already filed: the
        # outcomes then say where each went (重复文件，已归档于…) instead of "cannot tell".
        work = directory / SCAN_WORK
        work.unlink(missing_ok=True)
        try:
            os.link(source, work)
        except OSError:  # a store without hard links (some network file systems)
            shutil.copyfile(source, work)
        received = ingest.Received(
            work, params["sha"], params["size"], params["file_kind"], params["name"]
        )
        context.progress(0, 0, "正在读取文件", force=True)
        step = _AFTER_FILING[params["then"]] if params.get("then") else None
        with transaction.atomic() if step else contextlib.nullcontext():
            outcomes = ingest.ingest_received(
                received, target, user, progress=context.progress, check=context.check_cancelled
            )
            after = step(outcomes, user, params["then_params"]) if step else {}
    except BaseException:
        _remove_scan_input(directory)  # a refusal or a cancel: nothing to read again
        raise
    listed = [outcome.as_dict() for outcome in outcomes]
    if after:
        return {"url": back, "summary": _summary(outcomes), **after, "outcomes": listed}
    if len(outcomes) == 1 and outcomes[0].status == ingest.REJECTED:
        raise JobFailed(
            f"「{outcomes[0].name}」未归档：{outcomes[0].message}", url=back, outcomes=listed
        )
    return {"url": back, "summary": _summary(outcomes), "outcomes": listed}


@receiver(job_finished, dispatch_uid="archive.forget_scan_input")
def _forget_scan_input(sender: type[Job], job: Job, **kwargs: Any) -> None:
    """A scan ingestion's job ended, however (cancelled while queued, its worker dead twice):
    the file it was given goes."""
    if job.kind == SCAN_INGEST:
        _remove_scan_input(job_dir(job))


def _remove_scan_input(directory: Path) -> None:
    (directory / SCAN_WORK).unlink(missing_ok=True)
    (directory / SCAN_INPUT).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()  # nothing else of a scan ingestion lives there


@register(OCR_RERUN, "按筛选结果重新识别", queue=BULK, retry_safe=True)
def rerun_ocr(context: Context) -> dict[str, Any]:
    """Queues for OCR every document the filter selects in the submitter's jurisdiction
    (``archive.documents.ocr_rerun``), progress by document. Safe to run again: a document
    already waiting, or queued since the job was submitted, is not queued twice. Cancelled,
    it stops before the next document; those already queued stay queued (each is a whole,
    audited re-run)."""
    user = context.user
    if user is None:  # no user is not "everyone": no jurisdiction would apply
        raise JobFailed("提交任务的用户已不存在，未重新识别任何文件。")
    filters = context.params["filters"]
    context.progress(0, 0, "正在查询文件", force=True)

    def report(done: int, total: int, counts: ocr_rerun.Counts) -> None:
        context.progress(
            done, total, f"已处理 {done}/{total} 份，已排队重新识别 {counts.queued} 份"
        )

    counts = ocr_rerun.rerun_all(
        user, filters, since=context.job.created_at, progress=report, check=context.check_cancelled
    )
    summary = f"{ocr_rerun.describe(filters)}：已排队重新识别 {counts.queued} 份文件"
    if counts.waiting:
        summary += f"，{counts.waiting} 份已在排队识别，未重复排队"
    return {"summary": summary, **asdict(counts)}
