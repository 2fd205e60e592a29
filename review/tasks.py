"""Celery tasks of data comparison; thin wrappers around :mod:`review.services` and
:mod:`review.schedule`.

- ``review.run_comparison``: runs a pending comparison run, saving progress on the run row
  (the admin page polls it).
- ``review.reap_runs`` (beat, every minute): runs whose worker died are queued again (once)
  or failed with the reason (``review.services.reap_runs``).
- ``review.start_due_comparisons`` (beat, daily): starts the comparisons that are due when
  their rosters are present, and records a reminder when they are missing.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="review.run_comparison", acks_late=True)
def run_comparison(run_id: int) -> str:
    from review.services import execute_run

    run = execute_run(run_id)
    return run.status


@shared_task(name="review.start_due_comparisons")
def start_due_comparisons() -> dict[str, list[str]]:
    from review.schedule import start_due_runs

    return start_due_runs()


@shared_task(name="review.reap_runs")
def reap_runs() -> dict[str, list[int]]:
    from review import services

    reaped = services.reap_runs()
    for pk in reaped["retried"]:
        run_comparison.delay(pk)
    return reaped
