"""Reading again every document a filter selects (按筛选结果重新识别): after a better engine
or a scan setting changed, the OCR 核对 queue or the inbox with its filters — OCR failed,
unreliable, a document type, a county — sent to OCR again in one background job
(``archive.jobs``, kind ``ocr_rerun``) instead of ticking documents page by page.

The filter is a dict of text (what the job keeps in its parameters); :func:`select` applies it
inside the user's jurisdiction (`archive.access.scope`) each time, so the job that runs later
sees the same jurisdiction as the confirmation page, never wider. Each document goes through
`archive.documents.operations.rerun_ocr`, as on its own page: checked, audited by itself, and
not queued twice — a document already waiting for OCR, or queued since the job was
submitted (by this job's own attempt that a dead worker left half-way, or by someone else),
is counted as waiting and left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from archive import access, casefiles
from archive.documents import ocr_review, operations
from archive.models import Division, Document, DocumentVersion
from core.codes import OCR_REVIEW_REASONS
from core.divisions import division_prefix

#: The OCR states a filter may ask for (识别状态), as the page names them.
OCR_STATES = {"failed": "识别失败", "unchecked": "已识别、待核对", "done": "已识别"}
#: Where the documents are (存放位置).
PLACES = {"inbox": "收件箱", "filed": "已归入档案"}
#: The keys of a filter, in the order the page lists them.
KEYS = ("ocr", "reason", "doc_type", "county", "place")


def select(user, filters: dict[str, str]) -> QuerySet[Document]:
    """The documents of the user's jurisdiction that the filter selects (not withdrawn, with a
    file to read), by id. An unknown value is a filter the page did not offer: nothing."""
    documents = access.scope(
        Document.objects.filter(deleted_at__isnull=True, current__isnull=False), user, "county"
    )
    state, reason = filters.get("ocr", ""), filters.get("reason", "")
    doc_type, county, place = (filters.get(k, "") for k in ("doc_type", "county", "place"))
    if (state and state not in OCR_STATES) or (reason and reason not in OCR_REVIEW_REASONS):
        return documents.none()
    if (place and place not in PLACES) or (doc_type and doc_type not in casefiles.type_codes()):
        return documents.none()
    if state == "failed":
        documents = documents.filter(current__ocr_status=DocumentVersion.Ocr.FAILED)
    elif state:
        documents = documents.filter(current__ocr_status=DocumentVersion.Ocr.DONE)
        if state == "unchecked":
            documents = documents.filter(ocr_review.unchecked())
    if reason:
        documents = documents.filter(current__ocr_reasons__contains=f",{reason},")
    if doc_type:
        documents = documents.filter(Q(doc_type=doc_type) | Q(doc_type="", proposed_type=doc_type))
    if county:
        if not county.isdigit():
            return documents.none()
        documents = documents.filter(county__code__startswith=division_prefix(county))
    if place:
        documents = documents.filter(case_file__isnull=place == "inbox")
    return documents.order_by("pk")


def counties(user) -> QuerySet[Division]:
    """The counties a filter may name: the current ones inside the user's jurisdiction."""
    return Division.objects.counties_within(access.user_prefix(user)).order_by("code")


def describe(filters: dict[str, str]) -> str:
    """The filter in words, for the job's page and the audit log."""
    county = filters.get("county", "")
    names = {
        "ocr": OCR_STATES.get(filters.get("ocr", ""), ""),
        "reason": OCR_REVIEW_REASONS.get(filters.get("reason", ""), ""),
        "doc_type": casefiles.type_name(filters["doc_type"]) if filters.get("doc_type") else "",
        "county": Division.objects.names([county]).get(county, ""),
        "place": PLACES.get(filters.get("place", ""), ""),
    }
    chosen = [names[key] for key in KEYS if names[key]]
    return "、".join(chosen) if chosen else "辖区内全部文件"


@dataclass
class Counts:
    total: int = 0
    queued: int = 0
    waiting: int = 0


def counts(user, filters: dict[str, str]) -> Counts:
    """What the job would do now: the documents selected, and how many of them already wait
    for OCR (they are not queued twice)."""
    documents = select(user, filters)
    total = documents.count()
    waiting = documents.filter(current__ocr_status=DocumentVersion.Ocr.QUEUED).count()
    return Counts(total=total, queued=total - waiting, waiting=waiting)


def rerun_all(
    user,
    filters: dict[str, str],
    *,
    since: datetime,
    progress: Callable[[int, int, Counts], None],
    check: Callable[[], None],
) -> Counts:
    """Queues every selected document for OCR, one by one (each its own transaction and audit
    entry, so a cancelled job leaves only whole, logged re-runs behind). ``check()`` before
    each document may stop it; a document whose current version was queued at ``since`` or
    later is not queued again."""
    ids = list(select(user, filters).values_list("pk", flat=True))
    result = Counts(total=len(ids))
    for done, pk in enumerate(ids, start=1):
        check()
        document = (
            Document.objects.filter(pk=pk, deleted_at__isnull=True)
            .select_related("current", "case_file__person")
            .first()
        )
        if document is None or document.current is None:
            result.total -= 1  # withdrawn meanwhile: nothing to read
        elif _queued_since(document.current, since) or not operations.rerun_ocr(document, user):
            result.waiting += 1
        else:
            result.queued += 1
        progress(done, len(ids), result)
    return result


def _queued_since(version: DocumentVersion, since: datetime) -> bool:
    return version.ocr_queued_at is not None and version.ocr_queued_at >= since
