"""Long work in the background (后台任务): one record, one runner, one reaper for every operation
that may take longer than a web request — roster upload parsing and import, ZIP and PDF
ingestion, comparisons, large exports, index rebuilds.

The pieces, each a module with one concern:

* :mod:`jobs.models` — :class:`~jobs.models.Job`, the row a page polls: kind, who, division,
  parameters, state, progress (done / total and a message), result or error in Chinese;
* :mod:`jobs.kinds` — the registry: each app declares its kinds in its own ``jobs.py``
  (discovered like ``admin.py``) with a Chinese label, a queue and whether a retry is safe;
* :mod:`jobs.runner` — claims a job, runs its kind's plain function with a
  :class:`~jobs.runner.Context` (progress, cancellation) and records the outcome;
* :mod:`jobs.services` — submit, cancel, reap the jobs of dead workers, clean old files;
* :mod:`jobs.tasks` — the thin Celery tasks.

The app is mechanism only: it imports no other app of the project (``.importlinter``), so
every app may use it; who may see which job (jurisdiction, audit) is decided by the caller
(``archive/job_views.py``).  Why not ``celery-progress`` or ``django-celery-results``: both keep
progress in Celery's result backend, which knows neither the user nor the division, is
flushed with Redis and cannot be filtered by jurisdiction; the job row can, and survives a
broker restart.  Celery itself (acks_late, routing by queue) does the delivery.
"""
