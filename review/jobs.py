"""Data comparison as a kind of long work (``jobs.kinds``).

A run (比对批次) is created first, with its inputs fixed (``review.services.create_run``); its
job then executes it (``review.services.execute_run``). The admin page (review/views.py) and
the schedule (review/schedule.py) submit the job to a worker; the ``compare`` command runs it
in its own process and waits (:func:`run_now`).

The job carries what any long work has: progress (the job page and the run page show it),
the heartbeat, retries after a worker died, cancellation. The run keeps its own status: the
job's function moves it along, and a job that ended without its function saying so (cancelled
while queued, failed by the reaper after its worker died) settles it in :func:`_settle_run`.
Running again is safe: the findings are stored in one transaction, so a dead or cancelled
attempt stored none.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from core.divisions import division_prefix
from jobs import services as jobs
from jobs.kinds import INTERACTIVE, JobFailed, register
from jobs.models import Job
from jobs.runner import Context, OnProgress
from jobs.signals import job_finished
from review import services
from review.models import ComparisonRun

COMPARISON = "comparison"


def _run_url(run_id: int) -> str:
    return reverse("review_run_detail", kwargs={"pk": run_id})


@register(COMPARISON, "数据比对", queue=INTERACTIVE, retry_safe=True)
def compare(context: Context) -> dict[str, Any]:
    run_id = context.params["run"]
    ComparisonRun.objects.filter(pk=run_id, job__isnull=True).update(job_id=context.job.pk)
    if context.job.attempts > 1:
        # The attempt of a worker that died left the run running, with no finding stored.
        ComparisonRun.objects.filter(pk=run_id, status=ComparisonRun.Status.RUNNING).update(
            status=ComparisonRun.Status.PENDING
        )

    def report(stage: str, percent: int) -> None:
        context.progress(percent, 100, stage, force=True)

    try:
        run = services.execute_run(run_id, progress=report, check=context.check_cancelled)
    except services.ReviewError as error:
        raise JobFailed(str(error), url=_run_url(run_id)) from None
    if not run.is_finished:
        raise JobFailed("该比对批次已经结束，未再次运行。", url=_run_url(run_id))
    return {
        "url": _run_url(run.pk),
        "summary": f"比对完成：比对 {run.checked} 人次，发现 {run.finding_count} 条"
        f"（新增 {run.new_count}，仍存在 {run.still_open_count}，已消除 {run.resolved_count}）",
    }


def _division_code(run_id: int) -> str:
    # The job belongs to the run's jurisdiction: administrators there see it (archive/job_views).
    return division_prefix(
        ComparisonRun.objects.values_list("division_id", flat=True).get(pk=run_id)
    )


def submit_run(run_id: int, *, user: Any = None) -> Job:
    """Queue the job of a pending run (sent to a worker when the transaction commits)."""
    job = jobs.submit(COMPARISON, user=user, division_code=_division_code(run_id), run=run_id)
    ComparisonRun.objects.filter(pk=run_id).update(job=job)
    return job


def run_now(run_id: int, *, user: Any = None, on_progress: OnProgress | None = None) -> Job:
    """Run the job of a pending run in this process (the ``compare`` command); returns the
    finished job."""
    return jobs.run_here(
        COMPARISON,
        user=user,
        division_code=_division_code(run_id),
        on_progress=on_progress,
        run=run_id,
    )


def progress_of(run: ComparisonRun) -> tuple[int, str]:
    """What the run page shows while the run is on its way: percent and step, from its job."""
    if run.is_finished:
        return 100, "完成"
    if run.has_ended or run.job is None:
        return 0, ""
    return run.job.percent, run.job.message


@receiver(job_finished, dispatch_uid="review.settle_run")
def _settle_run(sender: type[Job], job: Job, **kwargs: Any) -> None:
    """A comparison's job ended without its run ending: the run ends the same way."""
    if job.kind != COMPARISON or job.state == Job.State.DONE:
        return
    cancelled = job.state == Job.State.CANCELLED
    ComparisonRun.objects.filter(pk=job.params.get("run")).exclude(
        status__in=ComparisonRun.ENDED
    ).update(
        status=ComparisonRun.Status.CANCELLED if cancelled else ComparisonRun.Status.FAILED,
        error="" if cancelled else job.error,
        finished_at=timezone.now(),
    )
