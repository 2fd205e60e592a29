"""The population of a spot check (抽查总体): which case files a query and filters select.

This is the one function the draw depends on (`select`). It asks the search service
(`search.service.case_file_rows`), so a spot check draws from exactly what the inspector's
search shows, on either backend. Whatever the source, the draw itself only sees (case key,
township) pairs, so the sample does not depend on the backend (docs/inspection.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from archive.models import Division
from core.divisions import township_of
from inspection.sampling import case_key
from search import query as search_query
from search.query import FilterError
from search.service import case_file_rows

__all__ = ["FILTERS", "FilterError", "select", "township_of", "validate_filters"]

#: The filters a spot check offers: field → (Chinese label, allowed values or None for a
#: township code). The definitions are the search's (`search.query.FILTERS`).
FILTERS: dict[str, tuple[str, dict[str, str] | None]] = {
    name: (search_query.FILTERS[name].label, search_query.FILTERS[name].values)
    for name in ("subsidy", "status", "township", "completeness")
}


def validate_filters(filters: dict[str, str]) -> dict[str, str]:
    """Checks filter values; returns the filters without empty ones. Unknown fields raise
    KeyError (a usage error), bad values FilterError."""
    for name in filters:
        FILTERS[name]
    return search_query.validate_filters(filters)


def _keys_of(case_files: Iterable[tuple[int, str, str, str]]) -> list[tuple[str, str, int]]:
    return [
        (case_key(id_number, county), township_of(hukou, county), pk)
        for pk, id_number, county, hukou in case_files
    ]


def select(
    query: str, division: Division, filters: dict[str, str] | None = None, user=None
) -> list[tuple[str, str, int]]:
    """The population: (case key, township code, case file pk) of every case file within
    ``division`` (and the user's jurisdiction, when a user is given) that the search selects
    with ``query`` and ``filters`` (see FILTERS; validate first)."""
    rows = case_file_rows(query, division=division.code, filters=filters or {}, user=user)
    return _keys_of(rows)
