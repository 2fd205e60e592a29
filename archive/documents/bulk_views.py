"""Acting on several documents at once (批量操作) from the inbox or a case file: set their type,
file them to one person, read them again (OCR), or withdraw them with one reason.

Each document is fetched inside the user's jurisdiction and goes through the same
`archive.documents.operations` call as on its own page, so each change is checked and written
to the audit log by itself; one that cannot be changed is named in the answer while the
others go ahead.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from archive import access, casefiles
from archive.access import permissions as perms
from archive.documents import operations
from archive.models import Document
from core.numbers import NumberError, parse_id

#: At most this many documents per request: a page of the inbox or of a case file.
MAX_DOCUMENTS = 200
ACTIONS = {
    "type": ("设置材料类型", perms.CHANGE_DOCUMENT),
    "file": ("归入人员档案", perms.CHANGE_DOCUMENT),
    "ocr": ("重新识别", perms.CHANGE_DOCUMENT),
    "delete": ("作废", perms.SOFT_DELETE_DOCUMENT),
}


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "archive_inbox"


@require_POST
@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def bulk_documents(request: HttpRequest) -> HttpResponse:
    back = _back(request)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, "请选择要执行的批量操作。")
        return redirect(back)
    label, permission = ACTIONS[action]
    if not request.user.has_perm(permission):
        messages.error(request, f"您没有“{label}”的权限。")
        return redirect(back)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:MAX_DOCUMENTS]
    documents = list(
        access.scope(Document.objects.all(), request.user, "county")
        .filter(pk__in=ids)
        .select_related("case_file__person", "current__blob")
        .order_by("pk")
    )
    if not documents:
        messages.error(request, "请先勾选要处理的文件。")
        return redirect(back)
    try:
        apply = _action(request, action)
    except operations.OperationError as error:
        messages.error(request, f"未处理：{error}")
        return redirect(back)
    done, refused = 0, []
    for document in documents:
        try:
            if apply(document) is not False:
                done += 1
            else:
                refused.append(f"{document}（已在排队识别）")
        except operations.OperationError as error:
            refused.append(f"{document}（{error}）")
    if done:
        messages.success(request, f"{label}：已处理 {done} 份文件，每份均已记入日志。")
    if refused:
        listed = "；".join(refused[:10]) + ("……" if len(refused) > 10 else "")
        messages.warning(request, f"{len(refused)} 份未处理：{listed}")
    return redirect(back)


def _action(request: HttpRequest, action: str):
    """The change to make to each document, its inputs checked once for all."""
    user, post = request.user, request.POST
    if action == "ocr":
        return lambda document: operations.rerun_ocr(document, user, request)
    if action == "delete":
        reason = post.get("reason", "").strip()
        if not reason:
            raise operations.OperationError("请填写作废原因")
        return lambda document: operations.soft_delete(document, reason, user, request)
    doc_type = post.get("doc_type", "")
    codes = casefiles.type_codes()
    if doc_type and doc_type not in codes:
        raise operations.OperationError("未知的材料类型")
    if action == "type":
        if not doc_type:
            raise operations.OperationError("请选择材料类型")
        return lambda document: operations.move(document, user, request, doc_type=doc_type)
    try:
        id_number = parse_id(post.get("id_number", "")).value
    except NumberError as error:
        raise operations.OperationError(error.message) from None
    found = access.person_in_scope(user, id_number)
    if found is None:
        raise operations.OperationError("本辖区内没有该身份号码的人员")
    case_file = casefiles.case_file_for(*found)
    return lambda document: operations.move(
        document, user, request, case_file=case_file, doc_type=doc_type or None
    )


urlpatterns = [path("documents/bulk/", bulk_documents, name="archive_documents_bulk")]
