"""The Elasticsearch backend: two kinds of documents defined with `elasticsearch.dsl`, one
alias per kind (``<SEARCH_INDEX_PREFIX><kind>``) over a dated index, so a rebuild loads a new
index and swaps the alias in one call.

Chinese text (names, addresses, place names, OCR text) is analysed standard → cjk_width →
lowercase → cjk_bigram without unigrams: a phrase of bigrams finds exactly the documents that
contain a query of two or more characters. One character (a surname) is a prefix query on the
name keyword. Numbers are keywords plus their last 4, 5 and 6 characters (`search.records`).
Jurisdiction and every filter are filter clauses inside the query, never applied to results.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from elasticsearch import Elasticsearch, helpers
from elasticsearch import exceptions as es_exceptions
from elasticsearch.dsl import (
    Boolean,
    Date,
    Document,
    Index,
    Integer,
    Keyword,
    Long,
    MetaField,
    Q,
    Search,
    Text,
    analyzer,
    token_filter,
)

from search import analysis
from search.backends import SearchUnavailable
from search.query import (
    COMPLETENESS,
    EXACT_SCORE,
    FLAGS,
    INFIX_MIN_LENGTH,
    MATCH_SCORE,
    NUMBER,
    SUFFIX_LENGTHS,
    SURNAME,
    Hit,
    Request,
    Result,
    Term,
)

CJK_TEXT = analyzer(
    analysis.ANALYZER,
    tokenizer=analysis.TOKENIZER,
    filter=[
        *analysis.FILTERS[:-1],
        token_filter(analysis.BIGRAM_FILTER, **analysis.BIGRAM_FILTER_DEFINITION),
    ],
)
HIGHLIGHT_TAGS = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"]}
FACET_SIZES = {"county": 200, "township": 1000}
#: Errors that mean "the engine is not there" (down, unreachable, timing out).
UNAVAILABLE = (es_exceptions.TransportError,)


#: ``search.query.SORTS`` as the index sorts them (the same keys as the database's orders).
SORTS: dict[str, tuple[dict, ...]] = {
    "relevance": ({"_score": "desc"}, {"id_number": "asc"}, {"county": "asc"}),
    "completeness": ({"completeness": "asc"}, {"id_number": "asc"}, {"county": "asc"}),
    "county": ({"county": "asc"}, {"id_number": "asc"}),
}


class CaseFileDocument(Document):
    """A case file (补贴档案) as the inspector's search sees it."""

    id = Long()
    person_id = Long()
    name = Text(analyzer=CJK_TEXT, fields={"keyword": Keyword()})
    id_number = Keyword()
    numbers = Keyword()
    number_suffixes = Keyword()
    county = Keyword()
    township = Keyword()
    hukou_code = Keyword()
    divisions = Keyword()
    address = Text(analyzer=CJK_TEXT)
    places = Text(analyzer=CJK_TEXT)
    subsidies = Keyword()
    statuses = Keyword()
    enrolments = Keyword()
    category = Integer()
    grade = Integer()
    expiry = Date()
    family_type = Keyword()
    completeness = Integer()
    missing = Keyword()
    flags = Keyword()
    open_findings = Keyword()
    last_review_year = Integer()
    ocr_text = Text(analyzer=CJK_TEXT)
    is_demo = Boolean()

    class Meta:
        dynamic = MetaField("strict")


class ScannedDocument(Document):
    """A filed scan (档案文件): type, 档号 and its parts, OCR text and the fields read."""

    id = Long()
    case_file = Long()
    doc_type = Keyword()
    title = Text(analyzer=CJK_TEXT)
    archival_code = Keyword()
    archival_parts = Keyword()
    ocr_text = Text(analyzer=CJK_TEXT)
    fields = Keyword()
    flags = Keyword()
    county = Keyword()
    divisions = Keyword()

    class Meta:
        dynamic = MetaField("strict")


DOCUMENTS: dict[str, type[Document]] = {
    "case_file": CaseFileDocument,
    "document": ScannedDocument,
}


def alias(kind: str) -> str:
    return f"{settings.SEARCH_INDEX_PREFIX}{kind}"


