"""The OCR verification queue (OCR 核对): what OCR read that a person must look at, first.

A file version whose OCR is done waits in the queue until a person has checked it: every
field (`core.codes.OCR_FIELD_LABELS`) is then an `OcrCheck` row, accepted as read or
corrected. The queue puts first what is flagged — the page disagrees with the case file
(:func:`cross_check`, which keeps the flags of `ocr.pipeline.compare_with_record` on the
version) or a number failed its check, two readings contradict — then unreliable readings,
then the rest (`ocr_priority`, `ocr_reasons`, set whenever OCR or a correction changes what
is read). A correction updates the fields and re-runs the cross-check; the accuracy report is
computed from the checks, per field, engine and month.

Every query is scoped to the user's jurisdiction (`archive.access`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth

from archive import access, casefiles
from archive.access.audit import record
from archive.models import Certificate, Document, DocumentVersion, OcrCheck
from core.cells import LONG_TERM
from core.codes import OCR_ENGINE_LABELS, OCR_FIELD_LABELS, OCR_REVIEW_REASONS
from core.doctypes import BY_CODE
from core.numbers import CATEGORIES, GRADES, mask_id

#: The fields a person checks, in the order the review page lists them (keys 1–7).
FIELDS: tuple[str, ...] = tuple(OCR_FIELD_LABELS)
#: Fields whose stored value is an integer code (`core.numbers.CATEGORIES` / `GRADES`).
_INTEGER_FIELDS = ("category", "grade")
FLAGGED, DOUBTFUL, REST = 0, 1, 2

# What the pipeline's warnings (ocr.extract, ocr.pipeline) say, sorted into the reasons.
_INVALID = re.compile(r"未通过校验|无效|不一致|多个不同|不合常理")
_DOUBT = re.compile(r"不可靠|无法可靠|置信度较低|识别质量较差|无法确定文件类型")
_UNREAD = re.compile(r"未能识别|无法识别|为空")
_LOW_PAGE_CONFIDENCE = 0.5
#: "（CERT_CHECK）": the reason code a warning carries for machines; pages show the words only.
_CODE_IN_TEXT = re.compile(r"（[A-Z][A-Z0-9_]+）")


class ReviewError(Exception):
    """A check that cannot be saved, in Chinese for the person who asked."""


def readable(warning: str) -> str:
    """A warning as a page shows it: without the reason code meant for machines."""
    return _CODE_IN_TEXT.sub("", warning)


def reasons_of(ocr_fields: dict) -> list[str]:
    """Why a stored OCR result needs a person (`core.codes.OCR_REVIEW_REASONS` codes)."""
    found = set()
    if ocr_fields.get("flags"):
        found.add("mismatch")
    for page in ocr_fields.get("pages", []):
        if (
            page.get("doc_type") == "unknown"
            or (page.get("confidence") or 0) < _LOW_PAGE_CONFIDENCE
        ):
            found.add("low_confidence")
        for warning in page.get("warnings", []):
            if _INVALID.search(warning):
                found.add("invalid")
            elif _DOUBT.search(warning):
                found.add("low_confidence")
            elif _UNREAD.search(warning):
                found.add("unread")
    return [code for code in OCR_REVIEW_REASONS if code in found]


def priority_of(reasons: list[str]) -> int:
    if "mismatch" in reasons or "invalid" in reasons:
        return FLAGGED
    return DOUBTFUL if "low_confidence" in reasons else REST


def classify(version: DocumentVersion) -> None:
    """Sets the version's queue reasons and priority from its OCR result (not saved)."""
    reasons = reasons_of(version.ocr_fields or {})
    version.ocr_reasons = f",{','.join(reasons)}," if reasons else ""
    version.ocr_priority = priority_of(reasons)


def _recorded_expiry(certificate: Certificate | None):
    if certificate is None:
        return None
    return LONG_TERM if certificate.long_term else certificate.expiry_date


def cross_check(document: Document) -> list[str]:
    """Compares what OCR read on the document's current version with its case file (the
    person's ID number and current certificate) through `ocr.pipeline.compare_with_record`,
    keeps the flags on the version (``ocr_fields["flags"]``) and re-sorts it in the queue.
    An inbox scan has no case file to disagree with: no flags. Returns the flags."""
    from ocr.pipeline import compare_with_record

    version = document.current
    if version is None or version.ocr_status != DocumentVersion.Ocr.DONE:
        return []
    ocr_fields = dict(version.ocr_fields or {})
    flags: list[str] = []
    if document.case_file_id:
        person = document.case_file.person
        certificate = person.certificates.filter(is_current=True).first()
        flags = compare_with_record(
            ocr_fields.get("fields", {}),
            person.id_number,
            certificate.category if certificate else None,
            certificate.grade if certificate else None,
            _recorded_expiry(certificate),
        )
    ocr_fields["flags"] = flags
    version.ocr_fields = ocr_fields
    classify(version)
    version.save(update_fields=["ocr_fields", "ocr_reasons", "ocr_priority"])
    return flags


