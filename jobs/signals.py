"""What the jobs app tells the apps whose kinds it runs.

``job_finished(sender=Job, job=<Job>)`` is sent once a job has reached a finished state
(done, failed, cancelled) — by the runner when its function returns or raises, by
:func:`jobs.services.cancel` for a job cancelled before it started, and by
:func:`jobs.services.reap` for a job whose worker died. An app that keeps a row of its own
beside a job (a comparison run) settles it here when the job ended without its function
saying so (cancelled in the queue, its worker died). Receivers are called robustly: an error
is logged and does not change the job.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

logger = logging.getLogger("jobs")

job_finished = Signal()


def send_finished(job) -> None:
    from jobs.models import Job

    job = Job.objects.get(pk=job.pk)
    for receiver, outcome in job_finished.send_robust(sender=Job, job=job):
        if isinstance(outcome, Exception):
            logger.error(
                "job %s: receiver %r of job_finished raised", job.pk, receiver, exc_info=outcome
            )
