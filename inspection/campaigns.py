"""The annual review (年度集中复核): one campaign per year and division, one task per active
enrolment, and the reviewer's outcome.

Recording an outcome files a review record (`review_record`, core/doctypes.py) into the
person's case file through the upload path (`archive.documents.ingest`), and a 停发 or 暂停 outcome
changes the enrolment through `archive.people.enrolments` — the same actions, with a reason from
``STOP_REASONS`` and the month, that a verified comparison finding takes
(`review.services.verify`) — with ``年度复核 #<task>`` as the change's source. All in one
transaction: a refused stop files nothing.

`last_review_years` / `not_reviewed_in` say whether a case file has been reviewed in a year —
the "not reviewed this year" flag of the inspectors' search.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from archive import access, casefiles
from archive.access import permissions as perms
from archive.access.audit import record
from archive.documents import ingest
from archive.models import CaseFile, Division, Document, Enrolment
from archive.people import enrolments
from core.divisions import division_prefix
from inspection.models import ReviewCampaign, ReviewTask
from inspection.population import township_of
from inspection.records import review_record_pdf
from inspection.spot_checks import township_names

REVIEW_RECORD = "review_record"
Outcome = ReviewTask.Outcome


class CampaignError(ValueError):
    """A campaign or an outcome that cannot be recorded (message in Chinese)."""


def create(
    *, year: int, division: Division, due_date: date, user=None, request=None
) -> ReviewCampaign:
    """Starts the review of a division for a year: one task per enrolment in force (正常发放)
    whose county lies within the division, written in one bulk insert."""
    if ReviewCampaign.objects.filter(year=year, division=division).exists():
        raise CampaignError(f"{division.name}{year}年度集中复核已发起。")
    active = (
        Enrolment.objects.filter(
            county__code__startswith=division_prefix(division.code),
            status=Enrolment.Status.ACTIVE,
        )
        .select_related("person")
        .order_by("county_id", "person__hukou_code", "id")
    )
    if user is not None and user.is_authenticated:
        active = access.scope(active, user, "county")
    try:
        with transaction.atomic():
            campaign = ReviewCampaign.objects.create(
                year=year,
                division=division,
                due_date=due_date,
                created_by=user if user is not None and user.is_authenticated else None,
            )
            tasks = ReviewTask.objects.bulk_create(
                (
                    ReviewTask(
                        campaign=campaign,
                        enrolment=e,
                        person_id=e.person_id,
                        county_id=e.county_id,
                        township_code=township_of(e.person.hukou_code, e.county_id),
                    )
                    for e in active.iterator(chunk_size=2000)
                ),
                batch_size=2000,
            )
            record(
                request,
                "review_campaign_create",
                obj_type="inspection.ReviewCampaign",
                obj_id=str(campaign.pk),
                detail=f"{year}年度集中复核 {division.code} 任务{len(tasks)}项 期限{due_date}",
                user=user,
            )
    except IntegrityError:  # created concurrently
        raise CampaignError(f"{division.name}{year}年度集中复核已发起。") from None
    return campaign


def visible(user):
    return access.scope(ReviewCampaign.objects.all(), user, "division")


def visible_tasks(campaign: ReviewCampaign, user):
    return access.scope(campaign.tasks.all(), user, "county")


# --- Progress -----------------------------------------------------------------------------------


@dataclass
class TownshipProgress:
    township: str
    name: str
    total: int
    done: int
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 100


def progress(tasks) -> list[TownshipProgress]:
    """Tasks done per township, and how many of each outcome (one query)."""
    annotations = {
        "total": Count("id"),
        "done": Count("id", filter=~Q(outcome="")),
        **{f"n_{o.value}": Count("id", filter=Q(outcome=o.value)) for o in Outcome},
    }
    rows = list(tasks.values("township_code").annotate(**annotations).order_by("township_code"))
    names = township_names([r["township_code"] for r in rows])
    return [
        TownshipProgress(
            r["township_code"],
            names[r["township_code"]],
            r["total"],
            r["done"],
            {o.label: r[f"n_{o.value}"] for o in Outcome},
        )
        for r in rows
    ]


def overdue(campaign: ReviewCampaign, tasks, today: date):
    """Tasks still without an outcome after the campaign's deadline."""
    if today <= campaign.due_date:
        return tasks.none()
    return tasks.filter(outcome="")


# --- Recording an outcome ---------------------------------------------------------------------


def _record_rows(task: ReviewTask, locked_outcome: str, note: str, reason: str, month) -> list:
    person, enrolment = task.person, task.enrolment
    rows = [
        ("复核年度", f"{task.campaign.year}年"),
        ("姓名", person.name),
        ("公民身份号码", person.id_number),
        ("县（区）", task.county.name),
        ("补贴类别", enrolment.get_subsidy_display()),
        ("复核结论", Outcome(locked_outcome).label),
    ]
    if reason:
        rows.append(("原因", enrolments.STOP_REASONS[reason]))
    if month:
        rows.append(("生效年月", f"{month:%Y年%m月}"))
    rows.append(("说明", note or "—"))
    return rows


