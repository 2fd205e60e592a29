"""The archive's kinds of long work (``jobs.kinds``): parsing and previewing an uploaded roster,
and importing it (the views only store the upload and submit the job, archive/import_views.py);
exporting the case-file list to XLSX (archive/casefiles/casefile_views.py).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from archive import access, casefiles, imports
from archive.exports import write_xlsx
from archive.imports import uploads
from archive.models import CaseFile
from core.tabular import TableError, read_table
from jobs.kinds import INTERACTIVE, JobFailed, register
from jobs.runner import Context

ROSTER_PREVIEW = "roster_preview"
ROSTER_IMPORT = "roster_import"
CASE_FILE_EXPORT = "case_file_export"
CASE_FILE_FILE = "casefiles.xlsx"

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


@register(ROSTER_PREVIEW, "花名册校验预览", queue=INTERACTIVE, retry_safe=True)
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
