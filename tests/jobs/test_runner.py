"""The runner (jobs/runner.py): a claimed job runs once, reports progress, ends in a state
with a Chinese message, and stops without leaving half its writes when its owner cancels."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from archive.models import Division
from jobs import services
from jobs.models import Job
from jobs.runner import CANCELLED, OUT_OF_MEMORY, execute
from tests.helpers import wait_until
from tests.jobs import kinds

pytestmark = pytest.mark.django_db


def _job(kind: str, **params) -> Job:
    return services.submit(kind, user=None, **params)


def test_a_job_runs_to_done_with_its_progress_at_100_percent_and_its_result():
    job = _job(kinds.COUNT, total=7)
    assert (job.state, job.percent, job.queue) == ("queued", 0, "interactive")
    assert execute(job.pk) == "done"
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.percent) == ("done", 7, 7, 100)
    assert job.result == {"summary": "数到 7", "url": "/admin/"}
    assert job.message == "数到 7" and job.attempts == 1
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at


def test_a_second_delivery_of_the_same_job_does_not_run_it_again():
    job = _job(kinds.COUNT)
    execute(job.pk)
    assert execute(job.pk) == "done"
    job.refresh_from_db()
    assert job.attempts == 1


def test_an_expected_failure_keeps_its_chinese_message_and_where_to_go_back():
    job = _job(kinds.FAIL)
    assert execute(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == "文件不是花名册。"
    assert job.result == {"url": "/admin/import/"}


def test_an_unexpected_error_is_told_in_chinese_with_the_job_number_and_no_traceback():
    job = _job(kinds.BOOM)
    assert execute(job.pk) == "failed"
    job.refresh_from_db()
    assert f"任务编号 {job.pk}" in job.error
    assert "division" not in job.error and "Error" not in job.error


def test_a_job_past_its_memory_limit_fails_in_chinese_and_its_writes_are_rolled_back(settings):
    settings.JOB_PARSE_MEMORY_LIMIT_MB = 64
    job = _job(kinds.MEMORY_HOG, mb=1024)
    assert execute(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == OUT_OF_MEMORY
    assert not Division.objects.filter(code="149996").exists()


def test_a_job_within_its_memory_limit_runs_and_the_next_job_has_its_memory_back(settings):
    settings.JOB_PARSE_MEMORY_LIMIT_MB = 64
    execute(_job(kinds.MEMORY_HOG, mb=1024).pk)
    settings.JOB_PARSE_MEMORY_LIMIT_MB = 2048
    job = _job(kinds.MEMORY_HOG, mb=1024)
    assert execute(job.pk) == "done"
    assert Division.objects.filter(code="149996").exists()


def test_a_queued_job_cancelled_by_its_owner_never_runs():
    job = _job(kinds.COUNT)
    assert services.cancel(job)
    assert execute(job.pk) == "cancelled"
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("cancelled", 0)


def test_a_running_job_stops_at_its_next_report_and_its_writes_are_rolled_back():
    job = _job(kinds.WRITE_THEN_REPORT)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    assert execute(job.pk) == "cancelled"
    job.refresh_from_db()
    assert job.message == CANCELLED
    assert not Division.objects.filter(code="149999").exists()


def test_cancelling_a_finished_job_is_refused():
    job = _job(kinds.COUNT)
    execute(job.pk)
    assert services.cancel(job) is False


def test_an_unknown_kind_is_refused_at_submission():
    with pytest.raises(LookupError):
        services.submit("no_such_kind", user=None)


def test_a_kind_queues_on_its_declared_queue():
    assert _job(kinds.UNSAFE).queue == "bulk"


def test_a_job_run_here_tells_its_caller_every_report_and_ends_done():
    seen = []
    job = services.run_here(
        kinds.COUNT, user=None, on_progress=lambda *report: seen.append(report), total=2
    )
    assert (job.state, job.percent, job.task_id) == ("done", 100, "here")
    assert seen == [(0, 2, "第 0 步"), (1, 2, "第 1 步"), (2, 2, "第 2 步")]


@pytest.fixture
def finished_signals():
    from jobs.signals import job_finished

    received: list[tuple[int, str]] = []

    def receive(sender, job, **kwargs):
        received.append((job.pk, job.state))

    job_finished.connect(receive, dispatch_uid="test-finished")
    yield received
    job_finished.disconnect(dispatch_uid="test-finished")


def test_the_end_of_a_job_is_announced_once_with_its_final_state(finished_signals):
    done, failed, cancelled = _job(kinds.COUNT), _job(kinds.FAIL), _job(kinds.COUNT)
    execute(done.pk)
    execute(done.pk)  # a second delivery ends nothing
    execute(failed.pk)
    services.cancel(cancelled)
    assert finished_signals == [
        (done.pk, "done"),
        (failed.pk, "failed"),
        (cancelled.pk, "cancelled"),
    ]


def test_a_receiver_that_raises_does_not_change_the_job(finished_signals):
    from jobs.signals import job_finished

    def broken(sender, job, **kwargs):
        raise RuntimeError("receiver bug")

    job_finished.connect(broken, dispatch_uid="test-broken")
    try:
        job = _job(kinds.COUNT)
        assert execute(job.pk) == "done"
    finally:
        job_finished.disconnect(dispatch_uid="test-broken")
    assert finished_signals == [(job.pk, "done")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_progress_inside_a_kinds_transaction_leaves_the_job_row_unlocked_for_the_heartbeat(
    settings,
):
    """An UPDATE of the job row inside the kind's transaction would lock it until the commit,
    stall the heartbeat and let the reaper take a live job for dead; the heartbeat writes that
    progress from its own connection instead."""
    settings.WORKER_HEARTBEAT_SECONDS = 0.2
    # Not sent to the broker: in a transaction=True test submit's on_commit sends at once, and
    # a worker left running by an earlier test would claim it (with its own heartbeat interval).
    job = Job.objects.create(kind=kinds.REPORT_IN_TRANSACTION, queue="interactive", params={})

    def run() -> None:
        execute(job.pk)
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_until(lambda: Job.objects.filter(pk=job.pk, done=1, total=4).exists(), 20)
        with transaction.atomic():
            Job.objects.select_for_update(nowait=True).get(pk=job.pk)  # raises if locked
    finally:
        Division.objects.create(code="149997", name="放行", level="county")
        thread.join(30)
    job.refresh_from_db()
    assert (job.state, job.total, job.percent) == ("done", 4, 100)
    assert Division.objects.filter(code="149998").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a libpq connection left mid-query")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_time_limit_striking_in_the_middle_of_a_query_still_fails_the_job_in_chinese():
    from jobs.runner import TIMED_OUT

    job = _job(kinds.TIMED_OUT_MID_QUERY)
    assert execute(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", TIMED_OUT)
