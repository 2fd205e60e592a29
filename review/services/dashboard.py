"""What the comparison overview (比对总览) shows: per division the last run, what is due,
the open findings and how fast findings are verified; and the findings of the last 12
calendar months by action. The view only picks the divisions (:func:`divisions_of`)
and renders."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from archive import access
from archive.models import Division
from core.months import last_months
from review import schedule
from review.findings import CODE_LABELS
from review.models import ACTION_LABELS, ComparisonRun, Finding, Reminder, Verification


def divisions_of(user) -> QuerySet:
    """Divisions a user may compare or upload for: the scheduled levels within their
    jurisdiction (``review.schedule.scheduled_divisions``)."""
    prefix = access.user_prefix(user)
    divisions = schedule.scheduled_divisions()
    if prefix is None:
        return divisions.none()
    return divisions if prefix == access.ALL else divisions.filter(code__startswith=prefix)


def _median_days(durations: list[timedelta]) -> float | None:
    if not durations:
        return None
    return round(statistics.median(d.total_seconds() for d in durations) / 86400, 1)


def dashboard_context(user, divisions: list[Division], today: date) -> dict[str, Any]:
    """The comparison overview (比对总览) of the given divisions as the user may see it: per
    division the last finished run, whether the next one is due or overdue, the open findings
    by code, the median days from a run to its verifications over the last year and an open
    reminder; and the findings of the last 12 months by action (:func:`findings_chart`)."""
    codes = [d.code for d in divisions]
    latest: dict[str, ComparisonRun] = {}
    for run in (
        ComparisonRun.objects.filter(division_id__in=codes, status=ComparisonRun.Status.FINISHED)
        .select_related("division")
        .order_by("division_id", "-as_of", "-finished_at", "-id")
    ):
        latest.setdefault(run.division_id, run)
    open_counts: dict[int, Counter] = defaultdict(Counter)
    scoped = access.scope(Finding.objects.all(), user, "county")
    for run_id, code, count in (
        scoped.filter(run_id__in=[r.pk for r in latest.values()])
        .with_status()
        .open()
        .values_list("run_id", "code")
        .annotate(n=Count("id"))
        .values_list("run_id", "code", "n")
    ):
        open_counts[run_id][code] += count
    since = timezone.now() - timedelta(days=365)
    durations: dict[str, list[timedelta]] = defaultdict(list)
    for division_id, verified_at, finished_at in Verification.objects.filter(
        finding__in=scoped, verified_at__gte=since
    ).values_list("finding__run__division_id", "verified_at", "finding__run__finished_at"):
        if finished_at:
            durations[division_id].append(verified_at - finished_at)
    reminders = {
        r.division_id: r
        for r in Reminder.objects.filter(division_id__in=codes, resolved_at__isnull=True).order_by(
            "period_end"
        )
    }
    rows = []
    for division in divisions:
        run = latest.get(division.code)
        last = run.as_of if run else None
        counts = open_counts.get(run.pk, Counter()) if run else Counter()
        rows.append(
            {
                "division": division,
                "frequency": schedule.LEVEL_LABELS[division.level],
                "run": run,
                "due": schedule.is_due(division.level, last, today),
                "overdue": schedule.is_overdue(division.level, last, today),
                "next_due": schedule.next_due(division.level, last, today),
                "open": [
                    {"code": c, "label": CODE_LABELS[c], "count": counts[c]}
                    for c in CODE_LABELS
                    if counts.get(c)
                ],
                "open_total": sum(counts.values()),
                "median_days": _median_days(durations.get(division.code, [])),
                "reminder": reminders.get(division.code),
            }
        )
    return {
        "rows": rows,
        "chart": findings_chart(scoped, today),
        "overdue_count": sum(1 for r in rows if r["overdue"]),
    }


def findings_chart(scoped: QuerySet, today: date) -> list[dict[str, Any]]:
    """Findings per month of reference date over the last 12 months, by action."""
    months = last_months(today)
    start = months[0]
    rows = (
        scoped.filter(run__status=ComparisonRun.Status.FINISHED, run__as_of__gte=start)
        .annotate(month=TruncMonth("run__as_of"))
        .values_list("month", "action")
        .annotate(n=Count("id"))
        .values_list("month", "action", "n")
    )
    by_month: dict[date, Counter] = defaultdict(Counter)
    for month, action, count in rows:
        by_month[month][action] += count
    peak = max((sum(c.values()) for c in by_month.values()), default=0) or 1
    return [
        {
            "month": month,
            "total": sum(by_month[month].values()),
            "height": round(100 * sum(by_month[month].values()) / peak),
            "parts": [
                {
                    "action": action,
                    "label": ACTION_LABELS[action],
                    "count": by_month[month][action],
                    "height": round(100 * by_month[month][action] / peak, 1),
                }
                for action in ACTION_LABELS
                if by_month[month].get(action)
            ],
        }
        for month in months
    ]
