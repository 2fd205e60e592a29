"""What the search index holds for a case file (补贴档案) and a scanned document (档案文件), read
from the database in batches.

Both backends answer from the same facts: the Elasticsearch backend indexes these rows; the
database backend queries the same tables with the same definitions (township, division
ancestors, numbers, flags), so the two give the same hits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from archive.models import CaseFile, Division, Document, DocumentVersion
from core.codes import VERIFIED_ACTIONS
from core.divisions import covering_codes, division_prefix, township_of, village_of
from core.numbers import normalize_id
from review.models import ComparisonRun, Finding

#: The document type whose date says when a case was last reviewed (年度复核记录).
REVIEW_RECORD = "review_record"
#: Findings that wait for a verification (核查) while no verdict in force exists.
#: How much OCR text of one case file is indexed (the rest is still in the document index).
OCR_TEXT_LIMIT = 200_000


def division_ancestors(county_code: str, hukou_code: str) -> list[str]:
    """The significant prefixes of every division a case file lies in: province, city,
    county, and the township and village of the person's hukou when they lie in the county.
    A jurisdiction or division filter is then one term on this list."""
    codes = covering_codes(county_code)
    township = township_of(hukou_code, county_code)
    if township:
        codes += [township, village_of(hukou_code)]
    return sorted({division_prefix(code) for code in codes if code})


def _township_and_village(code: str) -> tuple[str, ...]:
    """The township and, for a village code, the village of a hukou code (either may be
    absent), in that order."""
    return tuple(c for c in dict.fromkeys((township_of(code), village_of(code))) if c)


def number_suffixes(numbers: Iterable[str]) -> list[str]:
    """The last 4, 5 and 6 characters of each number (normalised), for suffix look-ups."""
    out: set[str] = set()
    for raw in numbers:
        number = normalize_id(raw)
        for n in (4, 5, 6):
            if len(number) > n:
                out.add(number[-n:])
    return sorted(out)


def place_names(hukou_code: str, names: dict[str, str]) -> str:
    """Names of the hukou township and village (e.g. 东王庄村), which addresses often omit."""
    return " ".join(names[c] for c in _township_and_village(hukou_code) if c in names)


def _division_names(codes: Iterable[str]) -> dict[str, str]:
    return Division.objects.names(c for code in codes for c in _township_and_village(code))


def case_file_rows(ids: Iterable[int]) -> Iterator[dict[str, Any]]:
    """The index rows of the given case files (missing ids are skipped), in a fixed number of
    queries per batch whatever its size."""
    files = list(
        CaseFile.objects.filter(pk__in=list(ids))
        .select_related("person")
        .prefetch_related(
            "person__certificates", "person__family_statuses", "person__enrolments", "person__flags"
        )
        .order_by("pk")
    )
    if not files:
        return
    person_ids = {f.person_id for f in files}
    names = _division_names(f.person.hukou_code for f in files)
    findings = _open_findings(person_ids)
    docs = defaultdict(list)
    for row in (
        Document.objects.filter(case_file__in=files, deleted_at__isnull=True)
        .select_related("current")
        .order_by("pk")
    ):
        docs[row.case_file_id].append(row)
    for case_file in files:
        yield _case_file_row(case_file, names, findings, docs[case_file.pk])


def _open_findings(person_ids: set[int]) -> dict[tuple[int, str], set[str]]:
    rows = (
        open_findings()
        .filter(person_id__in=person_ids)
        .values_list("person_id", "county_id", "code")
    )
    out: dict[tuple[int, str], set[str]] = defaultdict(set)
    for person_id, county_id, code in rows:
        out[(person_id, county_id)].add(code)
    return out


def _case_file_row(
    case_file: CaseFile, names: dict[str, str], findings: dict, documents: list[Document]
) -> dict[str, Any]:
    person = case_file.person
    county = case_file.county_id
    enrolments = [e for e in person.enrolments.all() if e.county_id == county]
    certificate = person.current_certificate
    family = person.current_family_status
    numbers = [person.id_number] + [normalize_id(c.number) for c in person.certificates.all()]
    open_codes = findings.get((person.pk, county), set())
    versions = [d.current for d in documents if d.current is not None]
    ocr_text = "\n".join(v.ocr_text for v in versions if v.ocr_text)[:OCR_TEXT_LIMIT]
    reviewed = [d.doc_date.year for d in documents if d.doc_type == REVIEW_RECORD and d.doc_date]
    flags = []
    if open_codes:
        flags.append("open_finding")
    if any(v.ocr_status == DocumentVersion.Ocr.FAILED for v in versions):
        flags.append("ocr_failed")
    if certificate is None:
        flags.append("no_certificate")
    if any(flag.cleared_at is None for flag in person.flags.all()):
        flags.append("data_flag")
    return {
        "id": case_file.pk,
        "person_id": person.pk,
        "name": person.name,
        "id_number": person.id_number,
        "numbers": sorted(set(numbers)),
        "number_suffixes": number_suffixes(numbers),
        "county": county,
        "township": township_of(person.hukou_code, county),
        "hukou_code": person.hukou_code,
        "divisions": division_ancestors(county, person.hukou_code),
        "address": person.hukou_address,
        "places": place_names(person.hukou_code, names),
        "subsidies": sorted({e.subsidy for e in enrolments}),
        "statuses": sorted({e.status for e in enrolments}),
        "enrolments": sorted({f"{e.subsidy}:{e.status}" for e in enrolments}),
        "category": certificate.category if certificate else None,
        "grade": certificate.grade if certificate else None,
        "expiry": certificate.expiry_date.isoformat()
        if certificate and certificate.expiry_date and not certificate.long_term
        else None,
        "family_type": family.family_type if family else None,
        "completeness": case_file.completeness,
        "missing": case_file.missing_codes,
        "flags": flags,
        "open_findings": sorted(open_codes),
        "last_review_year": max(reviewed, default=None),
        "ocr_text": ocr_text,
        "is_demo": person.is_demo,
    }


def document_rows(ids: Iterable[int]) -> Iterator[dict[str, Any]]:
    """The index rows of the given filed, live documents (others are skipped: they leave the
    index)."""
    documents = (
        Document.objects.filter(pk__in=list(ids), case_file__isnull=False, deleted_at__isnull=True)
        .select_related("current", "case_file__person")
        .order_by("pk")
    )
    for document in documents:
        version = document.current
        person = document.case_file.person
        fields = (version.ocr_fields or {}).get("fields", {}) if version else {}
        code = document.archival_code or ""
        yield {
            "id": document.pk,
            "case_file": document.case_file_id,
            "doc_type": document.doc_type,
            "title": document.title,
            "archival_code": code,
            "archival_parts": [part for part in code.replace("·", "-").split("-") if part],
            "ocr_text": (version.ocr_text if version else "")[:OCR_TEXT_LIMIT],
            "fields": sorted(f"{k}:{v}" for k, v in fields.items() if v not in (None, "")),
            "flags": ["ocr_failed"]
            if version and version.ocr_status == DocumentVersion.Ocr.FAILED
            else [],
            "county": document.case_file.county_id,
            "divisions": division_ancestors(document.case_file.county_id, person.hukou_code),
        }


def case_files_of_people(person_ids: Iterable[int] | QuerySet) -> list[int]:
    """The case files of these people; a queryset of their ids stays a subquery (a run's
    findings concern a province's worth of people)."""
    people = person_ids if isinstance(person_ids, QuerySet) else list(person_ids)
    return list(CaseFile.objects.filter(person_id__in=people).values_list("pk", flat=True))


def case_file_ids(after: int, limit: int) -> list[int]:
    """Keyset pagination for a rebuild: the next ``limit`` ids above ``after``."""
    return list(
        CaseFile.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:limit]
    )


