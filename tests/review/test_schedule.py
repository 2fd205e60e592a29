"""The schedule: county monthly, city every six months, province yearly — due and overdue as
plain functions, the daily beat task (called directly), and one run through a real worker."""

from __future__ import annotations

import time
from datetime import date

import pytest
from django.urls import reverse

from archive.management.commands.demo_data import load_demo
from archive.models import Division
from review import schedule, services
from review.models import ComparisonRun, Reminder
from review.schedule import (
    deadline,
    is_due,
    is_overdue,
    last_ended_period,
    next_due,
    period_containing,
)

D = date


# --- periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "day", "start", "end"),
    [
        ("county", D(2026, 2, 14), D(2026, 2, 1), D(2026, 2, 28)),
        ("county", D(2028, 2, 29), D(2028, 2, 1), D(2028, 2, 29)),
        ("city", D(2026, 6, 30), D(2026, 1, 1), D(2026, 6, 30)),
        ("city", D(2026, 7, 1), D(2026, 7, 1), D(2026, 12, 31)),
        ("province", D(2026, 11, 30), D(2026, 1, 1), D(2026, 12, 31)),
    ],
)
def test_periods_are_calendar_months_half_years_and_years(level, day, start, end):
    assert period_containing(level, day) == schedule.Period(start, end)


def test_last_ended_period_and_deadline():
    assert last_ended_period("county", D(2026, 12, 1)).end == D(2026, 11, 30)
    assert last_ended_period("county", D(2026, 1, 15)).end == D(2025, 12, 31)
    assert last_ended_period("city", D(2026, 12, 3)).end == D(2026, 6, 30)
    assert last_ended_period("province", D(2026, 12, 3)).end == D(2025, 12, 31)
    assert deadline(last_ended_period("county", D(2026, 12, 1))) == D(2026, 12, 31)
    assert deadline(last_ended_period("city", D(2026, 12, 3))) == D(2026, 7, 31)


# --- county: monthly ----------------------------------------------------------------------


def test_county_is_due_each_month_once_the_month_has_ended():
    assert not is_due("county", D(2026, 11, 30), D(2026, 11, 30))
    assert is_due("county", D(2026, 11, 30), D(2027, 1, 1))
    assert is_due("county", D(2026, 10, 31), D(2026, 12, 1))
    assert not is_due("county", D(2026, 11, 30), D(2026, 12, 1))


def test_a_run_before_the_end_of_the_month_does_not_cover_it():
    assert is_due("county", D(2026, 11, 29), D(2026, 12, 1))


def test_county_is_overdue_after_the_month_following_the_period():
    # November's comparison may be run in December; from 1 January it is overdue.
    assert not is_overdue("county", D(2026, 10, 31), D(2026, 12, 31))
    assert is_overdue("county", D(2026, 10, 31), D(2027, 1, 1))
    assert not is_overdue("county", D(2026, 11, 30), D(2027, 1, 1))


def test_never_compared_is_due_and_overdue():
    for level in ("county", "city", "province"):
        assert is_due(level, None, D(2026, 12, 3))
        assert is_overdue(level, None, D(2026, 12, 3))


# --- city: every six months ---------------------------------------------------------------


def test_city_is_due_every_half_year():
    assert is_due("city", D(2025, 12, 31), D(2026, 7, 1))
    assert not is_due("city", D(2026, 6, 30), D(2026, 12, 31))
    assert is_due("city", D(2026, 6, 30), D(2027, 1, 1))


def test_city_is_overdue_after_the_month_following_the_half_year():
    assert not is_overdue("city", D(2025, 12, 31), D(2026, 7, 31))
    assert is_overdue("city", D(2025, 12, 31), D(2026, 8, 1))


# --- province: yearly ---------------------------------------------------------------------


def test_province_is_due_every_year_and_overdue_after_january():
    assert not is_due("province", D(2025, 12, 31), D(2026, 12, 31))
    assert is_due("province", D(2025, 12, 31), D(2027, 1, 1))
    assert not is_overdue("province", D(2025, 12, 31), D(2027, 1, 31))
    assert is_overdue("province", D(2025, 12, 31), D(2027, 2, 1))


def test_next_due_reference_date():
    assert next_due("county", D(2026, 10, 31), D(2026, 12, 3)) == D(2026, 11, 30)
    assert next_due("county", D(2026, 11, 30), D(2026, 12, 3)) == D(2026, 12, 31)
    assert next_due("city", D(2026, 6, 30), D(2026, 12, 3)) == D(2026, 12, 31)


# --- the daily task -----------------------------------------------------------------------

TODAY = D(2026, 12, 3)  # county period: November 2026; city: 2026 H1; province: 2025
REQUIRED = ("death", "hukou_out", "cert_base", "assistance")


@pytest.fixture
def rosters_for(upload):
    def make(division: str, period: date, kinds=REQUIRED):
        return {kind: upload(kind, [], division=division, period=period) for kind in kinds}

    return make


@pytest.mark.django_db
def test_due_runs_start_when_their_rosters_are_present(rosters_for):
    uploads = rosters_for("140425", D(2026, 11, 1))
    queued: list[int] = []
    result = schedule.start_due_runs(TODAY, enqueue=queued.append)
    assert "140425" in result["started"]
    run = ComparisonRun.objects.get(division_id="140425")
    assert run.as_of == D(2026, 11, 30) and run.trigger == ComparisonRun.Trigger.SCHEDULE
    assert set(run.rosters.all()) == set(uploads.values())
    assert queued == [run.pk]
    # every other division lacks rosters: reminded, not started
    assert set(result["reminded"]) == {
        d.code for d in schedule.scheduled_divisions() if d.code != "140425"
    }


