"""Running one job: claim it, run its kind with a :class:`Context`, record the outcome.

Delivery is at least once (``acks_late``: a task whose worker died is delivered again, and the
reaper re-sends jobs it takes back), so :func:`execute` must be safe to call twice for the
same job: the claim is one conditional UPDATE, and a job that is finished, cancelled or held
by a live worker is left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.utils import timezone

from core.heartbeat import Heartbeat
from jobs import kinds, limits
from jobs.models import Job
from jobs.signals import send_finished

logger = logging.getLogger("jobs")

#: Progress is written at most this often (seconds); the last call is always written.
PROGRESS_INTERVAL = 0.5
#: Shown when a kind fails in an unexpected way; the traceback goes to the log only.
UNEXPECTED = (
    "任务执行出错，未完成的修改均未保存。请稍后重试；如仍失败，请联系系统管理员（任务编号 {pk}）。"
)
CANCELLED = "已按要求取消，未写入任何数据。"
TIMED_OUT = "处理超过时限已停止，未写入任何数据：文件可能过大或内容异常，请检查或拆分后重新上传。"
OUT_OF_MEMORY = (
    "处理所需内存超过上限已停止，未写入任何数据：文件可能过大或内容异常，请检查或拆分后重新上传。"
)


class Cancelled(Exception):
    """Raised inside a kind's function at its next progress report after a cancel request."""


def job_dir(job: Job) -> Path:
    """The private directory of a job's files (results to download); mode 0700."""
    directory = Path(settings.PRIVATE_MEDIA_ROOT) / "jobs" / str(job.pk)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


#: ``on_progress(done, total, message)``: told of every report, unthrottled (a command that
#: runs a job in its own process draws its progress bar with it).
OnProgress = Callable[[int, int, str], None]


class Context:
    """What a kind's function gets: its parameters, its user, progress and cancellation."""

    def __init__(self, job: Job, on_progress: OnProgress | None = None) -> None:
        self.job = job
        self.params: dict[str, Any] = job.params
        self._on_progress = on_progress
        self._written = 0.0
        #: How deep in transactions the kind starts; deeper means inside one of its own.
        self._depth = len(connection.atomic_blocks)
        #: Progress reported inside the kind's own transaction, for the heartbeat to write.
        self.pending: tuple[int, int, str] | None = None

    @property
    def user(self) -> Any:
        if self.job.user_id is None:
            return None
        return get_user_model().objects.filter(pk=self.job.user_id).first()

    @property
    def directory(self) -> Path:
        return job_dir(self.job)

    def progress(self, done: int, total: int, message: str = "", *, force: bool = False) -> None:
        """Record progress (throttled; a step's last report always) and stop with
        :class:`Cancelled` if the owner asked."""
        if self._on_progress is not None:
            self._on_progress(done, total, message)
        now = time.monotonic()
        last = total > 0 and done >= total
        if not (force or last) and now - self._written < PROGRESS_INTERVAL:
            return
        self._written = now
        fields = (max(0, done), max(0, total), message[:200])
        if len(connection.atomic_blocks) > self._depth:
            # Inside the kind's own transaction an UPDATE would lock the job's row until the
            # commit, and the heartbeat (another connection) would wait behind it: the job
            # would look dead to the reaper. The heartbeat writes it instead.
            self.pending = fields
        else:
            self.pending = None
            Job.objects.filter(pk=self.job.pk).update(
                done=fields[0], total=fields[1], message=fields[2]
            )
        self.check_cancelled()

    def beat(self) -> None:
        """The heartbeat (its own thread and connection): the time, and any progress
        reported inside the kind's transaction."""
        pending, fields = self.pending, {"heartbeat_at": timezone.now()}
        if pending is not None:
            fields.update(done=pending[0], total=pending[1], message=pending[2])
        Job.objects.filter(pk=self.job.pk).update(**fields)

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise Cancelled


def _claim(job_id: int) -> Job | None:
    """QUEUED → RUNNING, once: a second delivery of the same job finds nothing to claim."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        error="",
    )
    return Job.objects.get(pk=job_id) if claimed else None


def _usable_connection() -> None:
    """A time or memory limit strikes wherever the attempt is, in the middle of a query too:
    the connection is then left with a command in progress and refuses the next one, so the
    job's end could not be written and the job would stay running (seen in
    tests/jobs/test_worker.py once parsing got faster). Such a connection is closed; the next
    query opens a new one."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def _finish(job: Job, state: str, **fields: Any) -> None:
    if Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
        state=state, finished_at=timezone.now(), **fields
    ):
        send_finished(job)


def execute(job_id: int, on_progress: OnProgress | None = None) -> str:
    """Run the job if it is queued; returns the state it ends in (or is already in)."""
    job = _claim(job_id)
    if job is None:
        current = Job.objects.filter(pk=job_id).values_list("state", flat=True).first()
        logger.info("job %s not claimed (state %s)", job_id, current)
        return current or "missing"
    kind = kinds.get(job.kind)
    context = Context(job, on_progress)
    beat = Heartbeat(
        context.beat,
        settings.WORKER_HEARTBEAT_SECONDS,
        finish=lambda: connection.close(),
    )
    logger.info("job %s (%s) started, attempt %s", job.pk, job.kind, job.attempts)
    try:
        with beat:
            context.check_cancelled()
            with limits.memory_ceiling(kind.megabytes()):
                result = kind.run(context)
    except Cancelled:
        _finish(job, Job.State.CANCELLED, message=CANCELLED)
        logger.info("job %s cancelled", job.pk)
        return Job.State.CANCELLED
    except SoftTimeLimitExceeded:
        _usable_connection()
        _finish(job, Job.State.FAILED, error=TIMED_OUT)
        logger.warning("job %s (%s) stopped at its time limit", job.pk, job.kind)
        return Job.State.FAILED
    except MemoryError:
        _usable_connection()
        _finish(job, Job.State.FAILED, error=OUT_OF_MEMORY)
        logger.warning("job %s (%s) stopped at its memory limit", job.pk, job.kind)
        return Job.State.FAILED
    except kinds.JobFailed as failure:
        _finish(job, Job.State.FAILED, error=failure.message, result=failure.result)
        logger.info("job %s failed: %s", job.pk, failure.message)
        return Job.State.FAILED
    except Exception:
        logger.exception("job %s (%s) raised", job.pk, job.kind)
        _usable_connection()
        _finish(job, Job.State.FAILED, error=UNEXPECTED.format(pk=job.pk))
        return Job.State.FAILED
    totals = {} if context.pending is None else {"total": context.pending[1]}
    _finish(
        job,
        Job.State.DONE,
        result=result or {},
        done=F("total") if not totals else totals["total"],
        **totals,
        message=(result or {}).get("summary", "")[:200],
    )
    logger.info("job %s done", job.pk)
    return Job.State.DONE
