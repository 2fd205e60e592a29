"""When comparisons are due: county every month, city every six months, province every year.

Periods are calendar periods: a month for a county, a half-year (January–June, July–December)
for a city, a year for the province. The comparison *of* a period has the period's last day
as reference date (``as_of``) and is due once the period has ended. A division is:

* **due** when no comparison covers the last ended period (none with ``as_of`` on or after
  that period's last day);
* **overdue** when no comparison covers the latest period whose deadline has passed; the
  deadline is the end of the month after the period (the comparison of November is due in
  December, and overdue from 1 January).

The pure functions here take dates and return dates; :func:`start_due_runs` (the daily beat
task) applies them to the divisions in the database: a due comparison is started when the
rosters of its period are there (``settings.REVIEW_REQUIRED_ROSTERS``), and otherwise a :class:`~review.models.Reminder` says
which are missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.models import Division
from core.months import month_end
from review.models import ComparisonRun, Reminder

logger = logging.getLogger("review.schedule")

#: Months between comparisons per level (民发〔2022〕79号 / 晋民发〔2023〕1号 practice).
FREQUENCY_MONTHS: dict[str, int] = {"county": 1, "city": 6, "province": 12}
LEVEL_LABELS = {"county": "每月", "city": "每半年", "province": "每年"}


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def __str__(self) -> str:
        if self.start.month == 1 and self.end.month == 12:
            return f"{self.start.year}年"
        if self.start.month == self.end.month:
            return f"{self.start.year}年{self.start.month}月"
        half = "上半年" if self.start.month == 1 else "下半年"
        return f"{self.start.year}年{half}"


def period_containing(level: str, day: date) -> Period:
    months = FREQUENCY_MONTHS[level]
    first_month = (day.month - 1) // months * months + 1
    last_month = first_month + months - 1
    return Period(date(day.year, first_month, 1), month_end(day.year, last_month))


def previous_period(level: str, period: Period) -> Period:
    return period_containing(level, period.start - timedelta(days=1))


def last_ended_period(level: str, today: date) -> Period:
    """The latest period that has ended before ``today``."""
    return previous_period(level, period_containing(level, today))


def deadline(period: Period) -> date:
    """The last day to run the comparison of ``period``: the end of the following month."""
    following = period.end + timedelta(days=1)
    return month_end(following.year, following.month)


def covers(last_as_of: date | None, period: Period) -> bool:
    return last_as_of is not None and last_as_of >= period.end


def is_due(level: str, last_as_of: date | None, today: date) -> bool:
    return not covers(last_as_of, last_ended_period(level, today))


def latest_expired_period(level: str, today: date) -> Period:
    """The latest period whose deadline is before ``today``."""
    period = last_ended_period(level, today)
    while deadline(period) >= today:
        period = previous_period(level, period)
    return period


def is_overdue(level: str, last_as_of: date | None, today: date) -> bool:
    return not covers(last_as_of, latest_expired_period(level, today))


def next_due(level: str, last_as_of: date | None, today: date) -> date:
    """The reference date of the next comparison to run."""
    if is_due(level, last_as_of, today):
        return last_ended_period(level, today).end
    return period_containing(level, today).end


# --------------------------------------------------------------------------------------------
# Applied to the database


def required_rosters() -> tuple[str, ...]:
    return tuple(settings.REVIEW_REQUIRED_ROSTERS)


def scheduled_divisions():
    """The current divisions that compare on a schedule: province, cities and counties."""
    return Division.objects.filter(
        level__in=list(FREQUENCY_MONTHS), successor__isnull=True
    ).order_by("code")


def last_as_of_by_division(include_pending: bool = False) -> dict[str, date]:
    """The latest reference date of a finished (or, with ``include_pending``, a pending or
    running) comparison per division, in one query."""
    statuses = [ComparisonRun.Status.FINISHED]
    if include_pending:
        statuses += [ComparisonRun.Status.PENDING, ComparisonRun.Status.RUNNING]
    latest: dict[str, date] = {}
    for code, as_of in ComparisonRun.objects.filter(status__in=statuses).values_list(
        "division_id", "as_of"
    ):
        if code not in latest or as_of > latest[code]:
            latest[code] = as_of
    return latest


def start_due_runs(today: date | None = None, *, enqueue=None) -> dict[str, list[str]]:
    """The daily task: start every due comparison whose rosters are present, and remind about
    the others. Returns ``{"started": [...], "reminded": [...]}`` (division codes).

    ``enqueue(run_id)`` starts the work (by default the run's background job, sent to a
    worker after commit: ``review.jobs.submit_run``)."""
    from review import services

    today = today or timezone.localdate()
    if enqueue is None:
        from review.jobs import submit_run as enqueue

    latest = last_as_of_by_division(include_pending=True)
    required = required_rosters()
    started: list[str] = []
    reminded: list[str] = []
    for division in scheduled_divisions():
        level = division.level
        if not is_due(level, latest.get(division.code), today):
            continue
        period = last_ended_period(level, today)
        uploads = services.latest_uploads(division, period.start, period.end)
        missing = [kind for kind in required if kind not in uploads]
        if missing:
            Reminder.objects.update_or_create(
                division=division,
                period_end=period.end,
                defaults={"period_start": period.start, "missing": missing},
            )
            reminded.append(division.code)
            continue
        with transaction.atomic():
            run = services.create_run(
                division=division,
                as_of=period.end,
                uploads=uploads.values(),
                trigger=ComparisonRun.Trigger.SCHEDULE,
            )
            Reminder.objects.filter(
                division=division, period_end=period.end, resolved_at__isnull=True
            ).update(resolved_at=timezone.now(), run=run, missing=[])
            enqueue(run.pk)
        started.append(division.code)
        logger.info("scheduled comparison #%s for %s, as of %s", run.pk, division.code, period.end)
    # A reminder whose period has since been covered (e.g. a run started by hand) is closed.
    for reminder in Reminder.objects.filter(resolved_at__isnull=True).select_related("division"):
        if covers(
            latest.get(reminder.division_id), Period(reminder.period_start, reminder.period_end)
        ):
            Reminder.objects.filter(pk=reminder.pk).update(resolved_at=timezone.now())
    return {"started": started, "reminded": reminded}
