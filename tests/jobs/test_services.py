"""The reaper and the cleaner (jobs/services.py): a job whose worker died is retried where
that is safe and failed with the reason otherwise; old job files and abandoned uploads go."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from archive.imports import uploads
from jobs import services
from jobs.models import Job
from jobs.runner import job_dir
from tests.jobs import kinds

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path: Path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def _running(kind: str, *, attempts: int = 1, beat_age: float = 3600) -> Job:
    job = services.submit(kind, user=None)
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING,
        attempts=attempts,
        task_id="sent",
        heartbeat_at=timezone.now() - timedelta(seconds=beat_age),
    )
    return Job.objects.get(pk=job.pk)


def test_a_job_with_a_live_heartbeat_is_left_alone():
    job = _running(kinds.COUNT, beat_age=1)
    assert services.reap() == {"retried": [], "failed": [], "resent": []}
    job.refresh_from_db()
    assert job.state == "running"


def test_a_dead_workers_job_that_may_run_again_is_queued_again():
    job = _running(kinds.COUNT)
    assert services.reap()["retried"] == [job.pk]
    job.refresh_from_db()
    assert job.state == "queued" and "重试" in job.message


def test_a_dead_workers_job_that_must_not_run_twice_fails_with_the_reason():
    job = _running(kinds.UNSAFE)
    assert services.reap()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.state == "failed" and job.error == services.WORKER_DIED
    assert job.finished_at is not None


def test_a_job_whose_worker_died_on_every_attempt_fails():
    job = _running(kinds.COUNT, attempts=services.MAX_ATTEMPTS)
    assert services.reap()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.error == services.WORKER_DIED_AGAIN


def test_a_job_the_reaper_ends_is_announced_like_any_other_end():
    from jobs.signals import job_finished

    received = []
    job_finished.connect(
        lambda sender, job, **kw: received.append(job.state), weak=False, dispatch_uid="test-reaped"
    )
    try:
        _running(kinds.UNSAFE)
        _running(kinds.COUNT)  # retried: not an end
        services.reap()
    finally:
        job_finished.disconnect(dispatch_uid="test-reaped")
    assert received == ["failed"]


def test_a_dead_job_its_owner_cancelled_ends_cancelled():
    job = _running(kinds.COUNT)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    services.reap()
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_a_job_that_never_reached_the_broker_is_sent_again():
    job = services.submit(kinds.COUNT, user=None)  # on_commit never fires in this test
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert services.reap()["resent"] == [job.pk]
    job.refresh_from_db()
    assert job.task_id  # queued on the real broker this time


def test_files_of_long_finished_jobs_are_removed_and_live_ones_kept(settings):
    old = services.submit(kinds.COUNT, user=None)
    live = services.submit(kinds.COUNT, user=None)
    Job.objects.filter(pk=old.pk).update(
        state=Job.State.DONE, finished_at=timezone.now() - timedelta(days=30)
    )
    for job in (old, live):
        (job_dir(job) / "export.xlsx").write_bytes(b"data")
        os.utime(job_dir(job), (time.time() - 3600, time.time() - 3600))
    assert [p.name for p in services.clean_files()] == [str(old.pk)]
    assert not (Path(settings.PRIVATE_MEDIA_ROOT) / "jobs" / str(old.pk)).exists()
    assert (job_dir(live) / "export.xlsx").exists()


def test_abandoned_uploads_and_partial_writes_are_swept_and_fresh_ones_kept():
    directory = uploads.imports_dir()
    stale, partial, fresh = (directory / n for n in ("a.upload", "b.part", "c.upload"))
    for item in (stale, partial, fresh):
        item.write_bytes(b"x")
    day_ago = time.time() - uploads.MAX_AGE_SECONDS - 60
    for item in (stale, partial):
        os.utime(item, (day_ago, day_ago))
    assert sorted(p.name for p in uploads.sweep()) == ["a.upload", "b.part"]
    assert fresh.exists()
