"""Celery tasks of data comparison; a thin wrapper around :mod:`review.schedule`.

- ``review.start_due_comparisons`` (beat, daily): starts the comparisons that are due when
  their rosters are present, and records a reminder when they are missing.

A comparison itself runs as a background job (``review/jobs.py``, the task ``jobs.run``);
``jobs.reap`` takes care of one whose worker died.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="review.start_due_comparisons")
def start_due_comparisons() -> dict[str, list[str]]:
    from review.schedule import start_due_runs

    return start_due_runs()
