"""The integrity page (完整性校验): the last runs of `archive.casefiles.integrity` and their problems,
and a button that starts a run in the background.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from archive.access import permissions as perms
from archive.access.audit import record
from archive.casefiles import integrity
from archive.models import IntegrityRun


@permission_required(perms.VIEW_INTEGRITY, raise_exception=True)
def integrity_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        from archive.tasks import integrity_check

        try:
            integrity_check.delay(triggered_by=request.user.get_username())
        except Exception:
            messages.error(
                request, "后台任务队列不可用，请稍后再试或在服务器上运行 check_integrity 命令。"
            )
        else:
            record(
                request,
                "integrity_check",
                obj_type="archive.IntegrityRun",
                detail="手动发起完整性校验",
            )
            messages.success(request, "已开始完整性校验，完成后刷新本页查看结果。")
        return redirect("archive_integrity")
    runs = IntegrityRun.objects.all()[:20]
    return TemplateResponse(
        request,
        "archive/documents/integrity.html",
        {"latest": integrity.latest_run(), "runs": runs},
    )


urlpatterns = [
    path("integrity/", integrity_page, name="archive_integrity"),
]
