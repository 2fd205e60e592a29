"""The checklist of case-file materials (档案材料清单), kept as data with its history:
administrators save a new version, and every case file's completeness is recomputed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from archive import casefiles
from archive.access import permissions as perms
from archive.access.audit import record

REQUIRED_CHOICES = [
    ("both", "必备（两项补贴）"),
    ("living", "享受生活补贴时必备"),
    ("nursing", "享受护理补贴时必备"),
    ("", "按条件或不要求"),
]


@permission_required(perms.VIEW_CHECKLIST, raise_exception=True)
def checklist_page(request: HttpRequest) -> HttpResponse:
    """The checklist in force and its history; administrators save a new version (who, when,
    why). Completeness of every case file is then recomputed in the background."""
    from archive.models import ChecklistVersion

    current = casefiles.current_checklist()
    if request.method == "POST":
        if not request.user.has_perm(perms.ADD_CHECKLIST):
            raise PermissionDenied
        allowed = {code for code, _ in REQUIRED_CHOICES}
        items = []
        for item in current.items:
            required_for = request.POST.get(f"required_{item['code']}", item["required_for"])
            if required_for not in allowed:
                return HttpResponseBadRequest("未知的要求")
            items.append({**item, "required_for": required_for})
        note = request.POST.get("note", "").strip()[:200]
        if items == current.items:
            messages.info(request, "清单没有变化，未保存。")
            return redirect("archive_checklist")
        version = ChecklistVersion.objects.create(items=items, note=note, created_by=request.user)
        record(
            request,
            "change_checklist",
            obj_type="archive.ChecklistVersion",
            obj_id=str(version.pk),
            detail=f"修订材料清单：{note}",
        )
        from archive.tasks import refresh_completeness

        try:
            refresh_completeness.delay()
        except Exception:  # the nightly task recomputes anyway
            messages.warning(request, "后台任务队列不可用：各档案的完整度将在夜间重新计算。")
        messages.success(request, "已保存新版材料清单，各档案的完整度正在重新计算。")
        return redirect("archive_checklist")
    return TemplateResponse(
        request,
        "archive/casefile/checklist.html",
        {
            "current": current,
            "history": ChecklistVersion.objects.select_related("created_by")[:50],
            "choices": REQUIRED_CHOICES,
            "can_change": request.user.has_perm(perms.ADD_CHECKLIST),
        },
    )


urlpatterns = [
    path("checklist/", checklist_page, name="archive_checklist"),
]