@pytest.mark.django_db
def test_missing_rosters_make_one_reminder_until_they_arrive(rosters_for):
    rosters_for("140425", D(2026, 11, 1), kinds=("death", "cert_base"))
    schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    reminder = Reminder.objects.get(division_id="140425")
    assert reminder.missing == ["hukou_out", "assistance"]
    assert reminder.period_end == D(2026, 11, 30) and reminder.resolved_at is None
    assert not ComparisonRun.objects.filter(division_id="140425").exists()

    rosters_for("140425", D(2026, 11, 1), kinds=("hukou_out", "assistance"))
    schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    reminder.refresh_from_db()
    run = ComparisonRun.objects.get(division_id="140425")
    assert reminder.resolved_at is not None and reminder.run == run


@pytest.mark.django_db
def test_a_city_wide_roster_serves_each_county_and_old_periods_do_not_count(rosters_for):
    rosters_for("140400", D(2026, 10, 1))  # October: not the period that is due
    schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    assert not ComparisonRun.objects.filter(division__level="county").exists()
    rosters_for("140400", D(2026, 11, 1))
    result = schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    counties = set(
        Division.objects.filter(level="county", successor__isnull=True).values_list(
            "code", flat=True
        )
    )
    assert counties <= set(result["started"])
    # the city's half-year (January–June) has no rosters of its own period
    assert "140400" in result["reminded"]


@pytest.mark.django_db
def test_a_scheduled_run_starts_as_a_job_of_its_divisions_jurisdiction(rosters_for):
    from jobs.models import Job

    rosters_for("140425", D(2026, 11, 1))
    schedule.start_due_runs(TODAY)
    run = ComparisonRun.objects.select_related("job").get(division_id="140425")
    assert run.job.kind == "comparison" and run.job.params == {"run": run.pk}
    assert run.job.state == Job.State.QUEUED and run.job.user is None
    assert run.job.division_code == "140425"  # its administrators see it in 我的任务


@pytest.mark.django_db
def test_a_run_cancelled_or_failed_does_not_cover_its_period(rosters_for):
    from jobs import services as jobs

    rosters_for("140425", D(2026, 11, 1))
    schedule.start_due_runs(TODAY)
    first = ComparisonRun.objects.select_related("job").get(division_id="140425")
    jobs.cancel(first.job)
    again = schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    assert "140425" in again["started"]


@pytest.mark.django_db
def test_nothing_starts_when_not_due(rosters_for):
    rosters_for("140425", D(2026, 11, 1))
    schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    again = schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    assert "140425" not in again["started"] and "140425" not in again["reminded"]
    assert ComparisonRun.objects.filter(division_id="140425").count() == 1


@pytest.mark.django_db
def test_the_beat_task_is_scheduled_and_runs_the_schedule(settings, monkeypatch):
    from review import tasks

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].startswith("review.")]
    assert [e["task"] for e in entries] == ["review.start_due_comparisons"]
    # a comparison is a background job: the jobs app's reaper covers it
    assert "jobs.reap" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    called = []
    monkeypatch.setattr(schedule, "start_due_runs", lambda: called.append(1) or {"started": []})
    assert tasks.start_due_comparisons() == {"started": []}
    assert called == [1]


@pytest.mark.django_db
def test_dashboard_shows_reminders(client, make_user, rosters_for):
    rosters_for("140425", D(2026, 11, 1), kinds=("death",))
    schedule.start_due_runs(TODAY, enqueue=lambda pk: None)
    client.force_login(make_user("clerk", "140425"))
    body = client.get(reverse("review_dashboard")).content.decode()
    assert "缺少比对数据：户籍迁出、残疾人基础库" in body


# --- through a real worker ----------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_scheduled_comparison_runs_in_a_real_celery_worker(celery_worker_process, roster_file):
    from jobs.models import Job

    load_demo(60, seed=7)
    from archive.models import Person

    person = Person.objects.filter(county_id="140425", enrolments__isnull=False).first()
    death = [{"姓名": person.name, "公民身份号码": person.id_number, "死亡日期": "2026-10-01"}]
    for kind in REQUIRED:
        path = roster_file(kind, death if kind == "death" else [])
        with path.open("rb") as fh:
            services.store_roster(
                fh,
                path.name,
                kind=kind,
                division=Division.objects.get(code="140425"),
                period=D(2026, 11, 1),
            )
    assert "140425" in schedule.start_due_runs(TODAY)["started"]  # sent on commit
    run = ComparisonRun.objects.get(division_id="140425")
    deadline_at = time.monotonic() + 120
    while time.monotonic() < deadline_at:
        run.refresh_from_db()
        # The run is stored before its job is marked done: wait for both.
        if run.has_ended and Job.objects.filter(pk=run.job_id, finished_at__isnull=False).exists():
            break
        time.sleep(0.5)
    assert run.status == ComparisonRun.Status.FINISHED, run.error
    assert Job.objects.get(pk=run.job_id).percent == 100
    assert run.findings.filter(code="DECEASED", id_number=person.id_number).exists()