def index_body(kind: str) -> dict[str, Any]:
    index = Index("unused")
    index.settings(number_of_shards=1, number_of_replicas=0)
    index.document(DOCUMENTS[kind])
    return index.to_dict()


# --- Query clauses ------------------------------------------------------------------------------


def _number(term: Term) -> Q:
    n = term.text
    should = [Q("term", numbers=n), Q("prefix", numbers=n)]
    if len(n) in SUFFIX_LENGTHS:
        should.append(Q("term", number_suffixes=n))
    if len(n) >= INFIX_MIN_LENGTH:  # rare and long: a wildcard on 1 M keywords is ~0.1 s
        should.append(Q("wildcard", numbers={"value": f"*{n}*"}))
    return Q("bool", should=should, minimum_should_match=1)


def _words(text: str) -> Q:
    return Q(
        "bool",
        should=[Q("match_phrase", **{f: text}) for f in ("name", "address", "places", "ocr_text")],
        minimum_should_match=1,
    )


def _term(term: Term) -> Q:
    if term.kind == NUMBER:
        return _number(term)
    if term.kind == SURNAME:
        return Q("prefix", **{"name.keyword": term.text})
    return _words(term.text)


def _flag(name: str, request: Request) -> Q:
    dates = request.dates
    if name == "cert_expired":
        return Q("range", expiry={"lt": dates.today.isoformat()})
    if name == "cert_expiring":
        return Q(
            "range",
            expiry={"gte": dates.today.isoformat(), "lte": dates.expiring_until.isoformat()},
        )
    if name == "not_reviewed":
        return Q(
            "bool",
            should=[
                Q("bool", must_not=[Q("exists", field="last_review_year")]),
                Q("range", last_review_year={"lt": dates.today.year}),
            ],
            minimum_should_match=1,
        )
    return Q("term", flags=name)


def _completeness(value: str) -> Q:
    return {
        "complete": Q("term", completeness=100),
        "incomplete": Q("range", completeness={"lt": 100}),
        "below50": Q("range", completeness={"lt": 50}),
    }[value]


def _filters(request: Request) -> list[Q]:
    f = request.filters
    out = [Q("term", divisions=prefix) for prefix in request.divisions]
    for name in ("county", "township"):
        if f.get(name):
            out.append(Q("term", divisions=f[name]))
    if f.get("subsidy") and f.get("status"):
        out.append(Q("term", enrolments=f"{f['subsidy']}:{f['status']}"))
    elif f.get("subsidy"):
        out.append(Q("term", subsidies=f["subsidy"]))
    elif f.get("status"):
        out.append(Q("term", statuses=f["status"]))
    for name in ("category", "grade"):
        if f.get(name):
            out.append(Q("term", **{name: int(f[name])}))
    if f.get("family_type"):
        out.append(Q("term", family_type=f["family_type"]))
    if f.get("completeness"):
        out.append(_completeness(f["completeness"]))
    if f.get("flag"):
        out.append(_flag(f["flag"], request))
    return out


def _query(request: Request) -> Q:
    exact = []
    if request.query.exact_name:
        exact.append(Q("term", **{"name.keyword": request.query.exact_name}))
    if request.query.numbers:
        exact.append(Q("terms", numbers=list(request.query.numbers)))
    should = (
        [Q("constant_score", filter=Q("bool", should=exact), boost=EXACT_SCORE - MATCH_SCORE)]
        if exact
        else []
    )
    return Q(
        "bool",
        must=[Q("constant_score", filter=Q("match_all"), boost=MATCH_SCORE)],
        filter=[_term(t) for t in request.query.terms] + _filters(request),
        should=should,
    )


def _aggregations(search: Search, request: Request) -> Search:
    for name, field in (
        ("county", "county"),
        ("township", "township"),
        ("subsidy", "subsidies"),
        ("status", "statuses"),
        ("category", "category"),
        ("grade", "grade"),
        ("family_type", "family_type"),
    ):
        search.aggs.bucket(name, "terms", field=field, size=FACET_SIZES.get(name, 20))
    search.aggs.bucket(
        "completeness",
        "filters",
        filters={v: _completeness(v) for v in COMPLETENESS},
    )
    search.aggs.bucket("flag", "filters", filters={v: _flag(v, request) for v in FLAGS})
    return search