def document_ids(after: int, limit: int) -> list[int]:
    return list(
        indexed_documents().filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:limit]
    )


def indexed_documents():
    """The documents the index holds: filed into a case file and not withdrawn."""
    return Document.objects.filter(case_file__isnull=False, deleted_at__isnull=True)


def open_findings() -> QuerySet[Finding]:
    """Findings that wait for a verification (停发/暂停 without a verdict, own or carried from
    an earlier run: ``FindingQuerySet.with_status``) and belong to the latest finished run of
    their division (a later run that no longer finds the problem resolves it)."""
    newer = ComparisonRun.objects.filter(
        division_id=OuterRef("run__division_id"),
        status=ComparisonRun.Status.FINISHED,
        as_of__gte=OuterRef("run__as_of"),
        pk__gt=OuterRef("run_id"),
    )
    return (
        Finding.objects.filter(
            action__in=VERIFIED_ACTIONS, run__status=ComparisonRun.Status.FINISHED
        )
        .with_status()
        .filter(verdict__isnull=True)
        .exclude(Exists(newer))
    )


def open_finding_filter() -> Q:
    """The database twin of the ``open_finding`` flag, on CaseFile."""
    return Q(
        Exists(
            open_findings().filter(person_id=OuterRef("person_id"), county_id=OuterRef("county_id"))
        )
    )
