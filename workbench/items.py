"""What waits for a user, as counts with links: one function per kind of work, each shown only
to users holding the permission of the list it links to, each counted within the user's
jurisdiction only (``archive.access.scope``, the one jurisdiction filter).

A function returns ``None`` when the user may not see that work; a count of 0 is still shown
(nothing waiting is worth knowing). All counts are single aggregate queries, so the dashboard
costs the same for a county and a province.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse

from archive import access
from archive.access import permissions as perms
from archive.models import CaseFile, Certificate, Document
from core.codes import VERIFIED_ACTIONS
from inspection.models import ReviewCampaign, ReviewTask, SpotCheck, SpotCheckItem
from review import schedule
from review.models import ComparisonRun, Finding
from review.services import divisions_of
from search.query import EXPIRING_DAYS


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the workbench: ``count`` things waiting, described by ``label``."""

    label: str
    count: int
    url: str
    #: Shown beside the count, e.g. "已逾期"; ``urgent`` colours it.
    note: str = ""
    urgent: bool = False


def _latest_runs(user) -> list[int]:
    """The last finished run of each division the user compares: the findings that still
    matter (an older run's findings are superseded by the newer one's)."""
    latest: dict[str, int] = {}
    runs = ComparisonRun.objects.filter(
        division__in=divisions_of(user), status=ComparisonRun.Status.FINISHED
    ).order_by("division_id", "-as_of", "-finished_at", "-id")
    for division_id, pk in runs.values_list("division_id", "pk"):
        latest.setdefault(division_id, pk)
    return list(latest.values())


def findings_to_verify(user, today: date) -> Item | None:
    """Stops and suspensions of the latest runs that no one has verified yet (待核查)."""
    if not user.has_perm(perms.VERIFY):
        return None
    runs = _latest_runs(user)
    waiting = (
        access.scope(Finding.objects.filter(run_id__in=runs), user, "county")
        .with_status()
        .filter(action__in=VERIFIED_ACTIONS, verdict__isnull=True)
        .count()
    )
    if len(runs) == 1:
        url = reverse("review_findings", args=[runs[0]]) + "?" + urlencode({"status": "open"})
    else:
        url = reverse("review_dashboard")
    return Item("待核查的比对发现（停发、暂停）", waiting, url, urgent=waiting > 0)


def comparisons_overdue(user, today: date) -> Item | None:
    """Divisions whose scheduled comparison (monthly, half-yearly, yearly) is overdue."""
    if not user.has_perm(perms.ADD_RUN):
        return None
    divisions = list(divisions_of(user))
    last: dict[str, date] = {}
    for code, as_of in ComparisonRun.objects.filter(
        division__in=divisions, status=ComparisonRun.Status.FINISHED
    ).values_list("division_id", "as_of"):
        last[code] = max(as_of, last.get(code, as_of))
    overdue = sum(1 for d in divisions if schedule.is_overdue(d.level, last.get(d.code), today))
    return Item("逾期未做的定期比对", overdue, reverse("review_dashboard"), urgent=overdue > 0)


def scans_to_file(user, today: date) -> Item | None:
    """Scans in the inbox (收件箱) not yet filed into a case file."""
    if not user.has_perm(perms.ADD_DOCUMENT):
        return None
    count = access.scope(
        Document.objects.filter(case_file__isnull=True, deleted_at__isnull=True), user, "county"
    ).count()
    return Item("收件箱中待归档的扫描件", count, reverse("archive_inbox"))


def incomplete_case_files(user, today: date) -> Item | None:
    """Case files missing a document the checklist requires (完整度 below 100 %)."""
    if not user.has_perm(perms.VIEW_CASE_FILE):
        return None
    count = access.scope(CaseFile.objects.filter(completeness__lt=100), user, "county").count()
    url = reverse("archive_casefile_list") + "?" + urlencode({"completeness": "incomplete"})
    return Item("材料不齐全的档案", count, url)


def certificates_expiring(user, today: date) -> Item | None:
    """Current certificates whose validity ends within the search's expiring window."""
    if not user.has_perm(perms.SEARCH_RECORDS):
        return None
    count = access.scope(
        Certificate.objects.filter(
            is_current=True,
            long_term=False,
            expiry_date__gte=today,
            expiry_date__lte=today + timedelta(days=EXPIRING_DAYS),
        ),
        user,
        "person__county",
    ).count()
    url = reverse("search_records") + "?" + urlencode({"flag": "cert_expiring"})
    return Item(f"{EXPIRING_DAYS}天内到期的残疾人证", count, url)


def open_spot_checks(user, today: date) -> Item | None:
    """Spot checks (抽查) still open; the items assigned to this user and not yet checked."""
    if not user.has_perm(perms.VIEW_SPOT_CHECK):
        return None
    count = access.scope(
        SpotCheck.objects.filter(status=SpotCheck.Status.OPEN), user, "division"
    ).count()
    mine = SpotCheckItem.objects.filter(
        inspector=user, result="", spot_check__status=SpotCheck.Status.OPEN
    ).count()
    note = f"其中分配给我待检查 {mine} 份" if mine else ""
    return Item("进行中的抽查", count, reverse("inspection_spot_checks"), note=note)


def annual_review(user, today: date) -> Item | None:
    """This year's annual review (年度集中复核): tasks not yet reviewed, overdue if past due."""
    if not user.has_perm(perms.VIEW_CAMPAIGN):
        return None
    campaigns = access.scope(ReviewCampaign.objects.filter(year=today.year), user, "division")
    tasks = access.scope(ReviewTask.objects.filter(campaign__in=campaigns), user, "county")
    totals = tasks.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(outcome="")),
        late=Count("id", filter=Q(outcome="", campaign__due_date__lt=today)),
    )
    note = f"共 {totals['total']} 项" if totals["total"] else "本年度尚未发起"
    if totals["late"]:
        note += f"，已逾期 {totals['late']} 项"
    return Item(
        f"{today.year}年度集中复核待复核",
        totals["open"],
        reverse("inspection_campaigns"),
        note=note,
        urgent=totals["late"] > 0,
    )


#: The workbench's lines, in the order shown.
ITEMS: tuple[Callable[..., Item | None], ...] = (
    findings_to_verify,
    comparisons_overdue,
    scans_to_file,
    incomplete_case_files,
    certificates_expiring,
    open_spot_checks,
    annual_review,
)


def items_for(user, today: date) -> list[Item]:
    """The workbench of a user: every line they may see, in :data:`ITEMS` order."""
    return [item for make in ITEMS if (item := make(user, today)) is not None]
