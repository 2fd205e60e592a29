"""Admin pages of the case file (补贴档案) and its scanned documents, and the only way to the
files themselves.

Every page image, thumbnail and original is served here, by a view that fetches the document
through `archive.access.get_scoped_or_404` (outside the user's jurisdiction it does not exist:
404, logged) and checks the permission; every view and download of a person's document is
written to the audit log. ``PRIVATE_MEDIA_ROOT`` has no URL of its own.

``urlpatterns`` is mounted in the Wagtail admin by a ``register_admin_urls`` hook
(`archive.wagtail_hooks`), which also puts every view behind the admin login.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from archive import access, appraisal, case_files, integrity, storage, upload_limits
from archive.audit import record
from archive.docs import ingest, operations, scans
from archive.exports import xlsx_download
from archive.models import (
    AuditLog,
    CaseFile,
    Division,
    Document,
    DocumentVersion,
    Enrolment,
    IntegrityRun,
    Person,
)
from archive.paging import paginate, query_without_page
from core.codes import RETENTION_PERIODS, RETENTIONS
from core.eligibility import SUBSIDIES
from core.numbers import NumberError, mask_id, parse_id

VIEW = "archive.view_document"
UPLOAD = "archive.add_document"
CHANGE = "archive.change_document"
DELETE = "archive.soft_delete_document"
EXPORT = "archive.export_casefile"
LIST = "archive.view_casefile"
INTEGRITY = "archive.view_integrityrun"
PAGE_SIZE = 50


# --- Fetching inside the jurisdiction ------------------------------------------------------------


def _case_file(request: HttpRequest, pk: int) -> CaseFile:
    return access.get_scoped_or_404(
        CaseFile.objects.select_related("person", "county"), request.user, "county", request, pk=pk
    )


def _document(request: HttpRequest, pk: int) -> Document:
    return access.get_scoped_or_404(
        Document.objects.select_related(
            "case_file__person", "case_file__county", "current__blob", "proposed_person"
        ),
        request.user,
        "county",
        request,
        pk=pk,
    )


def _version(request: HttpRequest, pk: int) -> DocumentVersion:
    return access.get_scoped_or_404(
        DocumentVersion.objects.select_related("blob", "document__case_file__person"),
        request.user,
        "document__county",
        request,
        pk=pk,
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- Case file --------------------------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
def casefile_for_person(request: HttpRequest, person_pk: int) -> HttpResponse:
    """From the person's record to their case file(s). Enrolled people have theirs from the
    enrolment (`case_files.open_case_files`); a GET never writes. A person with none (an
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
        if files or not request.user.has_perm(UPLOAD):
            return redirect("archive_casefile_for_person", person_pk=person.pk)
        case_file = case_files.case_file_for(person, person.county_id)
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
        {"person": person, "case_files": files, "can_open": request.user.has_perm(UPLOAD)},
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
        groups.append({"code": code, "name": case_files.type_name(code), "documents": docs})
    return groups


@permission_required(VIEW, raise_exception=True)
def casefile_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    case_file = _case_file(request, pk)
    checklist = case_files.current_checklist()
    lines = case_files.refresh(case_file, checklist)
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
            "types": case_files.type_choices(checklist.items),
            "accept": scans.ACCEPT,
            "max_mb": scans.max_bytes() // (1024 * 1024),
            "can_upload": request.user.has_perm(UPLOAD),
            "can_change": request.user.has_perm(CHANGE),
            "can_delete": request.user.has_perm(DELETE),
            "can_export": request.user.has_perm(EXPORT),
            "upload_url": reverse("archive_casefile_upload", args=[case_file.pk]),
        },
    )


def _upload_response(request, outcomes, back_url, case_file=None) -> HttpResponse:
    if _wants_json(request):
        payload = {"results": [o.as_dict() for o in outcomes]}
        if case_file is not None:
            case_file.refresh_from_db(fields=["completeness", "document_count", "page_count"])
            payload["completeness"] = case_file.completeness
        return JsonResponse(payload, status=200 if outcomes else 400)
    return TemplateResponse(
        request,
        "archive/documents/upload_result.html",
        {"outcomes": outcomes, "back_url": back_url, "case_file": case_file},
        status=200 if outcomes else 400,
    )


def _doc_type(request, allow_blank=True) -> str | None:
    code = request.POST.get("doc_type", "").strip()
    codes = {item["code"] for item in case_files.current_checklist().items}
    if code and code not in codes:
        return None
    if not code and not allow_blank:
        return None
    return code


