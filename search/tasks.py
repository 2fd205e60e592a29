"""Celery tasks of the search index: draining the outbox (`search.sync`)."""

from __future__ import annotations

from celery import shared_task

from search import sync
from search.backends import SearchUnavailable


@shared_task(name="search.drain_outbox", bind=True, max_retries=5)
def drain_outbox(self) -> int:
    """Indexes what is waiting in the outbox. With Elasticsearch down it retries a few
    times with a growing delay; beat also runs it every minute, so nothing waits for long."""
    try:
        return sync.drain()
    except SearchUnavailable as error:
        delay = min(300, 10 * 2 ** min(self.request.retries, 5))
        raise self.retry(exc=error, countdown=delay) from error
