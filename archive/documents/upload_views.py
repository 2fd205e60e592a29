"""Uploading scans: into a case file, into the county's inbox (收件箱, with its page of unfiled
scans), and a new version of a document (替换).

Every upload view receives its files through `archive.documents.upload_limits` (an oversized file is
refused while it arrives) and hands them to `archive.documents.ingest` or `operations.replace`; the
uploader (``static/archive/uploader.js``) asks for JSON, one outcome per file, and a plain form
gets a result page or a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from archive import access, casefiles
from archive.access import permissions as perms
from archive.access import scoped
from archive.access.audit import record
from archive.documents import ingest, operations, scans, upload_limits
from archive.models import Document
from archive.paging import PAGE_SIZE, paginate


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


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
    codes = {item["code"] for item in casefiles.current_checklist().items}
    if code and code not in codes:
        return None
    if not code and not allow_blank:
        return None
    return code


@require_POST
@permission_required(perms.ADD_DOCUMENT, raise_exception=True)
@upload_limits.limited_upload
def casefile_upload(
    request: HttpRequest, pk: int, limiter: upload_limits.SizeLimitHandler
) -> HttpResponse:
    case_file = scoped.case_file(request, pk)
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


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
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
            "types": casefiles.type_choices(casefiles.current_checklist().items),
            "accept": scans.ACCEPT,
            "max_mb": scans.max_bytes() // (1024 * 1024),
            "can_upload": request.user.has_perm(perms.ADD_DOCUMENT),
            "can_change": request.user.has_perm(perms.CHANGE_DOCUMENT),
            "can_delete": request.user.has_perm(perms.SOFT_DELETE_DOCUMENT),
            "upload_url": reverse("archive_inbox_upload"),
        },
    )


@require_POST
@permission_required(perms.ADD_DOCUMENT, raise_exception=True)
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


# --- A new version of a document (替换) ---------------------------------------------------------


@require_POST
@permission_required(perms.CHANGE_DOCUMENT, raise_exception=True)
@upload_limits.limited_upload
def document_replace(
    request: HttpRequest, pk: int, limiter: upload_limits.SizeLimitHandler
) -> HttpResponse:
    document = scoped.document(request, pk)
    back = reverse("archive_document_view", args=[document.pk])
    uploaded = request.FILES.get("file")
    if uploaded is None and (refused := limiter.outcomes("file")):
        if _wants_json(request):
            return JsonResponse({"results": [o.as_dict() for o in refused]}, status=400)
        messages.error(request, f"{refused[0].name}：{refused[0].label}。{refused[0].message}")
        return redirect(back)
    if uploaded is None:
        messages.error(request, "请选择用于替换的文件。")
        return redirect(back)
    try:
        outcome = operations.replace(
            document, uploaded, uploaded.name, request.user, request, request.POST.get("note", "")
        )
    except operations.OperationError as error:
        messages.error(request, str(error))
        return redirect(back)
    if _wants_json(request):
        return JsonResponse({"results": [outcome.as_dict()]})
    (messages.success if outcome.ok else messages.error)(
        request, f"{uploaded.name}：{outcome.label}。{outcome.message}"
    )
    return redirect(back)


urlpatterns = [
    path("casefiles/<int:pk>/upload/", casefile_upload, name="archive_casefile_upload"),
    path("documents/inbox/", inbox, name="archive_inbox"),
    path("documents/inbox/upload/", inbox_upload, name="archive_inbox_upload"),
    path("documents/<int:pk>/replace/", document_replace, name="archive_document_replace"),
]
