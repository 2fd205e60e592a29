"""The annual review (年度集中复核): tasks, outcomes, the review record, stops, progress."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from archive.access.roles import ARCHIVIST, INSPECTOR
from archive.models import AuditLog, CaseFile, Division, Document, Enrolment, EnrolmentChange
from inspection import campaigns
from inspection.models import ReviewTask
from tests.inspection.conftest import COUNTY, OTHER_COUNTY, TOWN_A, TOWN_B, make_person

pytestmark = pytest.mark.django_db

DUE = date(2026, 11, 30)
RECORDED = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)


def county() -> Division:
    return Division.objects.get(code=COUNTY)


@pytest.fixture
def campaign(people):
    make_person(90, TOWN_A, subsidies=("living", "nursing"))
    make_person(91, TOWN_B, status=Enrolment.Status.STOPPED)
    return campaigns.create(year=2026, division=county(), due_date=DUE)


def test_a_campaign_has_one_task_per_active_enrolment_in_the_division(campaign):
    active = Enrolment.objects.filter(county_id=COUNTY, status=Enrolment.Status.ACTIVE)
    assert campaign.tasks.count() == active.count() == 32
    assert set(campaign.tasks.values_list("enrolment_id", flat=True)) == set(
        active.values_list("id", flat=True)
    )
    assert not campaign.tasks.filter(county_id=OTHER_COUNTY).exists()
    assert set(campaign.tasks.values_list("township_code", flat=True)) == {TOWN_A, TOWN_B}
    assert AuditLog.objects.filter(action="review_campaign_create").exists()


def test_a_second_campaign_for_the_same_year_and_division_is_refused(campaign):
    with pytest.raises(campaigns.CampaignError, match="已发起"):
        campaigns.create(year=2026, division=county(), due_date=DUE)


def test_continue_files_a_review_record_into_the_case_file(campaign, make_user):
    reviewer = make_user("reviewer", COUNTY, role=INSPECTOR)
    task = campaign.tasks.first()
    campaigns.record_outcome(task, outcome="continue", user=reviewer)
    task.refresh_from_db()
    document = Document.objects.get(pk=task.record_id)
    case_file = CaseFile.objects.get(person=task.person, county_id=COUNTY)
    assert document.case_file == case_file and document.doc_type == "review_record"
    assert document.archival_code and "2026年度复核记录" in document.title
    assert document.current.blob.kind == "pdf"
    assert task.outcome == "continue" and task.recorded_by == reviewer
    assert task.enrolment.status == Enrolment.Status.ACTIVE and task.change is None
    with pytest.raises(campaigns.CampaignError, match="已登记"):
        campaigns.record_outcome(task, outcome="continue", user=reviewer)


def test_stop_changes_the_enrolment_through_the_stop_flow(campaign, make_user):
    archivist = make_user("archivist", COUNTY, role=ARCHIVIST)
    task = campaign.tasks.first()
    campaigns.record_outcome(
        task, outcome="stop", note="本人已死亡", reason="DECEASED", month=date(2026, 10, 1),
        user=archivist,
    )  # fmt: skip
    task.refresh_from_db()
    task.enrolment.refresh_from_db()
    assert task.enrolment.status == Enrolment.Status.STOPPED
    change = EnrolmentChange.objects.get(pk=task.change_id)
    assert change.action == "stop" and change.reason == "DECEASED"
    assert change.source == f"年度复核 #{task.pk}" and change.month == date(2026, 10, 1)
    assert Document.objects.filter(pk=task.record_id, doc_type="review_record").exists()


def test_suspend_needs_a_reason_a_month_and_the_right_to_change_enrolments(campaign, make_user):
    inspector = make_user("inspector", COUNTY, role=INSPECTOR)
    archivist = make_user("archivist", COUNTY, role=ARCHIVIST)
    task = campaign.tasks.first()
    with pytest.raises(campaigns.CampaignError, match="权限"):
        campaigns.record_outcome(
            task, outcome="suspend", reason="IMPRISONED", month=date(2026, 10, 1), user=inspector
        )
    with pytest.raises(campaigns.CampaignError, match="原因"):
        campaigns.record_outcome(task, outcome="suspend", month=date(2026, 10, 1), user=archivist)
    with pytest.raises(campaigns.CampaignError, match="生效年月"):
        campaigns.record_outcome(task, outcome="suspend", reason="IMPRISONED", user=archivist)
    campaigns.record_outcome(
        task, outcome="suspend", reason="IMPRISONED", month=date(2026, 10, 1), user=archivist
    )
    task.enrolment.refresh_from_db()
    assert task.enrolment.status == Enrolment.Status.SUSPENDED


def test_a_refused_stop_files_nothing(campaign, make_user):
    archivist = make_user("archivist", COUNTY, role=ARCHIVIST)
    task = campaign.tasks.first()
    Enrolment.objects.filter(pk=task.enrolment_id).update(status=Enrolment.Status.STOPPED)
    with pytest.raises(campaigns.CampaignError, match="不能执行"):
        campaigns.record_outcome(
            task, outcome="suspend", reason="IMPRISONED", month=date(2026, 10, 1), user=archivist
        )
    task.refresh_from_db()
    assert task.outcome == "" and not Document.objects.filter(doc_type="review_record").exists()


def test_other_needs_a_note(campaign, make_user):
    reviewer = make_user("reviewer", COUNTY)
    with pytest.raises(campaigns.CampaignError, match="说明"):
        campaigns.record_outcome(campaign.tasks.first(), outcome="other", user=reviewer)
    with pytest.raises(campaigns.CampaignError, match="复核结论"):
        campaigns.record_outcome(campaign.tasks.first(), outcome="maybe", user=reviewer)


def test_progress_by_township_and_the_overdue_list(campaign, make_user):
    reviewer = make_user("reviewer", COUNTY)
    task = campaign.tasks.filter(township_code=TOWN_B).first()
    campaigns.record_outcome(task, outcome="continue", user=reviewer)
    rows = {p.township: p for p in campaigns.progress(campaign.tasks.all())}
    assert rows[TOWN_A].total == 22 and rows[TOWN_A].done == 0
    assert rows[TOWN_B].total == 10 and rows[TOWN_B].done == 1 and rows[TOWN_B].percent == 10
    assert rows[TOWN_B].outcomes["继续享受"] == 1 and rows[TOWN_A].name.startswith("测试镇")
    assert campaigns.overdue(campaign, campaign.tasks.all(), date(2026, 11, 30)).count() == 0
    assert campaigns.overdue(campaign, campaign.tasks.all(), date(2026, 12, 1)).count() == 31


def test_not_reviewed_this_year_per_case_file(campaign, make_user):
    reviewer = make_user("reviewer", COUNTY)
    task = campaign.tasks.first()
    reviewed = CaseFile.objects.get(person=task.person, county_id=COUNTY)
    other = CaseFile.objects.filter(county_id=COUNTY).exclude(pk=reviewed.pk).first()
    assert campaigns.not_reviewed_in(reviewed, 2026)
    campaigns.record_outcome(task, outcome="continue", user=reviewer, now=RECORDED)
    assert not campaigns.not_reviewed_in(reviewed, 2026)
    assert campaigns.not_reviewed_in(reviewed, 2027)
    assert campaigns.not_reviewed_in(other, 2026)
    years = campaigns.last_review_years([reviewed.pk, other.pk])
    assert years == {reviewed.pk: 2026, other.pk: None}


def test_a_users_campaign_contains_only_their_jurisdiction(people, make_user):
    inspector = make_user("pingshun", COUNTY, role=ARCHIVIST)
    city = Division.objects.get(code="140400")
    campaign = campaigns.create(year=2026, division=city, due_date=DUE, user=inspector)
    assert set(campaign.tasks.values_list("county_id", flat=True)) == {COUNTY}
    assert ReviewTask.objects.count() == 30
