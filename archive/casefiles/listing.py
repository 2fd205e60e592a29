"""The list of case files (补贴档案): its filters and its sheet for export."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db.models import Q
from django.utils import timezone

from archive.casefiles.checklist import type_name
from archive.models import (
    Enrolment,
)
from core.codes import SUBSIDY_NAMES
from core.numbers import mask_id

# --- The list of case files ---------------------------------------------------------------------


def filter_case_files(queryset, data: dict):
    """Applies the list filters (all in SQL, no per-row queries): division prefix,
    completeness, missing type, subsidy and enrolment status."""
    from django.db.models import Exists, OuterRef

    from core.divisions import division_prefix

    if data.get("division"):
        prefix = division_prefix(data["division"])
        if len(prefix) > 6:  # a township or village: where the person's 户籍 lies
            queryset = queryset.filter(person__hukou_code__startswith=prefix)
        else:
            queryset = queryset.filter(county__code__startswith=prefix)
    completeness = data.get("completeness")
    if completeness == "complete":
        queryset = queryset.filter(completeness=100)
    elif completeness == "incomplete":
        queryset = queryset.filter(completeness__lt=100)
    elif completeness == "below50":
        queryset = queryset.filter(completeness__lt=50)
    if data.get("missing"):
        queryset = queryset.filter(missing__contains=f",{data['missing']},")
    enrolment = Q()
    if data.get("subsidy"):
        enrolment &= Q(subsidy=data["subsidy"])
    if data.get("status"):
        enrolment &= Q(status=data["status"])
    if enrolment:
        queryset = queryset.filter(
            Exists(
                Enrolment.objects.filter(
                    enrolment, person_id=OuterRef("person_id"), county_id=OuterRef("county_id")
                )
            )
        )
    if data.get("q"):
        from core.numbers import normalize_id

        q = data["q"].strip()
        queryset = queryset.filter(
            Q(person__name__contains=q) | Q(person__id_number=normalize_id(q))
        )
    return queryset


CASE_FILE_HEADERS = [
    "县（区）",
    "姓名",
    "公民身份号码",
    "补贴",
    "完整度（%）",
    "缺少材料",
    "文件数",
    "页数",
    "更新时间",
]


def export_rows(
    rows, *, masked: bool = False, progress: Callable[[int], None] | None = None
) -> Iterator[list]:
    """The rows of a case-file list exported to XLSX (the list page and the search's
    export): a header, then one row per case file of ``rows`` (a queryset, streamed).
    ``masked`` shows ID numbers as lists do; ``progress(done)`` is called every 1 000 rows."""
    yield CASE_FILE_HEADERS
    enrolment_rows = Enrolment.objects.filter(person_id__in=rows.values("person_id")).values_list(
        "person_id", "county_id", "subsidy", "status"
    )
    enrolments: dict[tuple[int, str], list[str]] = {}
    statuses = dict(Enrolment.Status.choices)
    for person_id, county_id, subsidy, status in enrolment_rows.iterator(chunk_size=5000):
        enrolments.setdefault((person_id, county_id), []).append(
            f"{SUBSIDY_NAMES.get(subsidy, subsidy)}（{statuses.get(status, status)}）"
        )
    for done, cf in enumerate(rows.select_related("person", "county").iterator(chunk_size=2000), 1):
        if progress is not None and done % 1000 == 0:
            progress(done)
        yield [
            cf.county.name,
            cf.person.name,
            mask_id(cf.person.id_number) if masked else cf.person.id_number,
            "；".join(enrolments.get((cf.person_id, cf.county_id), [])),
            cf.completeness,
            "、".join(type_name(c) for c in cf.missing_codes),
            cf.document_count,
            cf.page_count,
            timezone.localtime(cf.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]
