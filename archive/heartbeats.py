"""Heartbeats of background work on database rows (core/heartbeat.py): OCR of a document
version (``DocumentVersion.ocr_heartbeat_at``). Background jobs (imports, comparisons) beat on
their job row instead (``jobs.runner``).

The reaper (``archive.tasks.reap_ocr``, every minute from beat) takes a row whose beat is
older than ``WORKER_DEAD_AFTER_SECONDS`` as abandoned by a dead worker,
so a killed worker delays its work by a minute or two instead of the broker's visibility timeout
(an hour on Redis) or forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from core.heartbeat import Heartbeat


def beating(rows: QuerySet, field: str) -> Heartbeat:
    """Stamps ``field`` with the time on ``rows`` every ``WORKER_HEARTBEAT_SECONDS`` while the
    ``with`` block runs; the beating thread closes its own database connection at the end."""
    return Heartbeat(
        lambda: rows.update(**{field: timezone.now()}),
        settings.WORKER_HEARTBEAT_SECONDS,
        # Looked up inside the thread: ``connection`` resolves to that thread's own connection.
        finish=lambda: connection.close(),
    )


def dead_before() -> datetime:
    """Work whose last beat is older than this was abandoned."""
    return timezone.now() - timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)