@require_POST
@permission_required(UPLOAD, raise_exception=True)
@upload_limits.limited_upload
def casefile_upload(
    request: HttpRequest, pk: int, limiter: upload_limits.SizeLimitHandler
) -> HttpResponse:
    case_file = _case_file(request, pk)
    doc_type = _doc_type(request)
    if doc_type is None:
        return HttpResponseBadRequest("未知的材料类型")
    target = ingest.Target(case_file, doc_type)
    outcomes = limiter.outcomes("files")
    for uploaded in request.FILES.getlist("files"):
        outcomes += ingest.ingest_stream(
            uploaded, uploaded.name, target, request.user, request, size_hint=uploaded.size
        )
    back = reverse("archive_casefile_detail", args=[case_file.pk])
    return _upload_response(request, outcomes, back, case_file)


# --- Inbox -------------------------------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
def inbox(request: HttpRequest) -> TemplateResponse:
    documents = (
        access.scope(Document.objects.all(), request.user, "county")
        .filter(case_file__isnull=True, deleted_at__isnull=True)
        .select_related("current__blob", "proposed_person", "created_by")
        .order_by("-created_at", "-id")
    )
    page = paginate(request, documents, PAGE_SIZE)
    record(
        request, "view_inbox", obj_type="archive.Document", detail=f"查看收件箱第{page.number}页"
    )
    return TemplateResponse(
        request,
        "archive/documents/inbox.html",
        {
            "page": page,
            "types": case_files.type_choices(case_files.current_checklist().items),
            "accept": scans.ACCEPT,
            "max_mb": scans.max_bytes() // (1024 * 1024),
            "can_upload": request.user.has_perm(UPLOAD),
            "can_change": request.user.has_perm(CHANGE),
            "can_delete": request.user.has_perm(DELETE),
            "upload_url": reverse("archive_inbox_upload"),
        },
    )


@require_POST
@permission_required(UPLOAD, raise_exception=True)
@upload_limits.limited_upload
def inbox_upload(request: HttpRequest, limiter: upload_limits.SizeLimitHandler) -> HttpResponse:
    doc_type = _doc_type(request)
    if doc_type is None:
        return HttpResponseBadRequest("未知的材料类型")
    if access.user_prefix(request.user) is None:
        raise Http404
    target = ingest.inbox_target(request.user, doc_type)
    outcomes = limiter.outcomes("files")
    for uploaded in request.FILES.getlist("files"):
        outcomes += ingest.ingest_stream(
            uploaded, uploaded.name, target, request.user, request, size_hint=uploaded.size
        )
    return _upload_response(request, outcomes, reverse("archive_inbox"))


# --- One document: viewer and changes ------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
def document_view(request: HttpRequest, pk: int) -> TemplateResponse:
    document = _document(request, pk)
    versions = list(document.versions.select_related("blob", "uploaded_by").order_by("number"))
    version = document.current
    wanted = request.GET.get("v")
    if wanted and wanted.isdigit():
        version = next((v for v in versions if v.number == int(wanted)), None)
        if version is None:
            raise Http404("没有该版本")
    if version is None:
        raise Http404("文件没有版本")
    pages = version.blob.page_count
    try:
        page = min(max(int(request.GET.get("page", "1")), 1), pages)
    except ValueError:
        page = 1
    siblings = []
    if document.case_file_id:
        siblings = [d.pk for d in case_files.ordered_documents(document.case_file)]
    position = siblings.index(document.pk) if document.pk in siblings else None
    record(
        request,
        "view_document",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=f"查看 {document} 第{version.number}版 第{page}页",
    )
    history = AuditLog.objects.filter(object_type="archive.Document", object_id=str(document.pk))
    history = history.exclude(action__in=["view_page", "view_thumbnail", "view_document"])[:50]
    checklist = case_files.current_checklist()
    return TemplateResponse(
        request,
        "archive/documents/viewer.html",
        {
            "document": document,
            "case_file": document.case_file,
            "type_name": case_files.type_name(document.doc_type, checklist.items),
            "title": (
                case_files.document_title(document, document.case_file.person, checklist.items)
                if document.case_file_id
                else document.current.original_name
            ),
            "version": version,
            "versions": versions,
            "page": page,
            "pages": range(1, pages + 1),
            "page_count": pages,
            "prev_doc": siblings[position - 1] if position else None,
            "next_doc": (
                siblings[position + 1]
                if position is not None and position + 1 < len(siblings)
                else None
            ),
            "history": history,
            "types": case_files.type_choices(checklist.items),
            "can_change": request.user.has_perm(CHANGE) and not document.deleted_at,
            "can_delete": request.user.has_perm(DELETE) and not document.deleted_at,
            "accept": scans.ACCEPT,
            "ocr_fields": (version.ocr_fields or {}).get("fields", {}),
        },
    )


