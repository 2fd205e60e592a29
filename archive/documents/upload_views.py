"""Uploading scans: into a case file, into the county's inbox (收件箱, with its page of unfiled
scans), and a new version of a document (替换).

Every upload view receives its files through `archive.documents.upload_limits` (an oversized file is
refused while it arrives) and hands them to `archive.documents.ingest` or `operations.replace`; the
uploader (``static/archive/uploader.js``) asks for JSON, one outcome per file, and a plain form
gets a result page or a message. A ZIP or a long PDF is not filed in the request: it goes to a
background job (扫描件归档, archive/jobs.py); the JSON names the job's status to poll, and a
plain form that sent only that file is taken to the job's progress page.
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
from archive.job_views import follow
from archive.jobs import submit_ingest
from archive.models import Document
from archive.paging import PAGE_SIZE, paginate
from jobs.models import Job


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _receive_all(request, target: ingest.Target, outcomes: list) -> list[Job]:
    """Each uploaded file filed now, or handed to a background job; returns the jobs."""
    submitted = []
    for uploaded in request.FILES.getlist("files"):
        received = ingest.receive(uploaded, uploaded.name, size_hint=uploaded.size)
        if isinstance(received, ingest.Outcome):
            outcomes.append(received)
        elif received.runs_in_background():
            submitted.append(submit_ingest(received, target, request.user))
        else:
            outcomes += ingest.ingest_received(received, target, request.user, request)
    return submitted


def _job_dict(job: Job) -> dict:
    return {
        "id": job.pk,
        "name": job.params["name"],
        "url": reverse("archive_job_detail", kwargs={"pk": job.pk}),
        "status_url": reverse("archive_job_status", kwargs={"pk": job.pk}),
    }


def _upload_response(request, outcomes, back_url, case_file=None, submitted=()) -> HttpResponse:
    status = 200 if outcomes or submitted else 400
    if _wants_json(request):
        payload = {
            "results": [o.as_dict() for o in outcomes],
            "jobs": [_job_dict(job) for job in submitted],
        }
        if case_file is not None:
            case_file.refresh_from_db(fields=["completeness", "document_count", "page_count"])
            payload["completeness"] = case_file.completeness
        return JsonResponse(payload, status=status)
    if len(submitted) == 1 and not outcomes:
        return follow(submitted[0])
    return TemplateResponse(
        request,
        "archive/documents/upload_result.html",
        {
            "outcomes": outcomes,
            "jobs": [_job_dict(job) for job in submitted],
            "back_url": back_url,
            "case_file": case_file,
        },
        status=status,
    )


def _doc_type(request, allow_blank=True) -> str | None:
    code = request.POST.get("doc_type", "").strip()
    codes = casefiles.type_codes()
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
    outcomes = limiter.outcomes("files")
    submitted = _receive_all(request, ingest.Target(case_file, doc_type), outcomes)
    back = reverse("archive_casefile_detail", args=[case_file.pk])
    return _upload_response(request, outcomes, back, case_file, submitted)


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
    outcomes = limiter.outcomes("files")
    submitted = _receive_all(request, ingest.inbox_target(request.user, doc_type), outcomes)
    return _upload_response(request, outcomes, reverse("archive_inbox"), submitted=submitted)


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
