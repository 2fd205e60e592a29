"""When a filed document's retention ends, and which documents are due for appraisal (到期鉴定).

docs/archive.md: "Retention ends, at the earliest, the configured number of years after the
enrolment stopped; the system lists files due for appraisal (鉴定) but never destroys anything
by itself." So this module only *reads*: it decides dates and builds querysets; there is no
function here (nor in the page that shows them) that deletes, withdraws or changes a document.

The rule, per document of a case file (one person in one county):

* 保管期限 ``Y`` (永久) never ends;
* ``D30`` / ``D10`` end ``settings.ARCHIVE_RETENTION_YEARS[period]`` years (30 / 10) after the
  case file's enrolments stopped — the latest 停发年月 of the person's enrolments in that county;
* while any of those enrolments is active or suspended (正常发放 / 暂停发放), or is stopped
  without a recorded stop month, or if there is none at all, the file is never due: there is
  no date to count from, and "at the earliest" means we do not guess one.

The end date is the same calendar day N years later; 29 February counts to 1 March, so a
retention period is never shorter than N full years.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.conf import settings
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery

from core.codes import PERMANENT

#: Enrolment statuses that keep a case file open (its retention has not started).
OPEN_STATUSES = ("active", "suspended")


def configured_years() -> dict[str, int]:
    """``ARCHIVE_RETENTION_YEARS`` of the settings: period code → years."""
    return dict(settings.ARCHIVE_RETENTION_YEARS)


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February → 1 March of a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return date(day.year + years, 3, 1)


def retention_end(period: str, stopped: date | None, years: Mapping[str, int]) -> date | None:
    """The first day on which a document may be appraised, or None if it never is (yet).

    ``period`` is the document's 保管期限 (``Y``, ``D30``, ``D10``); ``stopped`` is when the case
    file's enrolments stopped (`stopped_on`), None while any is still open; ``years`` maps
    periods to numbers of years. A permanent, unknown or blank period, or no stop date, gives
    None: the document is not due."""
    if period == PERMANENT or stopped is None or period not in years:
        return None
    return add_years(stopped, years[period])


def stopped_on(enrolments: Iterable[tuple[str, date | None]]) -> date | None:
    """When a case file's enrolments (``(status, stop_month)`` of the person's enrolments in
    the case file's county) stopped: the latest stop month once every one is stopped with a
    month; None if any is active or suspended, any lacks a stop month, or there is none."""
    latest = None
    for status, stop_month in enrolments:
        if status in OPEN_STATUSES or stop_month is None:
            return None
        latest = stop_month if latest is None else max(latest, stop_month)
    return latest


def latest_stop_due(on: date, period: str, years: Mapping[str, int]) -> date | None:
    """The latest stop date whose retention under ``period`` has ended by ``on``: a document
    is due on ``on`` exactly when its case file stopped on or before this day. This is what the
    database filters on (`due_documents`); it agrees with `retention_end` day by day (tested,
    29 February included)."""
    if period == PERMANENT or period not in years:
        return None
    n = years[period]
    try:
        return on.replace(year=on.year - n)
    except ValueError:  # on is 29 February, N years earlier is a common year
        return date(on.year - n, 2, 28)


# --- The database side ---------------------------------------------------------------------


def annotate_stopped(documents: QuerySet) -> QuerySet:
    """Adds ``open_enrolment`` (an enrolment of the case file's person in its county that is
    active, suspended or stopped without a month) and ``stopped`` (the latest stop month of
    those enrolments) to a queryset of documents: two correlated subqueries on the
    (person, subsidy, county) index, no per-row query."""
    from archive.models import Enrolment

    same_case = Enrolment.objects.filter(
        person_id=OuterRef("case_file__person_id"), county_id=OuterRef("case_file__county_id")
    )
    latest = (
        same_case.order_by().values("person_id").annotate(latest=Max("stop_month")).values("latest")
    )
    return documents.annotate(
        open_enrolment=Exists(
            same_case.filter(Q(status__in=OPEN_STATUSES) | Q(stop_month__isnull=True))
        ),
        stopped=Subquery(latest[:1]),
    )


def due_documents(
    documents: QuerySet,
    on: date,
    *,
    period: str = "",
    year: int | None = None,
    years: Mapping[str, int] | None = None,
) -> QuerySet:
    """The filed documents of ``documents`` (already scoped to the user's jurisdiction by the
    caller) whose retention has ended by ``on``; optionally of one ``period`` only, or only
    those whose retention ended in ``year``. Withdrawn documents are included (their originals
    are still kept and must be appraised too). Annotated with ``stopped``; the due date of a
    row is ``retention_end(row.retention, row.stopped, years)``."""
    years = configured_years() if years is None else years
    periods = [p for p in years if p != PERMANENT and (not period or p == period)]
    when = Q(pk__in=[])
    for code in periods:
        cutoff = latest_stop_due(on, code, years)
        condition = Q(retention=code, stopped__lte=cutoff)
        if year is not None:
            # add_years keeps the year offset exactly (31 Dec → 31 Dec, 29 Feb → 1 Mar).
            start = year - years[code]
            condition &= Q(stopped__gte=date(start, 1, 1), stopped__lte=date(start, 12, 31))
        when |= condition
    return (
        annotate_stopped(documents.filter(case_file__isnull=False, archival_code__isnull=False))
        .filter(open_enrolment=False, stopped__isnull=False)
        .filter(when)
    )


def due_rows(
    documents: QuerySet,
    on: date,
    *,
    period: str = "",
    year: int | None = None,
) -> QuerySet:
    """`due_documents` with what the page and the export show, in shelf order (county,
    person, case file, 档号)."""
    return (
        due_documents(documents, on, period=period, year=year)
        .select_related("case_file__person", "case_file__county")
        .annotate(person_name=F("case_file__person__name"))
        .order_by("case_file__county_id", "person_name", "case_file_id", "archival_code")
    )
