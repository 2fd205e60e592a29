"""The department rosters (比对数据): their list with the upload form, and one roster's page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from wagtail.admin.auth import permission_denied

from archive.access import permissions as perms
from archive.access.guards import guarded
from archive.documents import storage
from archive.documents.upload_limits import too_large_message
from archive.job_views import follow
from archive.paging import paginate
from review import jobs as review_jobs
from review import services
from review.finding_list import (
    visible_runs,
)
from review.forms import (
    RosterUploadForm,
)
from review.models import (
    RosterUpload,
)
from review.rosters import ROSTERS
from review.views.common import (
    audit,
    denied,
    visible_uploads,
)


@guarded(perms.VIEW_ROSTER_UPLOAD)
def roster_list(request: HttpRequest) -> HttpResponse:
    divisions = services.divisions_of(request.user)
    can_upload = request.user.has_perm(perms.ADD_ROSTER_UPLOAD)
    form = RosterUploadForm(divisions=divisions)
    if request.method == "POST":
        if not can_upload:
            return permission_denied(request)
        form = RosterUploadForm(request.POST, request.FILES, divisions=divisions)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # Stored here, parsed by a background job (review/jobs.py).
                submitted = review_jobs.submit_roster_upload(
                    data["file"],
                    data["file"].name,
                    kind=data["kind"],
                    division=data["division"],
                    period=data["period"],
                    user=request.user,
                )
            except storage.TooLarge:
                form.add_error("file", too_large_message(int(settings.UPLOAD_MAX_BYTES)))
            else:
                if isinstance(submitted, RosterUpload):
                    messages.info(request, "同一文件已上传过，沿用原记录。")
                    return redirect("review_roster_detail", pk=submitted.pk)
                messages.success(
                    request, "文件已收到，正在校验；本页显示进度，完成后转到校验结果。"
                )
                return follow(submitted)
    uploads = visible_uploads(request.user).select_related("division", "uploaded_by")
    page = paginate(request, uploads, 50)
    return TemplateResponse(
        request,
        "review/roster_list.html",
        {"form": form, "page": page, "can_upload": can_upload, "rosters": ROSTERS.values()},
    )


@guarded(perms.VIEW_ROSTER_UPLOAD)
def roster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = (
        visible_uploads(request.user)
        .select_related("division", "uploaded_by")
        .filter(pk=pk)
        .first()
    )
    if upload is None:
        raise denied(request, "review.RosterUpload", pk)
    audit(request, "view", "review.RosterUpload", pk, f"查看比对数据校验结果 {upload.filename}")
    return TemplateResponse(
        request,
        "review/roster_detail.html",
        {"upload": upload, "runs": upload.runs.filter(pk__in=visible_runs(request.user))[:20]},
    )
