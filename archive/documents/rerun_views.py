"""按筛选结果重新识别: the page that shows how many documents a filter selects and, once
confirmed, submits the job that queues them all for OCR (``archive.jobs``, kind ``ocr_rerun``);
the request itself queues nothing. The OCR 核对 queue and the inbox link here with their
filters. The permission is that of re-reading one document (修改档案文件); the selection is
`archive.documents.ocr_rerun`, inside the user's jurisdiction.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from archive import access, casefiles
from archive.access import permissions as perms
from archive.access.audit import record
from archive.documents import ocr_rerun
from archive.job_views import submit_and_follow
from archive.jobs import OCR_RERUN
from core.codes import OCR_REVIEW_REASONS


class RerunFilterForm(forms.Form):
    ocr = forms.ChoiceField(label="识别状态", required=False)
    reason = forms.ChoiceField(label="待核对原因", required=False)
    doc_type = forms.ChoiceField(label="材料类型", required=False)
    county = forms.ChoiceField(label="县（区）", required=False)
    place = forms.ChoiceField(label="存放位置", required=False)

    def __init__(self, *args, user, **kwargs):
        """Only the counties inside the user's jurisdiction are offered."""
        super().__init__(*args, **kwargs)
        choices = {
            "ocr": ocr_rerun.OCR_STATES.items(),
            "reason": OCR_REVIEW_REASONS.items(),
            "doc_type": casefiles.type_choices(casefiles.current_checklist().items),
            "county": [(c.code, c.name) for c in ocr_rerun.counties(user)],
            "place": ocr_rerun.PLACES.items(),
        }
        for key, offered in choices.items():
            self.fields[key].choices = [("", "全部"), *offered]

    def filters(self) -> dict[str, str] | None:
        """The filter as the job keeps it; None when a value was not offered."""
        if not self.is_bound:
            return dict.fromkeys(ocr_rerun.KEYS, "")
        if not self.is_valid():
            return None
        return {key: self.cleaned_data[key] for key in ocr_rerun.KEYS}


@permission_required(perms.CHANGE_DOCUMENT, raise_exception=True)
def rerun_filter(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    form = RerunFilterForm(data or None, user=request.user)
    filters = form.filters()
    counts = ocr_rerun.counts(request.user, filters) if filters is not None else None
    if request.method == "POST":
        if access.user_prefix(request.user) is None or counts is None or not counts.total:
            messages.error(request, "没有符合条件的文件，未提交重新识别。")
            return redirect(f"{request.path}?{data.urlencode()}")
        described = ocr_rerun.describe(filters)
        record(
            request,
            "rerun_ocr_filter",
            obj_type="archive.Document",
            detail=f"按筛选结果重新识别（{described}）：{counts.total} 份文件，"
            f"其中 {counts.waiting} 份已在排队识别",
        )
        return submit_and_follow(request, OCR_RERUN, filters=filters)
    return TemplateResponse(
        request,
        "archive/documents/rerun.html",
        {
            "form": form,
            "counts": counts,
            "described": ocr_rerun.describe(filters) if filters is not None else "",
            "hidden": [(key, value) for key, value in (filters or {}).items() if value],
        },
    )


urlpatterns = [path("documents/ocr/rerun/", rerun_filter, name="archive_ocr_rerun")]
