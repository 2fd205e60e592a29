"""Helpers for the OCR 核对 tests: documents uploaded through the real ingest path whose OCR
result is applied by `archive.documents.ocr_results.keep`, as the worker does after the pipeline."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import date

from archive.documents import ingest, ocr_results
from archive.documents.ingest import Target, inbox_target
from archive.models import Certificate, Document, Person
from tests.archive.documents import samples


@dataclass
class Page:
    """What `ocr.pipeline.PageResult` gives `ocr_results.keep` (the fields it reads)."""

    page: int
    doc_type: str
    confidence: float
    fields: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    text: str = ""
    boxes: dict = field(default_factory=dict)
    size: tuple = (600, 400)


def certify(person: Person, category: int = 4, grade: int = 2) -> Certificate:
    return Certificate.objects.create(
        person=person,
        number=f"{person.id_number}{category}{grade}",
        stem=f"{person.id_number}{category}{grade}",
        category=category,
        grade=grade,
        expiry_date=date(2031, 5, 1),
    )


def certificate_fields(person: Person, category: int = 4, grade: int = 2, **changes) -> dict:
    fields = {
        "certificate_number": f"{person.id_number}{category}{grade}",
        "id_number": person.id_number,
        "name": person.name,
        "category": category,
        "grade": grade,
        "valid_until": "2031-05-01",
    }
    return {**fields, **changes}


def scanned(user, case_file=None, *, seed: int = 1, pages: list[Page] | None = None) -> Document:
    """A scan uploaded to a case file (untyped) or the user's inbox, with OCR applied."""
    target = Target(case_file, "") if case_file is not None else inbox_target(user)
    [outcome] = ingest.ingest_stream(
        io.BytesIO(samples.jpeg(seed, size=(600, 400))), f"扫描{seed}.jpg", target, user
    )
    document = Document.objects.get(pk=outcome.document_id)
    ocr_results.keep(document.current_id, pages or [Page(1, "other", 0.3)])
    return Document.objects.select_related("current", "case_file__person").get(pk=document.pk)


_SERIALS = itertools.count(1)


def document_row(
    county: str,
    ocr_status: str,
    *,
    case_file=None,
    doc_type: str = "",
    reasons: str = "",
) -> Document:
    """A document whose current version has the OCR state given, written as rows only (no
    file on disk, no OCR message sent): what choosing documents by their OCR state needs."""
    from archive.models import DocumentVersion, StoredFile

    serial = next(_SERIALS)
    blob = StoredFile.objects.create(sha256=f"{serial:064x}", size=1, kind="jpeg", page_count=1)
    document = Document.objects.create(
        county_id=county, case_file=case_file, doc_type=doc_type if case_file else ""
    )
    if case_file is None and doc_type:
        document.proposed_type = doc_type
    document.current = DocumentVersion.objects.create(
        document=document,
        number=1,
        blob=blob,
        original_name=f"扫描{serial}.jpg",
        ocr_status=ocr_status,
        ocr_reasons=f",{reasons}," if reasons else "",
    )
    document.save()
    return document