def _facets(aggregations) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    for name, agg in aggregations.to_dict().items():
        buckets = agg["buckets"]
        if isinstance(buckets, dict):
            facets[name] = {k: b["doc_count"] for k, b in buckets.items() if b["doc_count"]}
        else:
            facets[name] = {
                str(b["key"]): b["doc_count"] for b in buckets if b["key"] not in ("", None)
            }
    return facets


def _highlight(hit) -> str:
    fragments = getattr(hit.meta, "highlight", None)
    if fragments is None:
        return ""
    for field in ("ocr_text", "address", "places"):
        if field in fragments:
            return " ".join(" ".join(fragments[field][0].split()).split())
    return ""


class ElasticsearchBackend:
    name = "elasticsearch"
    uses_outbox = True

    def __init__(self, client: Elasticsearch):
        self.client = client

    @classmethod
    def for_url(cls, url: str) -> ElasticsearchBackend:
        return cls(_client(url))

    # --- indices ---------------------------------------------------------------------------

    def create_index(self, kind: str, *, loading: bool = False) -> str:
        """Creates a new dated index for ``kind`` and returns its name; ``loading`` switches
        refresh off for a bulk load (`finish_loading` switches it back)."""
        name = f"{alias(kind)}_{datetime.now():%Y%m%d%H%M%S%f}"
        body = index_body(kind)
        if loading:
            body["settings"]["refresh_interval"] = "-1"
        self._call(self.client.indices.create, index=name, **body)
        return name

    def finish_loading(self, name: str) -> None:
        self._call(
            self.client.indices.put_settings, index=name, settings={"refresh_interval": None}
        )
        self._call(self.client.indices.refresh, index=name)

    def current_index(self, kind: str) -> str | None:
        try:
            found = self._call(self.client.indices.get_alias, name=alias(kind))
        except es_exceptions.NotFoundError:
            return None
        return next(iter(found.body), None)

    def leftovers(self, kind: str) -> list[str]:
        """Indices of ``kind`` no alias points at: what a rebuild that died half-way left."""
        found = self._call(
            self.client.indices.get, index=f"{alias(kind)}_*", ignore_unavailable=True
        )
        current = self.current_index(kind)
        return sorted(name for name in found.body if name != current)

    def ensure(self, kind: str) -> str:
        """The index behind the alias, created with the alias on first use.

        The first index has a fixed name (:func:`first_index`) and comes with its alias in one
        request, so two processes ensuring it at once (a search and the worker's first drain)
        make one index: the second is refused as existing and reads the alias. With a dated
        index each, both got the alias and every record was found twice
        (tests/search/test_rebuild.py)."""
        current = self.current_index(kind)
        if current is not None:
            return current
        first = first_index(kind)
        try:
            self._call(
                self.client.indices.create,
                index=first,
                aliases={alias(kind): {}},
                **index_body(kind),
            )
        except es_exceptions.BadRequestError as error:
            if _error_type(error) != "resource_already_exists_exception":
                raise
            # made meanwhile, with its alias; or left without one (then it is given it again)
            self._call(
                self.client.indices.update_aliases,
                actions=[{"add": {"index": first, "alias": alias(kind)}}],
            )
        return self.current_index(kind) or first

    def swap(self, kind: str, new_index: str) -> str | None:
        """Points the alias at ``new_index`` in one call; returns the index it left."""
        old = self.current_index(kind)
        actions: list[dict] = [{"add": {"index": new_index, "alias": alias(kind)}}]
        if old and old != new_index:
            actions.insert(0, {"remove": {"index": old, "alias": alias(kind)}})
        self._call(self.client.indices.update_aliases, actions=actions)
        return old if old != new_index else None

    def drop(self, index: str) -> None:
        self._call(self.client.indices.delete, index=index, ignore_unavailable=True)

    def refresh(self, kind: str) -> None:
        self._call(self.client.indices.refresh, index=self.ensure(kind))

    # --- writing ---------------------------------------------------------------------------

    def actions(
        self, target: str, rows: Iterable[dict[str, Any]], deletes: Iterable[int], versions: dict
    ) -> Iterator[dict[str, Any]]:
        for row in rows:
            yield {
                "_op_type": "index",
                "_index": target,
                "_id": str(row["id"]),
                "version": versions[row["id"]],
                "version_type": "external",
                "_source": row,
            }
        for pk in deletes:
            yield {
                "_op_type": "delete",
                "_index": target,
                "_id": str(pk),
                "version": versions[pk],
                "version_type": "external",
            }

    def write(
        self,
        kind: str,
        rows: Iterable[dict[str, Any]],
        deletes: Iterable[int],
        versions: dict,
        *,
        target: str | None = None,
    ) -> None:
        target = target or self.ensure(kind)
        self.bulk(self.actions(target, rows, deletes, versions))

    def bulk(self, actions: Iterable[dict[str, Any]], chunk_size: int = 500) -> int:
        """Sends the actions in bulk requests; a version conflict (an older write arriving
        late) and a delete of something absent are expected and ignored. Returns how many
        were applied."""
        applied = 0
        try:
            for ok, item in helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=chunk_size,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=2,
            ):
                if ok:
                    applied += 1
                    continue
                outcome = next(iter(item.values()))
                if outcome.get("status") not in (404, 409):
                    raise RuntimeError(f"Elasticsearch rejected a document: {outcome}")
        except UNAVAILABLE as error:
            raise SearchUnavailable(str(error)) from error
        return applied

    def count(self, kind: str) -> int | None:
        if self.current_index(kind) is None:
            return 0
        return self._call(self.client.count, index=alias(kind))["count"]

    # --- searching -------------------------------------------------------------------------

    def _search(self, request: Request) -> Search:
        self.ensure("case_file")
        return Search(using=self.client, index=alias("case_file")).query(_query(request))

    def search(self, request: Request) -> Result:
        search = (
            self._search(request)
            .sort(*SORTS[request.sort])
            .extra(track_scores=True, track_total_hits=True)
            .source(["id", "id_number", "name", "county", "township", "completeness"])
        )
        words = [t.text for t in request.query.terms if t.kind not in (NUMBER, SURNAME)]
        if words:
            search = search.highlight_options(
                number_of_fragments=1,
                fragment_size=90,
                encoder="html",
                highlight_query=Q(
                    "bool",
                    should=[
                        Q("match_phrase", **{f: w})
                        for w in words
                        for f in ("ocr_text", "address", "places")
                    ],
                ).to_dict(),
                **HIGHLIGHT_TAGS,
            ).highlight("ocr_text", "address", "places")
        if request.facets:
            search = _aggregations(search, request)
        search = search[request.offset : request.offset + request.limit]
        response = self._call(search.execute)
        hits = [
            Hit(
                case_file=int(h.id),
                id_number=h.id_number,
                name=h.name,
                county=h.county,
                township=h.township or "",
                score=float(h.meta.score),
                highlight=_highlight(h),
                extra={"completeness": h.completeness},
            )
            for h in response
        ]
        facets = _facets(response.aggregations) if request.facets else {}
        return Result(self.name, response.hits.total.value, hits, facets)

    def case_file_rows(self, request: Request) -> Iterator[tuple[int, str, str, str]]:
        search = self._search(request).source(["id", "id_number", "county", "hukou_code"])
        try:
            for hit in search.params(size=2000).scan():
                yield int(hit.id), hit.id_number, hit.county, hit.hukou_code
        except UNAVAILABLE as error:
            raise SearchUnavailable(str(error)) from error

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except UNAVAILABLE as error:
            raise SearchUnavailable(str(error)) from error


def first_index(kind: str) -> str:
    """The name of the index :meth:`ElasticsearchBackend.ensure` makes for ``kind`` when
    there is none; a rebuild's indices are dated instead."""
    return f"{alias(kind)}_first"


def _error_type(error: es_exceptions.ApiError) -> str | None:
    body = error.body if isinstance(error.body, dict) else {}
    return (body.get("error") or {}).get("type")


@cache
def _client(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=10, max_retries=1, retry_on_timeout=False)
