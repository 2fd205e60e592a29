"""Admin pages of the case files (补贴档案): the list with its filters and export, one case
file with its checklist and documents, its catalogue (卷内目录) and its ZIP export, and the
way from a person's record to their case file.

Every case file is fetched inside the user's jurisdiction (`archive.access.scoped`) and every view or
export of one is written to the audit log. Uploading into a case file is `archive.documents.upload_views`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header

from archive import access, casefiles
from archive.access import permissions as perms
from archive.access import scoped
from archive.access.audit import record
from archive.documents import scans, storage
from archive.documents.ocr_progress import case_file_progress
from archive.job_views import submit_and_follow
from archive.jobs import CASE_FILE_EXPORT
from archive.models import CaseFile, Division, Document, Enrolment, Person
from archive.paging import PAGE_SIZE, paginate, query_without_page
from core.eligibility import SUBSIDIES
from core.numbers import mask_id


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def casefile_for_person(request: HttpRequest, person_pk: int) -> HttpResponse:
    """From the person's record to their case file(s). Enrolled people have theirs from the
    enrolment (`casefiles.open_case_files`); a GET never writes. A person with none (an
    applicant not enrolled yet) is offered a POST that opens one in their hukou county."""
    files = list(
        access.scope(
            CaseFile.objects.filter(person_id=person_pk).select_related("person", "county"),
            request.user,
            "county",
        )
    )
    # A case file in the user's county is enough (a person enrolled there but registered in
    # another county); otherwise the person must be within the jurisdiction.
    person = (
        files[0].person
        if files
        else access.get_scoped_or_404(
            Person.objects.all(), request.user, "county", request, pk=person_pk
        )
    )
    if request.method == "POST":
        if files or not request.user.has_perm(perms.ADD_DOCUMENT):
            return redirect("archive_casefile_for_person", person_pk=person.pk)
        case_file = casefiles.case_file_for(person, person.county_id)
        record(
            request, "open_casefile", obj_type="archive.CaseFile", obj_id=str(case_file.pk),
            detail=f"建档 {mask_id(person.id_number)}",
        )  # fmt: skip
        return redirect("archive_casefile_detail", pk=case_file.pk)
    if len(files) == 1:
        return redirect("archive_casefile_detail", pk=files[0].pk)
    return TemplateResponse(
        request,
        "archive/casefile/choose.html",
        {
            "person": person,
            "case_files": files,
            "can_open": request.user.has_perm(perms.ADD_DOCUMENT),
        },
    )


def _groups(documents: list[Document], checklist) -> list[dict]:
    by_type: dict[str, list[Document]] = {}
    for document in documents:
        by_type.setdefault(document.doc_type, []).append(document)
    groups = [
        {"code": item["code"], "name": item["name"], "documents": by_type.pop(item["code"])}
        for item in checklist.items
        if item["code"] in by_type
    ]
    for code, docs in by_type.items():
        groups.append({"code": code, "name": casefiles.type_name(code), "documents": docs})
    return groups


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def casefile_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    case_file = scoped.case_file(request, pk)
    checklist = casefiles.current_checklist()
    lines = casefiles.refresh(case_file, checklist)
    documents = list(
        Document.objects.filter(case_file=case_file)
        .select_related("current__blob", "current__uploaded_by", "deleted_by")
        .annotate(version_count=Count("versions"))
        .order_by("filed_at", "id")
    )
    live = [d for d in documents if d.deleted_at is None]
    record(
        request,
        "view_casefile",
        obj_type="archive.CaseFile",
        obj_id=str(case_file.pk),
        detail=f"查看补贴档案 {case_file.person.masked_id}（{len(live)} 份文件）",
    )
    person = case_file.person
    enrolments = Enrolment.objects.filter(person=person, county=case_file.county)
    return TemplateResponse(
        request,
        "archive/casefile/detail.html",
        {
            "case_file": case_file,
            "person": person,
            "enrolments": enrolments,
            "lines": lines,
            "groups": _groups(live, checklist),
            "deleted": [d for d in documents if d.deleted_at is not None],
            "types": casefiles.type_choices(checklist.items),
            "accept": scans.ACCEPT,
            "max_mb": scans.max_bytes() // (1024 * 1024),
            "can_upload": request.user.has_perm(perms.ADD_DOCUMENT),
            "can_change": request.user.has_perm(perms.CHANGE_DOCUMENT),
            "can_delete": request.user.has_perm(perms.SOFT_DELETE_DOCUMENT),
            "can_export": request.user.has_perm(perms.EXPORT_CASE_FILE),
            "upload_url": reverse("archive_casefile_upload", args=[case_file.pk]),
            "ocr_progress_url": reverse("archive_casefile_ocr_progress", args=[case_file.pk]),
        },
    )


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def casefile_ocr_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """What the case file page polls while OCR reads its scans: states and page counts only,
    no personal data, so no audit entry per poll (the page view itself is audited)."""
    return JsonResponse(case_file_progress(scoped.case_file(request, pk)))


# --- Catalogue and export ---------------------------------------------------------------------------


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def catalogue(request: HttpRequest, pk: int) -> HttpResponse:
    case_file = scoped.case_file(request, pk)
    rows = casefiles.catalogue(case_file)
    if request.GET.get("format") == "pdf":
        record(
            request,
            "export_catalogue",
            obj_type="archive.CaseFile",
            obj_id=str(case_file.pk),
            detail=f"导出卷内目录 PDF {case_file.person.masked_id}",
        )
        response = HttpResponse(casefiles.catalogue_pdf(case_file, rows), "application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            True, f"卷内目录_{case_file.person.name}.pdf"
        )
        return response
    record(
        request,
        "print_catalogue",
        obj_type="archive.CaseFile",
        obj_id=str(case_file.pk),
        detail=f"查看卷内目录 {case_file.person.masked_id}",
    )
    return TemplateResponse(
        request,
        "archive/casefile/catalogue.html",
        {"case_file": case_file, "person": case_file.person, "rows": rows},
    )


@permission_required(perms.EXPORT_CASE_FILE, raise_exception=True)
def casefile_export(request: HttpRequest, pk: int) -> HttpResponse:
    case_file = scoped.case_file(request, pk)
    fd, name = tempfile.mkstemp(dir=storage.tmp_dir(), suffix=".zip")
    os.close(fd)
    zip_path = Path(name)
    try:
        count = casefiles.export_zip(case_file, zip_path)
        out = zip_path.open("rb")
    except casefiles.AlteredOriginal as error:
        messages.error(request, f"未导出：{error}。请联系管理员查看完整性校验。")
        return redirect("archive_casefile_detail", pk=case_file.pk)
    finally:
        zip_path.unlink(missing_ok=True)  # the open handle keeps the data until it is sent
    record(
        request,
        "export_casefile",
        obj_type="archive.CaseFile",
        obj_id=str(case_file.pk),
        detail=f"导出补贴档案 {case_file.person.masked_id}（{count} 个原件）",
    )
    name = f"补贴档案_{case_file.person.name}_{timezone.localdate():%Y%m%d}.zip"
    response = FileResponse(out, content_type="application/zip", as_attachment=True, filename=name)
    response["Cache-Control"] = "private, no-store"
    return response


# --- The list of case files ------------------------------------------------------------------------


class CaseFileFilterForm(forms.Form):
    q = forms.CharField(label="姓名或身份号码", required=False)
    division = forms.ModelChoiceField(
        label="区划",
        queryset=Division.objects.none(),
        required=False,
        empty_label="全部",
        to_field_name="code",
    )
    completeness = forms.ChoiceField(
        label="完整度",
        required=False,
        choices=[
            ("", "全部"),
            ("complete", "齐全（100%）"),
            ("incomplete", "不齐全"),
            ("below50", "低于 50%"),
        ],
    )
    missing = forms.ChoiceField(label="缺少材料", required=False)
    subsidy = forms.ChoiceField(
        label="补贴类别", required=False, choices=[("", "全部"), *SUBSIDIES.items()]
    )
    status = forms.ChoiceField(
        label="发放状态", required=False, choices=[("", "全部"), *Enrolment.Status.choices]
    )

    def __init__(self, *args, user, **kwargs):
        """Only divisions inside the user's jurisdiction are offered: its cities and counties,
        or, to a county user, the county and its townships."""
        super().__init__(*args, **kwargs)
        self.fields["missing"].choices = [("", "全部"), *casefiles.type_choices()]
        prefix = access.user_prefix(user)
        counties = Division.objects.counties_within(prefix)
        if counties.count() == 1:
            offered = counties | Division.objects.townships_within(prefix)
        elif prefix is None:
            offered = Division.objects.none()
        else:
            levels = [Division.Level.CITY, Division.Level.COUNTY]
            offered = Division.objects.filter(
                successor__isnull=True, level__in=levels, code__startswith=prefix
            )
        self.fields["division"].queryset = offered


def _export_filters(form: CaseFileFilterForm) -> dict[str, str] | None:
    """The list's filters as the export job applies them (``archive.jobs``); None when the
    list selects nothing (a division not offered)."""
    if not form.is_bound:
        return {}
    if not form.is_valid():
        return None
    data = dict(form.cleaned_data)
    data["division"] = data["division"].code if data["division"] else ""
    return data


def _case_file_rows(request: HttpRequest, form: CaseFileFilterForm):
    queryset = access.scope(CaseFile.objects.all(), request.user, "county")
    if form.is_bound and not form.is_valid():
        return queryset.none()  # a division not offered (another county's) selects nothing
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["division"] = data["division"].code if data["division"] else ""
        queryset = casefiles.filter_case_files(queryset, data)
    return queryset.select_related("person", "county").order_by("county_id", "person__name", "id")


@permission_required(perms.VIEW_CASE_FILE, raise_exception=True)
def casefile_list(request: HttpRequest) -> HttpResponse:
    form = CaseFileFilterForm(request.GET or None, user=request.user)
    rows = _case_file_rows(request, form)
    if request.GET.get("format") == "xlsx":
        # Every case file of the filtered list, as a background job (archive/jobs.py).
        record(
            request,
            "export",
            obj_type="archive.CaseFile",
            detail=f"导出补贴档案清单 {request.GET.urlencode()[:300]}",
        )
        return submit_and_follow(request, CASE_FILE_EXPORT, filters=_export_filters(form))
    page = paginate(request, rows, PAGE_SIZE)
    people = [cf.person_id for cf in page]
    enrolments: dict[tuple[int, str], list[Enrolment]] = {}
    for e in Enrolment.objects.filter(person_id__in=people):
        enrolments.setdefault((e.person_id, e.county_id), []).append(e)
    for cf in page:
        cf.enrolment_list = enrolments.get((cf.person_id, cf.county_id), [])
        cf.missing_names = [casefiles.type_name(c) for c in cf.missing_codes]
    return TemplateResponse(
        request,
        "archive/casefile/list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "total": page.paginator.count,
        },
    )


urlpatterns = [
    path("casefiles/", casefile_list, name="archive_casefile_list"),
    path("casefiles/<int:pk>/", casefile_detail, name="archive_casefile_detail"),
    path("casefiles/<int:pk>/ocr/", casefile_ocr_progress, name="archive_casefile_ocr_progress"),
    path("casefiles/<int:pk>/catalogue/", catalogue, name="archive_casefile_catalogue"),
    path("casefiles/<int:pk>/export/", casefile_export, name="archive_casefile_export"),
    path(
        "people/<int:person_pk>/casefile/", casefile_for_person, name="archive_casefile_for_person"
    ),
]