def record_outcome(
    task: ReviewTask,
    *,
    outcome: str,
    note: str = "",
    user,
    reason: str = "",
    month: date | None = None,
    request=None,
    now: datetime | None = None,
) -> ReviewTask:
    """Records the reviewer's outcome: files the review record, and for 停发 / 暂停 changes
    the enrolment (needs archive.change_enrolment). 其他 needs a note; an outcome is recorded
    once. ``now`` (default: the clock) dates the record."""
    note = (note or "").strip()
    if outcome not in Outcome.values:
        raise CampaignError("请选择复核结论。")
    changes_enrolment = outcome in (Outcome.STOP, Outcome.SUSPEND)
    if outcome == Outcome.OTHER and not note:
        raise CampaignError("复核结论为“其他”时须填写说明。")
    if changes_enrolment:
        if not user.has_perm(perms.CHANGE_ENROLMENT):
            raise CampaignError("您没有停发或暂停补贴的权限，请交档案管理员处理。")
        if reason not in enrolments.STOP_REASONS:
            raise CampaignError("停发或暂停须选择原因。")
        if month is None:
            raise CampaignError("停发或暂停须填写生效年月。")
    else:
        reason, month = "", None
    with transaction.atomic():
        locked = (
            ReviewTask.objects.select_for_update(of=("self",))
            .select_related("campaign", "person", "county", "enrolment")
            .get(pk=task.pk)
        )
        if locked.outcome:
            raise CampaignError("该任务已登记复核结论。")
        source = f"年度复核 #{locked.pk}"
        change = None
        if changes_enrolment:
            act = enrolments.stop if outcome == Outcome.STOP else enrolments.suspend
            try:
                change = act(
                    locked.enrolment,
                    month=month,
                    reason=reason,
                    user=user,
                    note=f"{locked.campaign.year}年度复核：{note}"[:2000],
                    source=source,
                )
            except enrolments.TransitionError as error:
                raise CampaignError(str(error)) from error
        now = now or timezone.now()
        pdf = review_record_pdf(
            f"{locked.campaign.year}年度复核记录",
            _record_rows(locked, outcome, note, reason, month),
            f"复核人：{user.get_username()}　登记时间：{timezone.localtime(now):%Y-%m-%d %H:%M}"
            f"　任务编号：{locked.pk}",
        )
        case_file = casefiles.case_file_for(locked.person, locked.county_id)
        filed = ingest.ingest_stream(
            io.BytesIO(pdf),
            f"年度复核记录_{locked.campaign.year}_{locked.pk}.pdf",
            ingest.Target(case_file, REVIEW_RECORD),
            user,
            request,
        )[0]
        if not filed.ok:
            raise CampaignError(f"复核记录未能归档：{filed.message}")
        Document.objects.filter(pk=filed.document_id).update(
            doc_date=timezone.localdate(now),
            title=f"{locked.person.name}{locked.campaign.year}年度复核记录"
            f"（{locked.enrolment.get_subsidy_display()}）",
        )
        locked.outcome, locked.note = outcome, note
        locked.stop_reason, locked.month = reason, month
        locked.record_id = filed.document_id
        locked.change = change
        locked.reviewer = locked.reviewer or user
        locked.recorded_by, locked.recorded_at = user, now
        locked.save()
        record(
            request,
            "review_outcome",
            obj_type="inspection.ReviewTask",
            obj_id=str(locked.pk),
            detail=f"{locked.campaign.year}年度复核 {locked.person.masked_id} "
            f"{locked.enrolment.get_subsidy_display()} {Outcome(outcome).label} {reason} {note}",
            user=user,
        )
    return locked


# --- "Not reviewed this year" -------------------------------------------------------------------


def last_review_years(case_file_ids: Iterable[int]) -> dict[int, int | None]:
    """The latest year each case file was reviewed: a review task with an outcome in a
    campaign of that year, or a review record (`review_record`) filed in that year. For the
    search index's "not reviewed this year" flag; two queries whatever the number of files."""
    ids = list(case_file_ids)
    files = {
        pk: (person, county)
        for pk, person, county in CaseFile.objects.filter(pk__in=ids).values_list(
            "pk", "person_id", "county_id"
        )
    }
    years: dict[int, int | None] = dict.fromkeys(ids)
    by_person_county = {v: k for k, v in files.items()}
    tasks = (
        ReviewTask.objects.filter(person_id__in={p for p, _ in files.values()})
        .exclude(outcome="")
        .values_list("person_id", "county_id")
        .annotate(year=Max("campaign__year"))
    )
    for person, county, year in tasks:
        pk = by_person_county.get((person, county))
        if pk is not None and (years[pk] is None or year > years[pk]):
            years[pk] = year
    documents = (
        Document.objects.filter(
            case_file_id__in=ids, doc_type=REVIEW_RECORD, deleted_at__isnull=True
        )
        .exclude(doc_date__isnull=True)
        .values_list("case_file_id")
        .annotate(last=Max("doc_date"))
    )
    for pk, last in documents:
        if years[pk] is None or last.year > years[pk]:
            years[pk] = last.year
    return years


def not_reviewed_in(case_file: CaseFile, year: int) -> bool:
    """True when the case file has no review in ``year`` (the search flag 本年度未复核)."""
    last = last_review_years([case_file.pk])[case_file.pk]
    return last is None or last < year