def read_doc_type(pages: list[dict]) -> str:
    """The document type OCR read: that of the most confident typed page, "" if none."""
    typed = [p for p in pages if p.get("doc_type") in BY_CODE and p.get("doc_type") != "other"]
    best = max(typed, key=lambda p: p.get("confidence") or 0, default=None)
    return best["doc_type"] if best else ""


def _text(value) -> str:
    return "" if value is None else str(value)


def current_values(version: DocumentVersion, document: Document) -> dict[str, str]:
    """Every field as it stands now (after any correction), as text."""
    ocr_fields = version.ocr_fields or {}
    fields = ocr_fields.get("fields", {})
    values = {field: _text(fields.get(field)) for field in FIELDS if field != "doc_type"}
    values["doc_type"] = document.doc_type or ocr_fields.get("doc_type", "")
    return values


def read_values(version: DocumentVersion) -> dict[str, str]:
    """Every field as OCR read it, as text: what a check compares the confirmed value with."""
    ocr_fields = version.ocr_fields or {}
    if "read" in ocr_fields:
        return dict(ocr_fields["read"])
    fields = ocr_fields.get("fields", {})
    values = {field: _text(fields.get(field)) for field in FIELDS if field != "doc_type"}
    values["doc_type"] = ocr_fields.get("doc_type", read_doc_type(ocr_fields.get("pages", [])))
    return values


def unchecked() -> Exists:
    """The document's current version has no check yet (for ``filter``)."""
    return ~Exists(OcrCheck.objects.filter(version_id=OuterRef("current_id")))


def queue(user, *, doc_type: str = "", reason: str = "") -> QuerySet:
    """The documents of the user's jurisdiction whose current OCR result nobody has checked,
    flagged first, then unreliable, then the rest; oldest first within each."""
    documents = Document.objects.filter(
        deleted_at__isnull=True, current__ocr_status=DocumentVersion.Ocr.DONE
    ).filter(unchecked())
    documents = access.scope(documents, user, "county")
    if doc_type:
        documents = documents.filter(Q(doc_type=doc_type) | Q(doc_type="", proposed_type=doc_type))
    if reason in OCR_REVIEW_REASONS:
        documents = documents.filter(current__ocr_reasons__contains=f",{reason},")
    return documents.select_related(
        "current__blob", "case_file__person", "proposed_person"
    ).order_by("current__ocr_priority", "id")


def next_after(user, document: Document, **filters) -> Document | None:
    """The document after this one in the queue (the same filters)."""
    priority = document.current.ocr_priority
    later = Q(current__ocr_priority__gt=priority) | Q(
        current__ocr_priority=priority, id__gt=document.pk
    )
    return queue(user, **filters).filter(later).first()


def is_checked(version: DocumentVersion) -> bool:
    return version.ocr_checks.exists()


def _stored(field: str, value: str):
    if value == "":
        return None
    return int(value) if field in _INTEGER_FIELDS else value


@dataclass
class Saved:
    corrected: list[str]
    flags: list[str]


@transaction.atomic
def save_check(document: Document, values: dict[str, str], user, request=None) -> Saved:
    """Records a person's check of every field: ``values`` are the confirmed values as text
    (validated by `archive.forms.OcrReviewForm`). A value equal to what OCR read confirms it;
    another corrects it — the fields are updated (the original reading kept under
    ``ocr_fields["read"]``), a corrected document type changes the document (filed: moved
    with its 档号; inbox: the proposal), a corrected number proposes the person again for an
    inbox scan, and the cross-check runs again. Audited as ``ocr_accept`` or ``ocr_correct``."""
    from archive.documents import operations

    version = DocumentVersion.objects.select_for_update().get(pk=document.current_id)
    if version.ocr_status != DocumentVersion.Ocr.DONE:
        raise ReviewError("该文件尚未识别完成，不能核对")
    if is_checked(version):
        raise ReviewError("该文件已核对过（可能是他人刚刚核对），未重复保存")
    read = read_values(version)
    checks = [
        OcrCheck(
            version=version,
            field=field,
            engine=version.ocr_engine,
            value_read=read.get(field, "")[:64],
            value_confirmed=values.get(field, "")[:64],
            corrected=values.get(field, "") != read.get(field, ""),
            checked_by=user,
        )
        for field in FIELDS
    ]
    OcrCheck.objects.bulk_create(checks)
    corrected = [check.field for check in checks if check.corrected]
    flags = list((version.ocr_fields or {}).get("flags", []))
    if corrected:
        ocr_fields = dict(version.ocr_fields or {})
        ocr_fields.setdefault("read", read)
        fields = dict(ocr_fields.get("fields", {}))
        for field in corrected:
            if field != "doc_type":
                fields[field] = _stored(field, values[field])
        ocr_fields["fields"] = fields
        version.ocr_fields = ocr_fields
        version.save(update_fields=["ocr_fields"])
        _apply_doc_type(document, values.get("doc_type", ""), user, request, operations)
        if not document.case_file_id and {"id_number", "certificate_number"} & set(corrected):
            _propose_person(document, fields, user)
        document.current = version
        flags = cross_check(document)
    elif values.get("doc_type") and not document.doc_type and document.case_file_id:
        _apply_doc_type(document, values["doc_type"], user, request, operations)
    labels = [
        f"{OCR_FIELD_LABELS[c.field]} {shown(c.field, c.value_read) or '（空）'} → "
        f"{shown(c.field, c.value_confirmed) or '（空）'}"
        for c in checks
        if c.corrected
    ]
    record(
        request,
        "ocr_correct" if corrected else "ocr_accept",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=(
            f"更正 {document} 第{version.number}版：{'；'.join(labels)}"
            if corrected
            else f"确认 {document} 第{version.number}版的 {len(checks)} 项识别结果"
        ),
        user=user,
    )
    return Saved(corrected, flags)


