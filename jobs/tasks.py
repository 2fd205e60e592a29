"""Celery tasks of the jobs app; thin wrappers around :mod:`jobs.runner` and :mod:`jobs.services`.

- ``jobs.run``: runs one job (the queue is chosen per call from the job's kind);
- ``jobs.reap`` (beat, every minute): jobs of dead workers retried or failed;
- ``jobs.clean`` (beat, hourly): files of old jobs removed.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="jobs.run", acks_late=True)
def run(job_id: int) -> str:
    from jobs.runner import execute

    return execute(job_id)


@shared_task(name="jobs.reap")
def reap() -> dict[str, list[int]]:
    from jobs.services import reap as reap_jobs

    return reap_jobs()


@shared_task(name="jobs.clean")
def clean() -> int:
    from jobs.services import clean_files

    return len(clean_files())
