"""The population of a spot check (抽查总体): which case files a query and filters select.

This is the one function the draw depends on (`select`). Today it queries the database
directly; when the search service lands (``search.service.case_file_keys``) it becomes a call
to that service followed by `_keys_of`, so that a spot check draws from exactly what the
inspector's search shows. Whatever the source, the draw itself only sees (case key, township)
pairs, so the sample does not depend on the backend (docs/inspection.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from archive import access
from archive.models import CaseFile, Division, Enrolment
from core.cells import division_prefix
from core.numbers import normalize_id
from inspection.sampling import case_key

#: Filters `select` understands: field → (Chinese label, allowed values or None for free text).
FILTERS: dict[str, tuple[str, dict[str, str] | None]] = {
    "subsidy": ("补贴类别", {"living": "生活补贴", "nursing": "护理补贴"}),
    "status": ("享受状态", dict(Enrolment.Status.choices)),
    "township": ("乡镇", None),
    "completeness": (
        "档案完整度",
        {"complete": "材料齐全", "incomplete": "材料不全", "below50": "完整度低于50%"},
    ),
}


class FilterError(ValueError):
    """A filter value that is not allowed (message in Chinese)."""


def validate_filters(filters: dict[str, str]) -> dict[str, str]:
    """Checks filter values; returns the filters without empty ones. Unknown fields raise
    KeyError (a usage error), bad values FilterError."""
    clean = {}
    for field, value in filters.items():
        label, allowed = FILTERS[field]
        value = (value or "").strip()
        if not value:
            continue
        if allowed is not None and value not in allowed:
            raise FilterError(f"{label}的取值“{value}”无效；可用：{'、'.join(allowed)}")
        if field == "township" and not (value.isdigit() and len(value) == 9):
            raise FilterError(f"乡镇应为 9 位区划代码：{value}")
        clean[field] = value
    return clean


def township_of(hukou_code: str, county_code: str) -> str:
    """The township (9-digit code) of a case file: from the person's hukou division when it
    lies within the file's county, else "" (unknown)."""
    code = (hukou_code or "").strip()
    if len(code) >= 9 and code[:9].isdigit() and code.startswith(county_code):
        return code[:9]
    return ""


def _case_files(query: str, division: Division, filters: dict[str, str], user) -> QuerySet:
    files = CaseFile.objects.filter(county__code__startswith=division_prefix(division.code))
    if user is not None:
        files = access.scope(files, user, "county")
    enrolment = Q()
    if filters.get("subsidy"):
        enrolment &= Q(subsidy=filters["subsidy"])
    if filters.get("status"):
        enrolment &= Q(status=filters["status"])
    if enrolment:
        from django.db.models import Exists, OuterRef

        files = files.filter(
            Exists(
                Enrolment.objects.filter(
                    enrolment, person_id=OuterRef("person_id"), county_id=OuterRef("county_id")
                )
            )
        )
    if filters.get("township"):
        files = files.filter(person__hukou_code__startswith=filters["township"])
    completeness = filters.get("completeness")
    if completeness == "complete":
        files = files.filter(completeness=100)
    elif completeness == "incomplete":
        files = files.filter(completeness__lt=100)
    elif completeness == "below50":
        files = files.filter(completeness__lt=50)
    query = (query or "").strip()
    if query:
        files = files.filter(
            Q(person__name__contains=query) | Q(person__id_number__contains=normalize_id(query))
        )
    return files


def _keys_of(case_files: Iterable[tuple[int, str, str, str]]) -> list[tuple[str, str, int]]:
    return [
        (case_key(id_number, county), township_of(hukou, county), pk)
        for pk, id_number, county, hukou in case_files
    ]


def select(
    query: str, division: Division, filters: dict[str, str] | None = None, user=None
) -> list[tuple[str, str, int]]:
    """The population: (case key, township code, case file pk) of every case file within
    ``division`` (and the user's jurisdiction, when a user is given) matching ``query`` (a
    substring of the name or ID number) and ``filters`` (see FILTERS; validate first)."""
    files = _case_files(query, division, filters or {}, user)
    rows = files.values_list("pk", "person__id_number", "county_id", "person__hukou_code")
    return _keys_of(rows.order_by().iterator(chunk_size=5000))
