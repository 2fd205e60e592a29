"""OCR 核对: the queue of OCR results waiting for a person, the review page of one document
(page image beside the fields read, accept all, correct a field, next; keyboard-driven), the
one-click filing of an inbox scan to the person its number names, and the accuracy report.

The logic is `archive.documents.ocr_review`; documents are fetched inside the user's jurisdiction
(`archive.access.scoped`: another county's document is a 404, logged as ``denied``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from archive import casefiles
from archive.access import permissions as perms
from archive.access import scoped
from archive.access.audit import record
from archive.documents import ocr_review
from archive.documents.operations import OperationError
from archive.forms import OcrReviewForm
from archive.models import Document, DocumentVersion
from archive.paging import PAGE_SIZE, paginate, query_without_page
from core.codes import OCR_FIELD_LABELS, OCR_REVIEW_REASONS

#: Width of a field's crop on the review page, and its greatest height (CSS pixels).
CROP_WIDTH = 240
CROP_MAX_HEIGHT = 90
#: The margin around a field's box, as a share of the box's height.
CROP_PAD = 0.25


class QueueFilterForm(forms.Form):
    doc_type = forms.ChoiceField(label="材料类型", required=False)
    reason = forms.ChoiceField(
        label="待核对原因",
        required=False,
        choices=[("", "全部"), *OCR_REVIEW_REASONS.items()],
    )

    def __init__(self, *args, types: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doc_type"].choices = [("", "全部"), *types]


def _filters(request: HttpRequest, types) -> tuple[QueueFilterForm, dict[str, str]]:
    form = QueueFilterForm(request.GET or None, types=types)
    if form.is_bound and form.is_valid():
        return form, {key: form.cleaned_data[key] for key in ("doc_type", "reason")}
    return QueueFilterForm(types=types), {"doc_type": "", "reason": ""}


def _with_filters(url: str, filters: dict[str, str]) -> str:
    kept = {key: value for key, value in filters.items() if value}
    return f"{url}?{urlencode(kept)}" if kept else url


def _reason_labels(version: DocumentVersion) -> list[str]:
    return [
        OCR_REVIEW_REASONS[c] for c in version.ocr_reasons.split(",") if c in OCR_REVIEW_REASONS
    ]


@permission_required(perms.REVIEW_OCR, raise_exception=True)
def queue_view(request: HttpRequest) -> TemplateResponse:
    types = casefiles.type_choices(casefiles.current_checklist().items)
    form, filters = _filters(request, types)
    page = paginate(request, ocr_review.queue(request.user, **filters), PAGE_SIZE)
    names = dict(types)
    rows = [
        {
            "document": document,
            "who": document.case_file.person if document.case_file_id else None,
            "type_name": names.get(document.doc_type or document.proposed_type, "未确定"),
            "reasons": _reason_labels(document.current),
            "url": _with_filters(reverse("archive_ocr_review", args=[document.pk]), filters),
        }
        for document in page
    ]
    return TemplateResponse(
        request,
        "archive/ocr/queue.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "first_url": rows[0]["url"] if rows else "",
            "can_report": request.user.has_perm(perms.VIEW_OCR_ACCURACY),
            "rerun_url": _with_filters(
                reverse("archive_ocr_rerun"), {"ocr": "unchecked", **filters}
            )
            if request.user.has_perm(perms.CHANGE_DOCUMENT)
            else "",
        },
    )


def _crop(box: dict | None, pages: list[dict], version: DocumentVersion) -> dict | None:
    """Where a field was read, as a CSS crop of its page image: the box (fractions of the
    page) with a margin, scaled so that it is CROP_WIDTH wide, or less when that would be
    too tall."""
    if not box:
        return None
    number = box.get("page", 1)
    size = next((p.get("size") for p in pages if p.get("page") == number), None)
    if not size or not 1 <= number <= version.blob.page_count:
        return None
    x0, y0, x1, y1 = box["box"]
    if x1 <= x0 or y1 <= y0:
        return None
    aspect = size[1] / size[0]
    # A margin of a quarter of the box's height all round: the box is the ink's, tight.
    pad = CROP_PAD * (y1 - y0)
    x0, x1 = max(0.0, x0 - pad * aspect), min(1.0, x1 + pad * aspect)
    y0, y1 = max(0.0, y0 - pad), min(1.0, y1 + pad)
    background = CROP_WIDTH / (x1 - x0)
    height = (y1 - y0) * background * aspect
    if height > CROP_MAX_HEIGHT:
        background *= CROP_MAX_HEIGHT / height
        height = CROP_MAX_HEIGHT
    width = (x1 - x0) * background
    return {
        "url": reverse("archive_file_page", args=[version.pk, number]),
        "page": number,
        "style": (
            f"width:{width:.0f}px;height:{height:.0f}px;"
            f"background-size:{background:.1f}px {background * aspect:.1f}px;"
            f"background-position:{-x0 * background:.1f}px {-y0 * background * aspect:.1f}px"
        ),
    }


def _review_context(request, document: Document, version: DocumentVersion, form, filters, types):
    ocr_fields = version.ocr_fields or {}
    pages = ocr_fields.get("pages", [])
    boxes = ocr_fields.get("boxes", {})
    read = ocr_review.read_values(version)
    checks = {c.field: c for c in version.ocr_checks.select_related("checked_by")}
    rows = [
        {
            "key": number,
            "field": form[field] if form is not None else None,
            "label": OCR_FIELD_LABELS[field],
            "read": ocr_review.shown(field, read.get(field, "")),
            "crop": _crop(boxes.get(field), pages, version),
            "check": checks.get(field),
            "confirmed": ocr_review.shown(field, checks[field].value_confirmed)
            if field in checks
            else "",
        }
        for number, field in enumerate(ocr_review.FIELDS, start=1)
    ]
    try:
        page = min(max(int(request.GET.get("page", "1")), 1), version.blob.page_count)
    except ValueError:
        page = 1
    following = ocr_review.next_after(request.user, document, **filters)
    target = ocr_review.proposed_target(document, request.user)
    title = (
        casefiles.document_title(document, document.case_file.person)
        if document.case_file_id
        else "待归档扫描件"
    )
    return {
        "document": document,
        "version": version,
        "title": title,
        "form": form,
        "rows": rows,
        "checked": bool(checks),
        "checked_by": next(iter(checks.values())).checked_by if checks else None,
        "checked_at": next(iter(checks.values())).checked_at if checks else None,
        "flags": ocr_fields.get("flags", []),
        "warnings": [
            (p.get("page"), ocr_review.readable(w)) for p in pages for w in p.get("warnings", [])
        ],
        "reasons": _reason_labels(version),
        "page": page,
        "pages": range(1, version.blob.page_count + 1),
        "page_count": version.blob.page_count,
        "next_url": (
            _with_filters(reverse("archive_ocr_review", args=[following.pk]), filters)
            if following
            else ""
        ),
        "queue_url": _with_filters(reverse("archive_ocr_queue"), filters),
        "filters": urlencode({k: v for k, v in filters.items() if v}),
        "target": target,
        "can_file": target is not None and request.user.has_perm(perms.CHANGE_DOCUMENT),
        "has_boxes": bool(boxes),
    }


@permission_required(perms.REVIEW_OCR, raise_exception=True)
def review_view(request: HttpRequest, pk: int) -> HttpResponse:
    document = scoped.document(request, pk)
    version = document.current
    if document.deleted_at or version is None or version.ocr_status != DocumentVersion.Ocr.DONE:
        raise Http404("该文件没有可核对的识别结果")
    types = casefiles.type_choices(casefiles.current_checklist().items)
    _, filters = _filters(request, types)
    checked = ocr_review.is_checked(version)
    form = None
    if request.method == "POST" and not checked:
        form = OcrReviewForm(request.POST, types=types)
        if form.is_valid():
            values = {field: form.cleaned_data[field] for field in ocr_review.FIELDS}
            try:
                saved = ocr_review.save_check(document, values, request.user, request)
            except ocr_review.ReviewError as error:
                messages.error(request, str(error))
                return redirect(_with_filters(request.path, filters))
            if saved.corrected:
                fixed = "、".join(OCR_FIELD_LABELS[f] for f in saved.corrected)
                flags = f"；与档案比对：{'；'.join(saved.flags)}" if saved.flags else ""
                messages.success(request, f"已保存：更正了{fixed}，其余已确认{flags}。")
            else:
                messages.success(request, "已确认全部识别结果。")
            following = ocr_review.next_after(request.user, document, **filters)
            if following is None:
                return redirect(_with_filters(reverse("archive_ocr_queue"), filters))
            return redirect(
                _with_filters(reverse("archive_ocr_review", args=[following.pk]), filters)
            )
        messages.error(request, "未保存：请按提示改正标红的字段。")
    elif request.method == "POST":
        messages.error(request, "该文件已核对过，未重复保存。")
    elif not checked:
        form = OcrReviewForm(initial=ocr_review.current_values(version, document), types=types)
    if request.method == "GET":
        record(
            request,
            "view_ocr_review",
            obj_type="archive.Document",
            obj_id=str(document.pk),
            detail=f"OCR 核对 {document} 第{version.number}版",
        )
    context = _review_context(request, document, version, form, filters, types)
    return TemplateResponse(request, "archive/ocr/review.html", context)


@require_POST
@permission_required(perms.CHANGE_DOCUMENT, raise_exception=True)
def file_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Files an inbox scan to the person OCR proposed by the number read: one click."""
    document = scoped.document(request, pk)
    try:
        moved = ocr_review.file_to_proposed(document, request.user, request)
    except (ocr_review.ReviewError, OperationError) as error:
        messages.error(request, f"未归档：{error}")
    else:
        messages.success(request, f"已归入 {moved.case_file.person.name} 的档案，操作已记入日志。")
    return redirect(request.POST.get("next") or reverse("archive_ocr_review", args=[pk]))


@permission_required(perms.VIEW_OCR_ACCURACY, raise_exception=True)
def accuracy_view(request: HttpRequest) -> TemplateResponse:
    rows = ocr_review.accuracy(request.user)
    totals: dict[tuple[str, str], ocr_review.AccuracyRow] = {}
    for row in rows:
        total = totals.setdefault(
            (row.engine, row.field),
            ocr_review.AccuracyRow(row.month, row.engine, row.field, 0, 0, 0, 0),
        )
        total.checked += row.checked
        total.correct += row.correct
        total.wrong += row.wrong
        total.unread += row.unread
    order = {field: i for i, field in enumerate(ocr_review.FIELDS)}
    return TemplateResponse(
        request,
        "archive/ocr/accuracy.html",
        {
            "rows": rows,
            "totals": sorted(totals.values(), key=lambda r: (r.engine, order.get(r.field, 99))),
        },
    )


urlpatterns = [
    path("ocr-review/", queue_view, name="archive_ocr_queue"),
    path("ocr-review/accuracy/", accuracy_view, name="archive_ocr_accuracy"),
    path("ocr-review/<int:pk>/", review_view, name="archive_ocr_review"),
    path("ocr-review/<int:pk>/file/", file_view, name="archive_ocr_file"),
]