class EditForm(forms.Form):
    doc_type = forms.CharField(required=False)
    title = forms.CharField(required=False, max_length=200)
    doc_date = forms.DateField(required=False)
    id_number = forms.CharField(required=False, max_length=32)
    reason = forms.CharField(required=False, max_length=200)


def _back(document: Document) -> str:
    return reverse("archive_document_view", args=[document.pk])


@require_POST
@permission_required(CHANGE, raise_exception=True)
def document_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another type or case file (by the person's ID number), file from the inbox, or
    correct 题名/日期."""
    document = _document(request, pk)
    form = EditForm(request.POST)
    if not form.is_valid():
        messages.error(request, "未保存：请检查填写的内容（日期格式如 2026-03-01）。")
        return redirect(_back(document))
    data = form.cleaned_data
    codes = {item["code"] for item in case_files.current_checklist().items}
    if data["doc_type"] and data["doc_type"] not in codes:
        messages.error(request, "未保存：未知的材料类型。")
        return redirect(_back(document))
    target = None
    if data["id_number"]:
        try:
            id_number = parse_id(data["id_number"]).value
        except NumberError as error:
            messages.error(request, f"未保存：{error.message}")
            return redirect(_back(document))
        found = access.person_in_scope(request.user, id_number)
        if found is None:
            messages.error(request, "未保存：本辖区内没有该身份号码的人员。")
            return redirect(_back(document))
        target = case_files.case_file_for(*found)
    try:
        operations.move(
            document,
            request.user,
            request,
            case_file=target,
            doc_type=data["doc_type"] or None,
            title=data["title"] if "title" in request.POST else None,
            doc_date=data["doc_date"],
            reason=data["reason"],
        )
    except operations.OperationError as error:
        messages.error(request, f"未保存：{error}")
    else:
        messages.success(request, "已保存，操作已记入日志。")
    return redirect(_back(document))


@require_POST
@permission_required(CHANGE, raise_exception=True)
@upload_limits.limited_upload
def document_replace(
    request: HttpRequest, pk: int, limiter: upload_limits.SizeLimitHandler
) -> HttpResponse:
    document = _document(request, pk)
    uploaded = request.FILES.get("file")
    if uploaded is None and (refused := limiter.outcomes("file")):
        if _wants_json(request):
            return JsonResponse({"results": [o.as_dict() for o in refused]}, status=400)
        messages.error(request, f"{refused[0].name}：{refused[0].label}。{refused[0].message}")
        return redirect(_back(document))
    if uploaded is None:
        messages.error(request, "请选择用于替换的文件。")
        return redirect(_back(document))
    try:
        outcome = operations.replace(
            document, uploaded, uploaded.name, request.user, request, request.POST.get("note", "")
        )
    except operations.OperationError as error:
        messages.error(request, str(error))
        return redirect(_back(document))
    if _wants_json(request):
        return JsonResponse({"results": [outcome.as_dict()]})
    (messages.success if outcome.ok else messages.error)(
        request, f"{uploaded.name}：{outcome.label}。{outcome.message}"
    )
    return redirect(_back(document))


@require_POST
@permission_required(DELETE, raise_exception=True)
def document_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document(request, pk)
    try:
        operations.soft_delete(document, request.POST.get("reason", ""), request.user, request)
    except operations.OperationError as error:
        messages.error(request, str(error))
        return redirect(_back(document))
    messages.success(request, "文件已作废（保留原件、版本和档号），操作已记入日志。")
    if document.case_file_id:
        return redirect("archive_casefile_detail", pk=document.case_file_id)
    return redirect("archive_inbox")


# --- The files ---------------------------------------------------------------------------------------


def _private_file(path, content_type: str, filename: str, attachment: bool, cache: str):
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _derived_or_404(version: DocumentVersion) -> None:
    if not ingest.ensure_derived(version.blob):
        raise Http404("原件缺失，无法显示：请联系管理员（完整性校验）")


@permission_required(VIEW, raise_exception=True)
def file_page(request: HttpRequest, version_pk: int, page: int) -> HttpResponse:
    version = _version(request, version_pk)
    if not 1 <= page <= version.blob.page_count:
        raise Http404("没有该页")
    return _derived_image(
        request,
        version,
        "view_page",
        f"查看页面图像 第{version.number}版 第{page}页",
        storage.page_path(version.blob.sha256, page),
        f"{version.document_id}-{version.number}-{page}.jpg",
    )


@permission_required(VIEW, raise_exception=True)
def file_thumbnail(request: HttpRequest, version_pk: int) -> HttpResponse:
    version = _version(request, version_pk)
    return _derived_image(
        request,
        version,
        "view_thumbnail",
        f"查看缩略图 第{version.number}版",
        storage.thumbnail_path(version.blob.sha256),
        f"{version.document_id}-{version.number}-thumb.jpg",
    )


def _derived_image(request, version, action: str, detail: str, path, filename: str) -> HttpResponse:
    """A page image or thumbnail: derived on demand if missing, audited, never public."""
    _derived_or_404(version)
    record(
        request, action, obj_type="archive.Document", obj_id=str(version.document_id), detail=detail
    )
    return _private_file(path, "image/jpeg", filename, False, "private, max-age=600")


@permission_required(VIEW, raise_exception=True)
def file_original(request: HttpRequest, version_pk: int) -> HttpResponse:
    version = _version(request, version_pk)
    blob = version.blob
    path = storage.original_path(blob.sha256)
    if not path.exists():
        raise Http404("原件缺失：请联系管理员（完整性校验）")
    document = version.document
    record(
        request,
        "download_original",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=f"下载原件 {document} 第{version.number}版（{blob.sha256[:12]}…）",
    )
    name = f"{document.archival_code or f'文件{document.pk}'}_第{version.number}版.{scans.EXTENSIONS[blob.kind]}"
    response = _private_file(path, scans.KINDS[blob.kind], name, True, "private, no-store")
    response["X-Checksum-SHA256"] = blob.sha256
    return response


# --- Catalogue and export ---------------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
def catalogue(request: HttpRequest, pk: int) -> HttpResponse:
    case_file = _case_file(request, pk)
    rows = case_files.catalogue(case_file)
    if request.GET.get("format") == "pdf":
        record(
            request,
            "export_catalogue",
            obj_type="archive.CaseFile",
            obj_id=str(case_file.pk),
            detail=f"导出卷内目录 PDF {case_file.person.masked_id}",
        )
        response = HttpResponse(case_files.catalogue_pdf(case_file, rows), "application/pdf")
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


@permission_required(EXPORT, raise_exception=True)
def casefile_export(request: HttpRequest, pk: int) -> HttpResponse:
    case_file = _case_file(request, pk)
    fd, name = tempfile.mkstemp(dir=storage.tmp_dir(), suffix=".zip")
    os.close(fd)
    zip_path = Path(name)
    try:
        count = case_files.export_zip(case_file, zip_path)
        out = zip_path.open("rb")
    except case_files.AlteredOriginal as error:
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
        queryset=Division.objects.filter(successor__isnull=True, level__in=["city", "county"]),
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["missing"].choices = [("", "全部"), *case_files.type_choices()]


def _case_file_rows(request: HttpRequest, form: CaseFileFilterForm):
    queryset = access.scope(CaseFile.objects.all(), request.user, "county")
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["division"] = data["division"].code if data["division"] else ""
        queryset = case_files.filter_case_files(queryset, data)
    return queryset.select_related("person", "county").order_by("county_id", "person__name", "id")


@permission_required(LIST, raise_exception=True)
def casefile_list(request: HttpRequest) -> HttpResponse:
    form = CaseFileFilterForm(request.GET or None)
    rows = _case_file_rows(request, form)
    if request.GET.get("format") == "xlsx":
        record(
            request,
            "export",
            obj_type="archive.CaseFile",
            detail=f"导出补贴档案清单 {request.GET.urlencode()[:300]}",
        )
        return xlsx_download(
            "补贴档案",
            _case_file_export_rows(rows),
            f"补贴档案清单_{timezone.localdate():%Y%m%d}.xlsx",
        )
    page = paginate(request, rows, PAGE_SIZE)
    people = [cf.person_id for cf in page]
    enrolments: dict[tuple[int, str], list[Enrolment]] = {}
    for e in Enrolment.objects.filter(person_id__in=people):
        enrolments.setdefault((e.person_id, e.county_id), []).append(e)
    for cf in page:
        cf.enrolment_list = enrolments.get((cf.person_id, cf.county_id), [])
        cf.missing_names = [case_files.type_name(c) for c in cf.missing_codes]
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


CASE_FILE_HEADERS = [
    "县（区）",
    "姓名",
    "公民身份号码",
    "补贴",
    "完整度（%）",
    "缺少材料",
    "文件数",
    "页数",
    "更新时间",
]


def _case_file_export_rows(rows):
    yield CASE_FILE_HEADERS
    enrolment_rows = Enrolment.objects.filter(person_id__in=rows.values("person_id")).values_list(
        "person_id", "county_id", "subsidy", "status"
    )
    enrolments: dict[tuple[int, str], list[str]] = {}
    statuses = dict(Enrolment.Status.choices)
    for person_id, county_id, subsidy, status in enrolment_rows.iterator(chunk_size=5000):
        enrolments.setdefault((person_id, county_id), []).append(
            f"{SUBSIDIES.get(subsidy, subsidy)}（{statuses.get(status, status)}）"
        )
    for cf in rows.iterator(chunk_size=2000):
        yield [
            cf.county.name,
            cf.person.name,
            cf.person.id_number,
            "；".join(enrolments.get((cf.person_id, cf.county_id), [])),
            cf.completeness,
            "、".join(case_files.type_name(c) for c in cf.missing_codes),
            cf.document_count,
            cf.page_count,
            timezone.localtime(cf.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]


# --- Integrity ----------------------------------------------------------------------------------------


@permission_required(INTEGRITY, raise_exception=True)
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


# --- Due for appraisal (到期鉴定) -----------------------------------------------------------------
# Read-only: the page and its export list what archive.appraisal finds due; nothing here (nor
# there) deletes, withdraws or changes a document. Appraisal and destruction are decided and
# approved outside the system, under the archives regulations.

APPRAISAL = "archive.view_appraisal"
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
@permission_required(APPRAISAL, raise_exception=True)
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
        document.type_name = case_files.type_name(document.doc_type)
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
            case_files.type_name(document.doc_type),
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


# --- The checklist (data, with history) ---------------------------------------------------------

REQUIRED_CHOICES = [
    ("both", "必备（两项补贴）"),
    ("living", "享受生活补贴时必备"),
    ("nursing", "享受护理补贴时必备"),
    ("", "按条件或不要求"),
]


@permission_required("archive.view_checklistversion", raise_exception=True)
def checklist_page(request: HttpRequest) -> HttpResponse:
    """The checklist in force and its history; administrators save a new version (who, when,
    why). Completeness of every case file is then recomputed in the background."""
    from archive.models import ChecklistVersion

    current = case_files.current_checklist()
    if request.method == "POST":
        if not request.user.has_perm("archive.add_checklistversion"):
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
            "can_change": request.user.has_perm("archive.add_checklistversion"),
        },
    )


urlpatterns = [
    path("casefiles/", casefile_list, name="archive_casefile_list"),
    path("casefiles/<int:pk>/", casefile_detail, name="archive_casefile_detail"),
    path("casefiles/<int:pk>/upload/", casefile_upload, name="archive_casefile_upload"),
    path("casefiles/<int:pk>/catalogue/", catalogue, name="archive_casefile_catalogue"),
    path("casefiles/<int:pk>/export/", casefile_export, name="archive_casefile_export"),
    path(
        "people/<int:person_pk>/casefile/", casefile_for_person, name="archive_casefile_for_person"
    ),
    path("documents/inbox/", inbox, name="archive_inbox"),
    path("documents/inbox/upload/", inbox_upload, name="archive_inbox_upload"),
    path("documents/<int:pk>/", document_view, name="archive_document_view"),
    path("documents/<int:pk>/edit/", document_edit, name="archive_document_edit"),
    path("documents/<int:pk>/replace/", document_replace, name="archive_document_replace"),
    path("documents/<int:pk>/delete/", document_delete, name="archive_document_delete"),
    path("files/<int:version_pk>/page/<int:page>/", file_page, name="archive_file_page"),
    path("files/<int:version_pk>/thumbnail/", file_thumbnail, name="archive_file_thumbnail"),
    path("files/<int:version_pk>/original/", file_original, name="archive_file_original"),
    path("integrity/", integrity_page, name="archive_integrity"),
    path("checklist/", checklist_page, name="archive_checklist"),
    path("appraisal/", appraisal_list, name="archive_appraisal"),
]
