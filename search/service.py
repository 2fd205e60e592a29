"""The search service: the one entry point the search page, `find` and spot checks use.

It turns who is asking into a division filter inside the query (`archive.access`), parses the
query (`search.query`), asks the backend in force (`search.backends`) and writes the search to
the audit log (who, what, how many hits). A user who may see no records gets no hits, and the
backend is not even asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.utils import timezone

from archive import access
from archive.access.audit import record
from core.divisions import division_prefix
from search.backends import SearchUnavailable, get_backend
from search.query import Dates, Request, Result, parse, validate_filters, validate_sort

__all__ = ["SearchUnavailable", "case_file_rows", "search"]

AUDIT_ACTION = "search"


def _request(
    query: str,
    *,
    user,
    division: str | None,
    filters: dict[str, str] | None,
    today: date | None,
    offset: int = 0,
    limit: int = 20,
    facets: bool = True,
    sort: str = "",
) -> Request | None:
    divisions = []
    if user is not None:
        prefix = access.user_prefix(user)
        if prefix is None:
            return None
        if prefix:
            divisions.append(prefix)
    if division:
        divisions.append(division_prefix(division))
    return Request(
        query=parse(query),
        divisions=divisions,
        filters=validate_filters(filters or {}),
        dates=Dates(today or timezone.localdate()),
        offset=offset,
        limit=limit,
        facets=facets,
        sort=validate_sort(sort),
    )


def search(
    query: str,
    *,
    user=None,
    division: str | None = None,
    filters: dict[str, str] | None = None,
    offset: int = 0,
    limit: int = 20,
    facets: bool = True,
    today: date | None = None,
    request=None,
    audit_action: str = AUDIT_ACTION,
    sort: str = "",
) -> Result:
    """Case files matching ``query`` within the user's jurisdiction (all of them for a system
    administrator or with ``user=None``, as a command run without ``--user``) and ``division``,
    filtered (`search.query.FILTERS`), exact matches first unless ``sort`` (`search.query.SORTS`)
    says otherwise. Raises SearchUnavailable when the engine is down, FilterError / KeyError
    for bad filters or a bad sort."""
    backend = get_backend()
    built = _request(
        query,
        user=user,
        division=division,
        filters=filters,
        today=today,
        offset=offset,
        limit=limit,
        facets=facets,
        sort=sort,
    )
    result = Result(backend.name, 0, [], {}) if built is None else backend.search(built)
    record(
        request,
        audit_action,
        obj_type="search",
        detail=f"检索“{query.strip()}” 筛选 {filters or {}} 区划 {division or '-'} "
        f"命中 {result.total}",
        user=user,
    )
    return result


def case_file_rows(
    query: str,
    *,
    division: str,
    filters: dict[str, str] | None = None,
    user=None,
    today: date | None = None,
) -> Iterator[tuple[int, str, str, str]]:
    """(pk, ID number, county, hukou code) of every case file the search selects, unpaged:
    the population of a spot check is exactly what the search shows."""
    built = _request(query, user=user, division=division, filters=filters, today=today)
    if built is None:
        return iter(())
    return get_backend().case_file_rows(built)
