"""The inspector's search page (检索) in the Wagtail admin: one query box, facets with counts,
highlighted OCR snippets, pages of hits that open the case file.

Thin over `search.service` (jurisdiction inside the query, the search audited). ID numbers
are masked as in every list. With Elasticsearch down the page says so and the rest of the
admin keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from archive.access import permissions as perms
from archive.access.audit import record
from archive.access.guards import guarded
from archive.job_views import submit_and_follow
from archive.models import Division
from archive.paging import PAGE_PARAM, paginate, query_without_page
from core.numbers import mask_id
from jobs.models import Job
from search import rebuild, saved, service
from search.jobs import SEARCH_EXPORT, SEARCH_REBUILD
from search.models import OutboxEntry, SavedSearch
from search.query import FILTERS, SORTS, FilterError, Hit, validate_filters

PAGE_SIZE = 20
#: The filters a spot check drawn from this search carries over (inspection.population).
SPOT_CHECK_FILTERS = ("subsidy", "status", "township", "completeness")
PERMISSION = perms.SEARCH_RECORDS
#: Facets in the order shown, with the filter each one sets.
FACETS = (
    "county",
    "township",
    "subsidy",
    "status",
    "category",
    "grade",
    "family_type",
    "completeness",
    "flag",
)


class LazyHits(Sequence):
    """The hits as a sequence the paginator can count and slice: the requested page comes
    from the first search; another page (a page number out of range) is fetched."""

    def __init__(self, total: int, offset: int, hits: list[Hit], fetch: Callable[[int], list[Hit]]):
        self.total, self.offset, self.hits, self.fetch = total, offset, hits, fetch

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start = index.start or 0
        return self.hits if start == self.offset else self.fetch(start)


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get(PAGE_PARAM, "1")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _facet_rows(request: HttpRequest, facets: dict, filters: dict) -> list[dict]:
    codes = [c for name in ("county", "township") for c in facets.get(name, {})]
    names = Division.objects.names(codes)
    rows = []
    for name in FACETS:
        counts = facets.get(name) or {}
        if not counts:
            continue
        spec = FILTERS[name]
        options = []
        for value, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            label = (spec.values or {}).get(value) or names.get(value) or value
            chosen = filters.get(name) == value
            query = request.GET.copy()
            query.pop(PAGE_PARAM, None)
            if chosen:
                query.pop(name, None)
            else:
                query[name] = value
            options.append(
                {"label": label, "count": n, "chosen": chosen, "url": "?" + query.urlencode()}
            )
        rows.append({"label": spec.label, "options": options})
    return rows


def _row(hit: Hit, names: dict[str, str]) -> dict:
    return {
        "case_file": hit.case_file,
        "name": hit.name,
        "id_number": mask_id(hit.id_number),
        "county": names.get(hit.county, hit.county),
        "township": names.get(hit.township, "") if hit.township else "",
        "completeness": hit.extra.get("completeness"),
        "exact": hit.score >= 10,
        # HTML from the backends: text escaped, only <mark> added (search.backends)
        "highlight": mark_safe(hit.highlight),  # noqa: S308
    }


@guarded(PERMISSION)
def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    filters = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    sort = request.GET.get("sort", "")
    context: dict = {
        "query": query,
        "filters": filters,
        "sort": sort,
        "sorts": SORTS.items(),
        "error": "",
        "page": None,
        "facets": [],
        "saved": [
            {"search": s, "url": "?" + saved.query_string(s)}
            for s in SavedSearch.objects.filter(user=request.user)
        ],
    }
    if request.GET.get("format") == "xlsx":
        return _export(request, query, filters, context)
    offset = (_page_number(request) - 1) * PAGE_SIZE

    def run(start: int, facets: bool):
        return service.search(
            query,
            user=request.user,
            filters=filters,
            offset=start,
            limit=PAGE_SIZE,
            facets=facets,
            request=request,
            sort=sort,
        )

    try:
        result = run(offset, True)
        items = LazyHits(result.total, offset, result.hits, lambda start: run(start, False).hits)
        page = paginate(request, items, PAGE_SIZE)
    except FilterError as error:
        context["error"] = str(error)
        return TemplateResponse(request, "search/search.html", context)
    except service.SearchUnavailable as error:
        context["error"] = error.message
        return TemplateResponse(request, "search/search.html", context, status=503)
    hits = list(page.object_list)
    codes = {h.county for h in hits} | {h.township for h in hits if h.township}
    names = Division.objects.names(codes)
    context.update(
        page=page,
        total=result.total,
        rows=[_row(h, names) for h in hits],
        facets=_facet_rows(request, result.facets, filters),
        paging_query=query_without_page(request),
        clear_url="?" + urlencode({"q": query}) if query else "?",
        can_spot_check=request.user.has_perm(perms.ADD_SPOT_CHECK),
        export_query=urlencode({"q": query, **filters, "format": "xlsx"}),
        spot_check_query=urlencode(
            {"query": query, **{k: v for k, v in filters.items() if k in SPOT_CHECK_FILTERS}}
        ),
    )
    return TemplateResponse(request, "search/search.html", context)


def _export(request: HttpRequest, query: str, filters: dict, context: dict) -> HttpResponse:
    """Every hit (not only this page) to XLSX, as a background job (search/jobs.py)."""
    try:
        validate_filters(filters)
    except FilterError as error:
        context["error"] = str(error)
        return TemplateResponse(request, "search/search.html", context)
    record(
        request,
        "export",
        obj_type="search",
        detail=f"导出检索结果“{query}” 筛选 {filters or {}}",
    )
    return submit_and_follow(request, SEARCH_EXPORT, query=query, filters=filters)


@require_POST
@guarded(PERMISSION)
def save_search(request: HttpRequest) -> HttpResponse:
    """Keeps the search the page shows under a name (常用检索), then shows it again."""
    query = request.POST.get("q", "")
    filters = {name: request.POST[name] for name in FILTERS if request.POST.get(name)}
    back = reverse("search_records") + "?" + urlencode({"q": query, **filters})
    try:
        kept, created = saved.save(request.user, request.POST.get("name", ""), query, filters)
    except saved.SavedSearchError as error:
        messages.error(request, f"未保存：{error}")
        return redirect(back)
    record(
        request,
        "save_search",
        obj_type="search.SavedSearch",
        obj_id=str(kept.pk),
        detail=f"保存常用检索“{kept.name}”：“{kept.query}” 筛选 {kept.filters or {}}",
    )
    messages.success(request, f"已{'保存' if created else '更新'}常用检索“{kept.name}”。")
    return redirect(back)


@require_POST
@guarded(PERMISSION)
def delete_saved_search(request: HttpRequest, pk: int) -> HttpResponse:
    kept = SavedSearch.objects.filter(user=request.user, pk=pk).first()
    if kept is None:
        raise Http404("没有这个常用检索")
    record(
        request,
        "delete_saved_search",
        obj_type="search.SavedSearch",
        obj_id=str(kept.pk),
        detail=f"删除常用检索“{kept.name}”",
    )
    kept.delete()
    messages.success(request, f"已删除常用检索“{kept.name}”。")
    return redirect("search_records")


@guarded(perms.MANAGE_SEARCH_INDEX)
def index_page(request: HttpRequest) -> HttpResponse:
    """The index beside the database (检索索引): counts per kind, and a rebuild as a job."""
    running = Job.objects.filter(
        kind=SEARCH_REBUILD, state__in=(Job.State.QUEUED, Job.State.RUNNING)
    ).first()
    if request.method == "POST":
        if running is not None:
            messages.error(request, "已有一次重建正在进行，请等待其完成。")
            return redirect("search_index")
        record(request, "search_rebuild", obj_type="search", detail="重建检索索引")
        return submit_and_follow(request, SEARCH_REBUILD)
    context: dict = {"running": running, "error": "", "rows": [], "backend": ""}
    try:
        report = rebuild.status()
    except service.SearchUnavailable as error:
        context["error"] = error.message
        return TemplateResponse(request, "search/index.html", context, status=503)
    context["backend"] = report["backend"]
    context["rows"] = [
        {"label": OutboxEntry.Kind(kind).label, **counts}
        for kind, counts in report["kinds"].items()
    ]
    context["recent"] = Job.objects.filter(kind=SEARCH_REBUILD).order_by("-pk")[:5]
    return TemplateResponse(request, "search/index.html", context)


urlpatterns = [
    path("", search_page, name="search_records"),
    path("index/", index_page, name="search_index"),
    path("saved/", save_search, name="search_save"),
    path("saved/<int:pk>/delete/", delete_saved_search, name="search_saved_delete"),
]
