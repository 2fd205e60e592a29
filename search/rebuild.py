"""Rebuilding an index from the database while searches keep answering (`search_index rebuild`).

For each kind: drop what a rebuild that died half-way left (an index no alias points at; one
rebuild runs at a time, search/jobs.py refuses a second); create a new dated index with refresh
off; stream every object from the database by keyset pagination (ids in order, a batch at a
time, so memory does not grow with the data) through `streaming_bulk`; switch refresh back on; replay the outbox rows written
since the rebuild started (processed or not: the drain may have sent them to the old index
meanwhile) into the new index; swap the alias in one call; replay once more what changed
during the first replay; drop the old index.

Loaded documents get external version 0, lower than any outbox row (ids start at 1; at version 1
a new database's first edit was refused as a conflict), so whatever the outbox says afterwards
wins; the replays read the current rows, so nothing indexed meanwhile is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from archive.models import CaseFile
from search import records, sync
from search.backends import KINDS, get_backend
from search.backends.elasticsearch import ElasticsearchBackend
from search.models import OutboxEntry

BATCH = 1000
LOADED_VERSION = 0
#: Rows created this long before the start are replayed too (a transaction that began before
#: the rebuild may commit its row after the load read the object).
REPLAY_MARGIN = timedelta(minutes=5)

IDS = {"case_file": records.case_file_ids, "document": records.document_ids}
DB_COUNTS = {
    "case_file": lambda: CaseFile.objects.count(),
    "document": lambda: records.indexed_documents().count(),
}


def _replay(backend: ElasticsearchBackend, kind: str, target: str, since) -> int:
    entries = OutboxEntry.objects.filter(kind=kind, created_at__gte=since).order_by("id")
    done, last = 0, 0
    while batch := list(entries.filter(pk__gt=last)[:BATCH]):
        sync.apply(backend, batch, target={kind: target})
        done += len(batch)
        last = batch[-1].pk
    return done


def rebuild(
    backend: ElasticsearchBackend, kind: str, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Rebuilds one kind; returns counts (db, loaded, replayed, index)."""
    for leftover in backend.leftovers(kind):
        backend.drop(leftover)
    started = timezone.now() - REPLAY_MARGIN
    target = backend.create_index(kind, loading=True)
    loaded, after = 0, 0
    while ids := IDS[kind](after, BATCH):
        rows = sync.ROWS[kind](ids)
        versions = dict.fromkeys(ids, LOADED_VERSION)
        loaded += backend.bulk(backend.actions(target, rows, [], versions))
        after = ids[-1]
        if progress:
            progress(len(ids))
    backend.finish_loading(target)
    second = timezone.now() - REPLAY_MARGIN
    replayed = _replay(backend, kind, target, started)
    old = backend.swap(kind, target)
    replayed += _replay(backend, kind, target, second)
    if old:
        backend.drop(old)
    backend.refresh(kind)
    return {
        "db": DB_COUNTS[kind](),
        "loaded": loaded,
        "replayed": replayed,
        "index": backend.count(kind),
    }


def status() -> dict[str, Any]:
    """Counts per kind in the database and the index, and what waits in the outbox — the
    ``search_index status --json`` shape (docs/commands.md) and the admin's index page."""
    backend = get_backend()
    pending = sync.pending_counts() if backend.uses_outbox else dict.fromkeys(KINDS, 0)
    return {
        "backend": backend.name,
        "kinds": {
            kind: {"db": DB_COUNTS[kind](), "index": backend.count(kind), "pending": pending[kind]}
            for kind in KINDS
        },
    }
