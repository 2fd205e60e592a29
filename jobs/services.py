"""Submitting, cancelling and reaping jobs, and removing their old files.

Called by views and commands (submit, cancel, run_here) and by beat (reap, clean); the Celery
task that runs a job is only :func:`jobs.runner.execute` behind ``jobs.run``.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import kinds
from jobs.models import Job
from jobs.signals import send_finished

if TYPE_CHECKING:
    from jobs.runner import OnProgress

logger = logging.getLogger("jobs")

#: What the user reads on a job whose worker died and that may not run twice.
WORKER_DIED = "处理进程意外中断（如服务器重启），任务未完成，未写入任何数据。请重新提交。"
#: ... and on one that died on every attempt.
WORKER_DIED_AGAIN = (
    "处理进程两次意外中断，任务未完成，未写入任何数据。请稍后重新提交，或联系系统管理员。"
)
#: A job may run this many times in all before the reaper gives up.
MAX_ATTEMPTS = 2


def _send(job: Job) -> None:
    """Queue the job's task; a broker that is down leaves ``task_id`` empty for the reaper."""
    from jobs.tasks import run

    limit = kinds.get(job.kind).seconds()
    # Soft limit: the kind stops with SoftTimeLimitExceeded (jobs.runner fails it with the
    # reason); the hard one, a little later, kills a child that ignored it.
    limits = {"soft_time_limit": limit, "time_limit": limit + 30} if limit else {}
    try:
        result = run.apply_async((job.pk,), queue=job.queue, **limits)
    except Exception:  # the job row is kept; reap() sends it again
        logger.exception("job %s could not be queued", job.pk)
        return
    Job.objects.filter(pk=job.pk).update(task_id=result.id)


def submit(kind: str, *, user: Any, division_code: str = "", **params: Any) -> Job:
    """Create the job and queue it once the surrounding transaction commits."""
    spec = kinds.get(kind)
    job = Job.objects.create(
        kind=spec.name,
        user=user if user is not None and user.is_authenticated else None,
        division_code=division_code,
        params=params,
        queue=spec.queue,
        message="等待处理",
    )
    transaction.on_commit(lambda: _send(job))
    return job


def run_here(
    kind: str,
    *,
    user: Any,
    division_code: str = "",
    on_progress: OnProgress | None = None,
    **params: Any,
) -> Job:
    """Create the job and run it in this process at once (a management command, which waits
    for its result); returns the finished job. It beats like any job: if this process dies,
    :func:`reap` treats it as any dead worker's job. Interrupted here (Ctrl-C), it is marked
    for cancelling, so the reaper ends it cancelled instead of running it again elsewhere."""
    from jobs.runner import execute

    spec = kinds.get(kind)
    job = Job.objects.create(
        kind=spec.name,
        user=user if user is not None and user.is_authenticated else None,
        division_code=division_code,
        params=params,
        queue=spec.queue,
        task_id="here",  # never sent: the reaper must not send it while it runs here
        message="等待处理",
    )
    try:
        execute(job.pk, on_progress)
    except KeyboardInterrupt:
        cancel(job)
        raise
    return Job.objects.get(pk=job.pk)


def cancel(job: Job) -> bool:
    """A queued job is cancelled at once; a running one stops at its next progress report.
    Returns False for a job that has already finished."""
    if Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
        state=Job.State.CANCELLED,
        cancel_requested=True,
        finished_at=timezone.now(),
        message="已取消",
    ):
        send_finished(job)
        return True
    return bool(
        Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
            cancel_requested=True, message="正在取消…"
        )
    )


def reap() -> dict[str, list[int]]:
    """Jobs whose worker died (the heartbeat of a running job stopped), and queued jobs that
    never reached the broker (it was down when they were submitted). A kind that is safe to run again is
    queued again (up to :data:`MAX_ATTEMPTS` runs); any other is failed with the reason."""
    now = timezone.now()
    dead = now - timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)
    unsent = now - timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)
    retried, failed, resent = [], [], []
    for job in Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=dead):
        spec = kinds.get(job.kind)
        if job.cancel_requested:
            changed = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
                state=Job.State.CANCELLED, finished_at=now, message="已取消"
            )
            if changed:
                failed.append(job.pk)
                send_finished(job)
        elif spec.retry_safe and job.attempts < MAX_ATTEMPTS:
            if Job.objects.filter(
                pk=job.pk, state=Job.State.RUNNING, heartbeat_at=job.heartbeat_at
            ).update(state=Job.State.QUEUED, message="处理进程中断，正在重试"):
                retried.append(job.pk)
                _send(job)
        else:
            reason = WORKER_DIED_AGAIN if spec.retry_safe else WORKER_DIED
            if Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
                state=Job.State.FAILED, finished_at=now, error=reason
            ):
                failed.append(job.pk)
                send_finished(job)
    for job in Job.objects.filter(state=Job.State.QUEUED, task_id="", created_at__lt=unsent):
        resent.append(job.pk)  # a second delivery is harmless: only one can claim the job
        _send(job)
    if retried or failed:
        logger.warning("reaped jobs: retried %s, failed %s", retried, failed)
    return {"retried": retried, "failed": failed, "resent": resent}


def clean_files(max_age_seconds: int | None = None) -> list[Path]:
    """Remove the files of jobs finished longer ago than ``JOB_FILES_MAX_AGE_SECONDS`` (an
    export downloaded or not is personal data that must not pile up), and directories of jobs
    that no longer exist."""
    max_age = settings.JOB_FILES_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    root = Path(settings.PRIVATE_MEDIA_ROOT) / "jobs"
    if not root.is_dir():
        return []
    cutoff = timezone.now() - timedelta(seconds=max_age)
    removed = []
    live = set(
        Job.objects.exclude(state__in=Job.FINISHED, finished_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for directory in root.iterdir():
        if not directory.is_dir():
            continue
        if directory.name.isdigit() and int(directory.name) in live:
            continue
        if time.time() - directory.stat().st_mtime < 60:
            continue  # just created by a job being submitted this moment
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed
