"""The embedded search backend: the same questions asked of the database tables directly.

No index, nothing to sync: every answer reads the current rows. The matching rules are those of
`search.query` and the facts those of `search.records`, expressed as ORM filters that run on
SQLite and PostgreSQL alike, so the hits equal the Elasticsearch backend's for names, numbers
and phrases. Slower on large data; the facets are counted in one statement (see ``_facets``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from functools import reduce
from html import escape
from operator import and_, or_
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import ExtractYear, Substr

from archive.models import (
    CaseFile,
    Certificate,
    DataFlag,
    Division,
    Document,
    DocumentVersion,
    Enrolment,
    FamilyStatus,
)
from core.divisions import county_of, township_of
from search import records
from search.query import (
    COMPLETENESS,
    EXACT_SCORE,
    FLAGS,
    INFIX_MIN_LENGTH,
    MATCH_SCORE,
    NUMBER,
    STATUSES,
    SUBSIDIES,
    SUFFIX_LENGTHS,
    SURNAME,
    Hit,
    Request,
    Result,
    Term,
)

#: The facets counted by grouping the hits on a field (the township too, from ``hukou_town``).
FACET_FIELDS = {
    "county": "county_id",
    "category": "category",
    "grade": "grade",
    "family_type": "family_type",
}
GROUPED = (*FACET_FIELDS.values(), "hukou_town")
#: Up to this many hits, their ids are read first and the page and facets look up only those:
#: PostgreSQL expects a name or phrase to match most rows, so under ``LIMIT`` it walks every
#: person in sort order, testing each, rather than finding the few hits and sorting them.
FEW_HITS = 1000
SNIPPET_CONTEXT = 30


def _current_certificate(field: str) -> Subquery:
    return Subquery(
        Certificate.objects.filter(person_id=OuterRef("person_id"), is_current=True).values(field)[
            :1
        ]
    )


def _annotated() -> QuerySet:
    family = FamilyStatus.objects.filter(person_id=OuterRef("person_id"), end_date__isnull=True)
    reviews = (
        Document.objects.filter(
            case_file_id=OuterRef("pk"),
            deleted_at__isnull=True,
            doc_type=records.REVIEW_RECORD,
            doc_date__isnull=False,
        )
        .order_by("-doc_date")
        .annotate(year=ExtractYear("doc_date"))
        .values("year")[:1]
    )
    expiry = Certificate.objects.filter(
        person_id=OuterRef("person_id"), is_current=True, long_term=False
    ).values("expiry_date")[:1]
    return CaseFile.objects.select_related("person").annotate(
        category=_current_certificate("category"),
        grade=_current_certificate("grade"),
        family_type=Subquery(family.values("family_type")[:1]),
        expiry=Subquery(expiry),
        last_review_year=Subquery(reviews),
        hukou_town=Substr("person__hukou_code", 1, 9),
    )


def _number(term: Term) -> Q:
    n = term.text
    certificates = Certificate.objects.filter(person_id=OuterRef("person_id"))

    def match(field: str) -> Q:
        q = Q(**{field: n}) | Q(**{f"{field}__startswith": n})
        if len(n) in SUFFIX_LENGTHS:
            q |= Q(**{f"{field}__endswith": n})
        if len(n) >= INFIX_MIN_LENGTH:
            q |= Q(**{f"{field}__contains": n})
        return q

    return match("person__id_number") | Q(Exists(certificates.filter(match("number"))))


def _words(text: str) -> Q:
    named = Division.objects.filter(name__icontains=text)
    towns = named.filter(level=Division.Level.TOWNSHIP).values("code")
    villages = named.filter(level=Division.Level.VILLAGE).values("code")
    ocr = DocumentVersion.objects.filter(
        document__case_file_id=OuterRef("pk"),
        document__deleted_at__isnull=True,
        document__current_id=F("pk"),
        ocr_text__icontains=text,
    )
    return (
        Q(person__name__icontains=text)
        | Q(person__hukou_address__icontains=text)
        | Q(hukou_town__in=Subquery(towns))
        | Q(person__hukou_code__in=Subquery(villages))
        | Q(Exists(ocr))
    )


def _term(term: Term) -> Q:
    if term.kind == NUMBER:
        return _number(term)
    if term.kind == SURNAME:
        return Q(person__name__startswith=term.text)
    return _words(term.text)


def _division(prefix: str) -> Q:
    if len(prefix) <= 6:
        return Q(county__code__startswith=prefix)
    return Q(county_id=county_of(prefix), person__hukou_code__startswith=prefix)


def _enrolments(**lookup: str) -> Q:
    return Q(
        Exists(
            Enrolment.objects.filter(
                person_id=OuterRef("person_id"), county_id=OuterRef("county_id"), **lookup
            )
        )
    )


def _flag(name: str, request: Request) -> Q:
    dates = request.dates
    if name == "open_finding":
        return records.open_finding_filter()
    if name == "ocr_failed":
        return Q(
            Exists(
                Document.objects.filter(
                    case_file_id=OuterRef("pk"),
                    deleted_at__isnull=True,
                    current__ocr_status=DocumentVersion.Ocr.FAILED,
                )
            )
        )
    if name == "no_certificate":
        return Q(category__isnull=True)
    if name == "data_flag":
        return Q(Exists(DataFlag.objects.open().filter(person_id=OuterRef("person_id"))))
    if name == "cert_expired":
        return Q(expiry__lt=dates.today)
    if name == "cert_expiring":
        return Q(expiry__gte=dates.today, expiry__lte=dates.expiring_until)
    return Q(last_review_year__isnull=True) | Q(last_review_year__lt=dates.today.year)


def _completeness(value: str) -> Q:
    return {
        "complete": Q(completeness=100),
        "incomplete": Q(completeness__lt=100),
        "below50": Q(completeness__lt=50),
    }[value]


def _filters(request: Request) -> list[Q]:
    f = request.filters
    out = [_division(prefix) for prefix in request.divisions]
    if f.get("county"):
        out.append(_division(f["county"]))
    if f.get("township"):
        out.append(_division(f["township"]))
    enrolment = {
        k: f[name] for name, k in (("subsidy", "subsidy"), ("status", "status")) if f.get(name)
    }
    if enrolment:
        out.append(_enrolments(**enrolment))
    for name in ("category", "grade"):
        if f.get(name):
            out.append(Q(**{name: int(f[name])}))
    if f.get("family_type"):
        out.append(Q(family_type=f["family_type"]))
    if f.get("completeness"):
        out.append(_completeness(f["completeness"]))
    if f.get("flag"):
        out.append(_flag(f["flag"], request))
    return out


def _exact(request: Request) -> Q:
    query = request.query
    q = Q(person__name=query.exact_name) if query.exact_name else Q(pk__in=[])
    for number in query.numbers:
        certificates = Certificate.objects.filter(person_id=OuterRef("person_id"), number=number)
        q |= Q(person__id_number=number) | Q(Exists(certificates))
    return q


#: ``search.query.SORTS`` as the database orders them (the same keys as the index's sorts).
ORDERS: dict[str, tuple[str, ...]] = {
    "relevance": ("-score", "person__id_number", "county_id"),
    "completeness": ("completeness", "person__id_number", "county_id"),
    "county": ("county_id", "person__id_number"),
}


class DatabaseBackend:
    name = "database"
    uses_outbox = False

    def matching(self, request: Request) -> QuerySet:
        conditions = [_term(t) for t in request.query.terms] + _filters(request)
        files = _annotated()
        if conditions:
            files = files.filter(reduce(and_, conditions))
        return files

    def search(self, request: Request) -> Result:
        files = self.matching(request)
        ids = list(files.order_by().values_list("pk", flat=True)[: FEW_HITS + 1])
        if len(ids) <= FEW_HITS:
            total, files = len(ids), _annotated().filter(pk__in=ids)
        else:
            total = files.count()
        ranked = files.annotate(
            score=Case(
                When(_exact(request), then=Value(EXACT_SCORE)),
                default=Value(MATCH_SCORE),
                output_field=FloatField(),
            )
        ).order_by(*ORDERS[request.sort])
        page = list(ranked[request.offset : request.offset + request.limit])
        snippets = self._snippets(page, request)
        hits = [
            Hit(
                case_file=f.pk,
                id_number=f.person.id_number,
                name=f.person.name,
                county=f.county_id,
                township=township_of(f.person.hukou_code, f.county_id),
                score=f.score,
                highlight=snippets.get(f.pk, ""),
                extra={"completeness": f.completeness},
            )
            for f in page
        ]
        facets = self._facets(files, request) if request.facets else {}
        return Result(self.name, total, hits, facets)

    def case_file_rows(self, request: Request) -> Iterator[tuple[int, str, str, str]]:
        rows = self.matching(request).values_list(
            "pk", "person__id_number", "county_id", "person__hukou_code"
        )
        return rows.order_by().iterator(chunk_size=5000)

    def write(
        self, kind: str, rows: Iterable[dict[str, Any]], deletes: Iterable[int], versions: dict
    ) -> None:
        """Nothing to write: the tables are the index."""

    def count(self, kind: str) -> int:
        return (
            CaseFile.objects.count() if kind == "case_file" else records.indexed_documents().count()
        )

    def _snippets(self, page: list[CaseFile], request: Request) -> dict[int, str]:
        words = [t.text for t in request.query.terms if t.kind not in (NUMBER, SURNAME)]
        if not words or not page:
            return {}
        out: dict[int, str] = {}
        for case_file_id, text in (
            DocumentVersion.objects.filter(
                reduce(or_, [Q(ocr_text__icontains=w) for w in words]),
                document__case_file__in=page,
                document__deleted_at__isnull=True,
                document__current_id=F("pk"),
            )
            .order_by("document_id")
            .values_list("document__case_file_id", "ocr_text")
        ):
            if case_file_id not in out:
                out[case_file_id] = snippet(text, words)
        for case_file in page:  # no OCR match: the address, as Elasticsearch highlights it
            if case_file.pk not in out:
                out[case_file.pk] = snippet(case_file.person.hukou_address, words)
        return out

    def _facets(self, files: QuerySet, request: Request) -> dict[str, dict[str, int]]:
        """Every facet in one statement: the hits grouped by the bucketed facets' values (the
        township as the first nine digits of the hukou code), each group counting its hits and,
        conditionally, those in each fixed bucket; Python then adds the groups up per facet."""
        fixed = [
            *(("subsidy", v, _enrolments(subsidy=v)) for v in SUBSIDIES),
            *(("status", v, _enrolments(status=v)) for v in STATUSES),
            *(("completeness", v, _completeness(v)) for v in COMPLETENESS),
            *(("flag", v, _flag(v, request)) for v in FLAGS),
        ]
        rows = (
            files.order_by()
            .values(*GROUPED)
            .annotate(
                n=Count("pk"),
                **{f"bucket{i}": Count("pk", filter=q) for i, (_, _, q) in enumerate(fixed)},
            )
        )
        names = (*FACET_FIELDS, "township", *(name for name, _, _ in fixed))
        facets: dict[str, Counter] = {name: Counter() for name in names}
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Its many expressions push the statement over the JIT thresholds: compiling
                # took 2 s at 100 000 case files, the counting itself 0.2 s.
                cursor.execute("SET LOCAL jit = off")
            grouped = list(rows)
        for row in grouped:
            for name, field in FACET_FIELDS.items():
                if row[field] not in (None, ""):
                    facets[name][str(row[field])] += row["n"]
            town = township_of(row["hukou_town"], row["county_id"])
            if town:
                facets["township"][town] += row["n"]
            for i, (name, value, _) in enumerate(fixed):
                facets[name][value] += row[f"bucket{i}"]
        return {name: {k: n for k, n in counts.items() if n} for name, counts in facets.items()}


def snippet(text: str, words: list[str]) -> str:
    """A short piece of ``text`` around the first of ``words`` it contains, each occurrence of
    a word wrapped in <mark>…</mark> and everything else HTML-escaped (as Elasticsearch's
    highlighter with the html encoder does)."""
    lower = text.lower()
    found = [(lower.find(w), w) for w in words if lower.find(w) >= 0]
    if not found:
        return ""
    at, _ = min(found)
    start, end = max(0, at - SNIPPET_CONTEXT), min(len(text), at + SNIPPET_CONTEXT * 2)
    piece = _mark(" ".join(text[start:end].split()), [w for _, w in found])
    return ("…" if start else "") + piece + ("…" if end < len(text) else "")


def _mark(piece: str, words: list[str]) -> str:
    """HTML: the piece escaped, each occurrence of a word wrapped in <mark>."""
    lower, out, i = piece.lower(), [], 0
    while True:
        found = [(j, w) for w in words if (j := lower.find(w, i)) >= 0]
        if not found:
            break
        j, word = min(found, key=lambda f: (f[0], -len(f[1])))
        out.append(escape(piece[i:j]) + "<mark>" + escape(piece[j : j + len(word)]) + "</mark>")
        i = j + len(word)
    out.append(escape(piece[i:]))
    return "".join(out)
