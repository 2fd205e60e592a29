"""Admin views for importing the beneficiary roster: upload → preview → confirm → result.

Plain Django views rendered in the Wagtail admin (templates extend ``wagtailadmin/base.html``);
``urlpatterns`` below is registered by a ``register_admin_urls`` hook, which puts them behind
the admin login.  Every view also checks ``archive.add_importrecord`` itself.

Reading and validating a roster of 100 000 rows takes minutes, so no request does it: the
upload is stored (``archive.imports.uploads``) and a background job (``archive/jobs.py``)
computes the preview; confirming submits the import as another job.  The user watches the
job's progress bar (``archive/job_views.py``) and is taken to the preview or the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from wagtail.admin.auth import permission_denied, require_admin_access

from archive import imports
from archive.access import audit
from archive.access import permissions as perms
from archive.exports import xlsx_attachment
from archive.imports import uploads
from archive.job_views import submit_and_follow
from archive.jobs import ROSTER_IMPORT, ROSTER_PREVIEW
from archive.models import ImportRecord
from core.tabular import DEFAULT_MAX_BYTES, TableError, read_table

app_name = "archive_import"
PERMISSION = perms.IMPORT_ROSTER
PAGE_SIZE = 100
SESSION_KEY = "beneficiary_imports"
_SHA = re.compile(r"[0-9a-f]{64}")
_FILTERS = ("created", "updated", "unchanged", "rejected")
#: The filter of the rows kept with a flag (their outcome is one of the above).
_FLAGGED = "flagged"


def _guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admin login and the import permission, whatever URLconf the view is mounted in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            return permission_denied(request)
        return view(request, *args, **kwargs)

    return require_admin_access(wrapped)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="花名册文件",
        help_text="Excel（.xlsx）或 CSV（UTF-8 或 GBK 编码）；第一行为表头。",
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size and upload.size > DEFAULT_MAX_BYTES:
            raise forms.ValidationError(
                f"文件大小 {upload.size} 字节，超过上限 {DEFAULT_MAX_BYTES} 字节，请拆分后分别导入。"
            )
        return upload


def _remember(request: HttpRequest, sha: str, filename: str) -> None:
    uploads = dict(request.session.get(SESSION_KEY, {}))
    uploads[sha] = filename
    request.session[SESSION_KEY] = uploads


def _filename(request: HttpRequest, sha: str) -> str:
    """The name the user uploaded under; only uploads of this session can be previewed."""
    filename = request.session.get(SESSION_KEY, {}).get(sha) if _SHA.fullmatch(sha) else None
    if filename is None or not uploads.upload_path(sha).exists():
        _refused(request, "archive.ImportUpload", sha[:16], "上传文件不存在、已过期或不属于本人")
        raise Http404("上传的文件已过期或不存在，请重新上传。")
    return filename


def _refused(request: HttpRequest, obj_type: str, obj_id: str, detail: str) -> None:
    """Someone else's upload or import is a 404 for this user, and the attempt is audited."""
    audit.record(request, "denied", obj_type=obj_type, obj_id=obj_id, detail=detail)


@_guarded
def upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose a file.  It is stored, and its preview computed in a background job."""
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload_file: UploadedFile = form.cleaned_data["file"]
            filename = Path(upload_file.name or "花名册").name
            sha = uploads.store(upload_file)
            _remember(request, sha, filename)
            return submit_and_follow(request, ROSTER_PREVIEW, sha=sha, filename=filename)
    return render(
        request,
        "archive/import/upload.html",
        {"form": form, "headers": imports.ALL_HEADERS, "required": imports.REQUIRED_HEADERS},
    )


@_guarded
def preview(request: HttpRequest, sha: str) -> HttpResponse:
    """Step 2: every row's outcome (新增/更新/未变/拒绝), 100 per page, and the confirm form."""
    filename = _filename(request, sha)
    data = uploads.load_preview(sha, request.user)
    if data is None:  # not computed for this user yet, or swept: compute it in the background
        return submit_and_follow(request, ROSTER_PREVIEW, sha=sha, filename=filename)
    if not request.GET.get("page") and not request.GET.get("outcome"):
        # Who looked at which upload's rows (masked IDs, but names and outcomes): once per
        # opening of the preview, not per page turned.
        audit.record(
            request,
            "import_preview",
            obj_type="archive.ImportUpload",
            obj_id=sha[:16],
            detail=f"预览导入「{filename}」：共 {data['total']} 行，拒绝 {data['rejected']} 行",
        )
    shown = request.GET.get("outcome", "")
    rows = data["rows"]
    if shown in _FILTERS:
        rows = [r for r in rows if r["outcome"] == shown]
    elif shown == _FLAGGED:
        rows = [r for r in rows if r.get("warnings")]
    else:
        shown = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row["label"] = imports.OUTCOME_LABELS[row["outcome"]]
    return render(
        request,
        "archive/import/preview.html",
        {
            "sha": sha,
            "data": data,
            "page": page,
            "shown": shown,
            "filters": [
                *((key, imports.OUTCOME_LABELS[key], data[key]) for key in _FILTERS),
                (_FLAGGED, imports.FLAGGED_LABEL, data.get("flagged", 0)),
            ],
            "ATOMIC": imports.ATOMIC,
            "SKIP_INVALID": imports.SKIP_INVALID,
        },
    )


