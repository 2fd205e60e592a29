"""Due for appraisal (到期鉴定): the filed documents whose retention has ended by a date, as a
page and an export.

Read-only: the page and its export list what `archive.casefiles.appraisal` finds due; nothing here (nor
there) deletes, withdraws or changes a document. Appraisal and destruction are decided and
approved outside the system, under the archives regulations.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from archive import access, casefiles
from archive.access import permissions as perms
from archive.access.audit import record
from archive.casefiles import appraisal
from archive.exports import xlsx_download
from archive.models import Division, Document
from archive.paging import PAGE_SIZE, paginate, query_without_page
from core.codes import RETENTION_PERIODS, RETENTIONS

APPRAISAL_NOTE = "系统只列出到期档案，不会自动销毁任何材料；鉴定与销毁须按档案管理规定另行审批。"


class AppraisalFilterForm(forms.Form):
    division = forms.ModelChoiceField(
        label="区划",
        queryset=Division.objects.filter(successor__isnull=True, level__in=["city", "county"]),
        required=False,
        empty_label="全部",
        to_field_name="code",
    )
    period = forms.ChoiceField(
        label="保管期限",
        required=False,
        choices=[("", "全部"), *((r.code, r.label) for r in RETENTION_PERIODS if r.years)],
    )
    year = forms.IntegerField(label="期满年度", required=False, min_value=1950, max_value=2200)
    on = forms.DateField(
        label="截至日期",
        required=False,
        help_text="默认今天；要预先查看将来到期的档案，可填写将来的日期。",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        prefix = access.user_prefix(user) if user is not None else access.ALL
        divisions = self.fields["division"].queryset
        if prefix is None:
            divisions = divisions.none()
        elif prefix:
            divisions = divisions.filter(code__startswith=prefix)
        self.fields["division"].queryset = divisions


def _appraisal_rows(request: HttpRequest, form: AppraisalFilterForm):
    documents = access.scope(Document.objects.all(), request.user, "county")
    form.is_valid()  # an invalid field is shown with its error and ignored, not the others
    data = getattr(form, "cleaned_data", {})
    on = data.get("on") or timezone.localdate()
    if data.get("division"):
        documents = documents.filter(county__code__startswith=data["division"].prefix)
    rows = appraisal.due_rows(documents, on, period=data.get("period", ""), year=data.get("year"))
    return rows, on


def _due(document: Document, years: dict[str, int]):
    return appraisal.retention_end(document.retention, document.stopped, years)


@require_GET
@permission_required(perms.VIEW_APPRAISAL, raise_exception=True)
def appraisal_list(request: HttpRequest) -> HttpResponse:
    form = AppraisalFilterForm(request.GET or None, user=request.user)
    rows, on = _appraisal_rows(request, form)
    years = appraisal.configured_years()
    if request.GET.get("format") == "xlsx":
        record(
            request,
            "export_appraisal",
            obj_type="archive.Document",
            detail=f"导出到期鉴定清单（截至 {on:%Y-%m-%d}）{request.GET.urlencode()[:300]}",
        )
        return xlsx_download(
            "到期鉴定", _appraisal_export_rows(rows, years), f"到期鉴定清单_{on:%Y%m%d}.xlsx"
        )
    page = paginate(request, rows, PAGE_SIZE)
    for document in page:
        document.due = _due(document, years)
        document.type_name = casefiles.type_name(document.doc_type)
    record(
        request,
        "view_appraisal",
        obj_type="archive.Document",
        detail=f"查看到期鉴定清单（截至 {on:%Y-%m-%d}）第{page.number}页",
    )
    return TemplateResponse(
        request,
        "archive/documents/appraisal.html",
        {
            "form": form,
            "page": page,
            "on": on,
            "years": sorted(years.items()),
            "query": query_without_page(request),
            "total": page.paginator.count,
            "note": APPRAISAL_NOTE,
        },
    )


APPRAISAL_HEADERS = [
    "县（区）",
    "姓名",
    "公民身份号码",
    "档号",
    "材料类型",
    "题名",
    "保管期限",
    "停发年月",
    "保管期满日期",
    "状态",
    "归档时间",
]


def _appraisal_export_rows(rows, years: dict[str, int]):
    yield APPRAISAL_HEADERS
    for document in rows.iterator(chunk_size=2000):
        person = document.case_file.person
        due = _due(document, years)
        yield [
            document.case_file.county.name,
            person.name,
            person.id_number,
            document.archival_code,
            casefiles.type_name(document.doc_type),
            document.title,
            RETENTIONS.get(document.retention, document.retention),
            f"{document.stopped:%Y-%m}",
            f"{due:%Y-%m-%d}" if due else "",
            "已作废" if document.deleted_at else "在档",
            timezone.localtime(document.filed_at).strftime("%Y-%m-%d %H:%M")
            if document.filed_at
            else "",
        ]
    yield []
    yield [APPRAISAL_NOTE]


urlpatterns = [
    path("appraisal/", appraisal_list, name="archive_appraisal"),
]
