"""One scanned document's page (the viewer: pages, versions, history) and its changes: move to
another type or case file, file it from the inbox, correct 题名/日期, split it by page ranges,
withdraw (作废).

The document is fetched inside the user's jurisdiction (`archive.access.scoped`); every view is
audited, every change goes through `archive.documents.operations`, which logs it. Replacing the file
is an upload (`archive.documents.upload_views`); the page images are `archive.documents.file_views`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from archive import access, casefiles
from archive.access import permissions as perms
from archive.access import scoped
from archive.access.audit import record
from archive.documents import ocr_review, operations, scans
from archive.models import AuditLog, Document
from core import page_ranges
from core.codes import OCR_FIELD_LABELS
from core.numbers import NumberError, parse_id

#: How many parts the split form offers (a certificate, a form and a letter scanned together).
SPLIT_ROWS = 6


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def document_view(request: HttpRequest, pk: int) -> TemplateResponse:
    document = scoped.document(request, pk)
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
        siblings = [d.pk for d in casefiles.ordered_documents(document.case_file)]
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
    checklist = casefiles.current_checklist()
    return TemplateResponse(
        request,
        "archive/documents/viewer.html",
        {
            "document": document,
            "case_file": document.case_file,
            "type_name": casefiles.type_name(document.doc_type, checklist.items),
            "proposed_type_name": casefiles.type_name(document.proposed_type, checklist.items)
            if document.proposed_type
            else "",
            "split_rows": range(1, min(pages, SPLIT_ROWS) + 1) if pages > 1 else (),
            "title": (
                casefiles.document_title(document, document.case_file.person, checklist.items)
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
            "types": casefiles.type_choices(checklist.items),
            "can_change": request.user.has_perm(perms.CHANGE_DOCUMENT) and not document.deleted_at,
            "can_delete": request.user.has_perm(perms.SOFT_DELETE_DOCUMENT)
            and not document.deleted_at,
            "accept": scans.ACCEPT,
            "ocr_fields": [
                (OCR_FIELD_LABELS.get(key, key), ocr_review.shown(key, str(value)))
                for key, value in ((version.ocr_fields or {}).get("fields") or {}).items()
                if value is not None
            ],
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
@permission_required(perms.CHANGE_DOCUMENT, raise_exception=True)
def document_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another type or case file (by the person's ID number), file from the inbox, or
    correct 题名/日期."""
    document = scoped.document(request, pk)
    form = EditForm(request.POST)
    if not form.is_valid():
        messages.error(request, "未保存：请检查填写的内容（日期格式如 2026-03-01）。")
        return redirect(_back(document))
    data = form.cleaned_data
    codes = casefiles.type_codes()
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
        target = casefiles.case_file_for(*found)
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
@permission_required(perms.CHANGE_DOCUMENT, raise_exception=True)
def document_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Splits a multi-page scan by the page ranges of the form's rows (``pages_N``, with
    ``type_N``); rows left empty are ignored. Nothing changes unless every page is placed."""
    document = scoped.document(request, pk)
    if document.current is None:
        raise Http404("文件没有版本")
    codes = casefiles.type_codes()
    parts = []
    try:
        for row in range(1, SPLIT_ROWS + 1):
            written = request.POST.get(f"pages_{row}", "").strip()
            if not written:
                continue
            doc_type = request.POST.get(f"type_{row}", "")
            if doc_type and doc_type not in codes:
                raise operations.OperationError("未知的材料类型")
            first, last = page_ranges.parse_range(written, document.current.blob.page_count)
            parts.append((first, last, doc_type))
        outcomes = operations.split(document, parts, request.user, request)
    except page_ranges.PageRangeError as error:
        messages.error(request, f"未拆分：{error.message}")
    except operations.OperationError as error:
        messages.error(request, f"未拆分：{error}")
    else:
        messages.success(
            request,
            f"已拆分为 {len(outcomes)} 份文件，原文件已作废（原件保留），操作已记入日志。",
        )
        return redirect("archive_document_view", pk=outcomes[0].document_id)
    return redirect(_back(document))


@require_POST
@permission_required(perms.SOFT_DELETE_DOCUMENT, raise_exception=True)
def document_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = scoped.document(request, pk)
    try:
        operations.soft_delete(document, request.POST.get("reason", ""), request.user, request)
    except operations.OperationError as error:
        messages.error(request, str(error))
        return redirect(_back(document))
    messages.success(request, "文件已作废（保留原件、版本和档号），操作已记入日志。")
    if document.case_file_id:
        return redirect("archive_casefile_detail", pk=document.case_file_id)
    return redirect("archive_inbox")


urlpatterns = [
    path("documents/<int:pk>/", document_view, name="archive_document_view"),
    path("documents/<int:pk>/edit/", document_edit, name="archive_document_edit"),
    path("documents/<int:pk>/split/", document_split, name="archive_document_split"),
    path("documents/<int:pk>/delete/", document_delete, name="archive_document_delete"),
]
