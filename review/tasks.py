"""Celery tasks of data comparison; thin wrappers around :mod:`review.services` and
:mod:`review.schedule`.

- ``review.run_comparison``: runs a pending comparison run, saving progress on the run row
  (the admin page polls it).
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