@_guarded
def preview_rejected(request: HttpRequest, sha: str) -> HttpResponse:
    """The rejected rows of an upload as xlsx, before importing, to correct them offline."""
    filename = _filename(request, sha)
    source = uploads.upload_path(sha)
    try:
        validation = imports.read_roster(source, filename, user=request.user)
        content = imports.rejected_rows_xlsx(read_table(source, filename).rows, validation.errors)
    except TableError as error:
        messages.error(request, error.message)
        return redirect("archive_import:upload")
    audit.record(
        request,
        "import_rejected_download",
        obj_type="archive.ImportUpload",
        obj_id=sha[:16],
        detail=f"下载「{filename}」导入前被拒绝的行（{len(validation.errors)} 处错误）",
    )
    return xlsx_attachment(content, f"被拒绝的行-{Path(filename).stem}.xlsx")


@_guarded
@require_POST
def confirm(request: HttpRequest, sha: str) -> HttpResponse:
    """Step 3: the import, atomic or skipping invalid rows, from the stored upload, as a job."""
    filename = _filename(request, sha)
    mode = request.POST.get("mode")
    if mode not in (imports.ATOMIC, imports.SKIP_INVALID):
        messages.error(request, "请选择导入方式。")
        return redirect("archive_import:preview", sha=sha)
    return submit_and_follow(request, ROSTER_IMPORT, sha=sha, filename=filename, mode=mode)


def _own_record(request: HttpRequest, pk: int) -> ImportRecord:
    """An import record the user made (administrators see all); others do not exist for them."""
    record = ImportRecord.objects.filter(pk=pk, kind=imports.KIND).first()
    if record is None or (
        not request.user.is_superuser and record.imported_by_id != request.user.pk
    ):
        _refused(request, "archive.ImportRecord", str(pk), "导入记录不存在或不属于本人")
        raise Http404("导入记录不存在。")
    return record


@_guarded
def result(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 4: the counts, and the rejected rows to download."""
    record = _own_record(request, pk)
    return render(
        request,
        "archive/import/result.html",
        {"record": record, "has_rejected": uploads.rejected_path(record.pk).exists()},
    )


@_guarded
def rejected(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows of a finished skip-invalid import, as xlsx."""
    record = _own_record(request, pk)
    target = uploads.rejected_path(record.pk)
    if not target.exists():
        raise Http404("本次导入没有被拒绝的行。")
    audit.record(
        request,
        "import_rejected_download",
        obj_type="archive.ImportRecord",
        obj_id=str(record.pk),
        detail="下载导入被拒绝的行",
    )
    return xlsx_attachment(target.read_bytes(), f"被拒绝的行-导入{record.pk}.xlsx")


urlpatterns = [
    path("", upload, name="upload"),
    path("preview/<str:sha>/", preview, name="preview"),
    path("preview/<str:sha>/rejected.xlsx", preview_rejected, name="preview_rejected"),
    path("confirm/<str:sha>/", confirm, name="confirm"),
    path("result/<int:pk>/", result, name="result"),
    path("result/<int:pk>/rejected.xlsx", rejected, name="rejected"),
]


def upload_url() -> str:
    """Where the admin menu item points."""
    return reverse("archive_import:upload")