def shown(field: str, value: str) -> str:
    """A field's value as people read it: 肢体残疾 and 二级, not 4 and 2; a type's name."""
    if not value:
        return ""
    if field == "category" and value.isdigit():
        return CATEGORIES.get(int(value), value)
    if field == "grade" and value.isdigit():
        return GRADES.get(int(value), value)
    if field == "doc_type":
        return casefiles.type_name(value)
    return value


def _apply_doc_type(document: Document, doc_type: str, user, request, operations) -> None:
    if not doc_type or doc_type == document.doc_type:
        return
    if document.case_file_id:
        operations.move(document, user, request, doc_type=doc_type, reason="（OCR 核对更正类型）")
        document.refresh_from_db()
    else:
        document.proposed_type = doc_type
        document.save(update_fields=["proposed_type"])


def _propose_person(document: Document, fields: dict, user) -> None:
    """An inbox scan's person, proposed again from the corrected number (within the
    jurisdiction of the person correcting it)."""
    number = fields.get("id_number") or (fields.get("certificate_number") or "")[:18]
    found = access.person_in_scope(user, number) if number else None
    document.proposed_person = found[0] if found else None
    document.save(update_fields=["proposed_person"])


def proposed_target(document: Document, user):
    """(person, county) an inbox scan may be filed to with one click: the person OCR proposed
    by the number read, if they are still inside the user's jurisdiction; else None."""
    if document.case_file_id or document.proposed_person_id is None:
        return None
    return access.person_in_scope(user, document.proposed_person.id_number)


def file_to_proposed(document: Document, user, request=None) -> Document:
    """Files an inbox scan into the case file of the proposed person, with the type read
    (`archive.documents.operations.move`, which gives the 档号 and audits it), then cross-checks
    it against that case file."""
    from archive.documents import operations

    target = proposed_target(document, user)
    if target is None:
        raise ReviewError("没有可确认的建议人员（或该人员不在您的辖区内）")
    case_file = casefiles.case_file_for(*target)
    doc_type = document.doc_type or document.proposed_type or None
    moved = operations.move(
        document,
        user,
        request,
        case_file=case_file,
        doc_type=doc_type,
        reason=f"（确认 OCR 建议的人员 {mask_id(target[0].id_number)}）",
    )
    moved = Document.objects.select_related("case_file__person", "current").get(pk=moved.pk)
    cross_check(moved)
    return moved


# --- accuracy report -----------------------------------------------------------------------


@dataclass
class AccuracyRow:
    month: date
    engine: str
    field: str
    checked: int
    correct: int
    wrong: int
    unread: int

    @property
    def engine_label(self) -> str:
        return OCR_ENGINE_LABELS.get(self.engine, self.engine)

    @property
    def field_label(self) -> str:
        return OCR_FIELD_LABELS.get(self.field, self.field)

    @property
    def rate(self) -> float | None:
        """Share of the checked fields read right (None when nothing was checked)."""
        return self.correct / self.checked if self.checked else None


def accuracy(user) -> list[AccuracyRow]:
    """Per month (newest first), engine and field: fields checked (read, or present on the
    page), read right, read wrong (corrected), not read (the person typed them). A field
    neither read nor present counts nowhere."""
    checks = access.scope(OcrCheck.objects.all(), user, "version__document__county")
    present = ~Q(value_read="", value_confirmed="")
    rows = (
        checks.annotate(month=TruncMonth("checked_at"))
        .values("month", "engine", "field")
        .annotate(
            checked=Count("id", filter=present),
            correct=Count("id", filter=Q(corrected=False) & ~Q(value_read="")),
            wrong=Count("id", filter=Q(corrected=True) & ~Q(value_read="")),
            unread=Count("id", filter=Q(value_read="") & ~Q(value_confirmed="")),
        )
    )
    order = {field: i for i, field in enumerate(FIELDS)}
    result = [
        AccuracyRow(
            month=row["month"].date() if hasattr(row["month"], "date") else row["month"],
            engine=row["engine"],
            field=row["field"],
            checked=row["checked"],
            correct=row["correct"],
            wrong=row["wrong"],
            unread=row["unread"],
        )
        for row in rows
    ]
    result.sort(key=lambda r: (-r.month.toordinal(), r.engine, order.get(r.field, 99)))
    return result
