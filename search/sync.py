"""Keeping the Elasticsearch index in step with the database without losing a write.

1. A change to a record the index shows writes an outbox row (`OutboxEntry`) in the same
   transaction, through the signals below — so a rollback leaves nothing to index and a
   commit always leaves a row, whatever happens to the broker or Elasticsearch.
2. After commit (`transaction.on_commit`, once per transaction however many rows were
   written) a Celery task drains the outbox in batches: it reads the current state of every
   object in the batch and sends one bulk request per kind, each document with the external
   version of its newest outbox row, so an older write arriving late is refused by
   Elasticsearch instead of overwriting a newer one. Objects that no longer qualify are
   deleted from the index, with the same versioning.
3. If Elasticsearch is down the rows simply wait (`search_index catch-up`, or the drain that
   Celery beat runs every minute, indexes them when it is back).

With the database backend there is no index and nothing is written to the outbox.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from archive.models import (
    AuditLog,
    CaseFile,
    Certificate,
    DataFlag,
    Document,
    DocumentVersion,
    Enrolment,
    EnrolmentChange,
    FamilyStatus,
    ImportRecord,
    Person,
)
from review.models import Finding, Verification
from review.signals import run_finished
from search import records
from search.backends import KINDS, get_backend
from search.models import OutboxEntry

logger = logging.getLogger("search.sync")

BATCH = 1000
#: Processed rows are kept this long, so a rebuild can replay what was indexed meanwhile.
KEEP_PROCESSED = timedelta(days=1)

CASE_FILE = OutboxEntry.Kind.CASE_FILE
DOCUMENT = OutboxEntry.Kind.DOCUMENT
ROWS = {CASE_FILE: records.case_file_rows, DOCUMENT: records.document_rows}


def active() -> bool:
    """Whether changes go through the outbox (an index is kept beside the database)."""
    return get_backend().uses_outbox


def enqueue(kind: str, ids: Iterable[int]) -> int:
    """Records that these objects changed (one outbox row each, one INSERT in all) and
    schedules a drain after commit. The call to make from a bulk write that sends no signals."""
    if not active():
        return 0
    entries = [OutboxEntry(kind=kind, object_id=pk) for pk in sorted(set(ids))]
    if not entries:
        return 0
    OutboxEntry.objects.bulk_create(entries)
    schedule_drain()
    return len(entries)


def enqueue_people(person_ids: Iterable[int] | QuerySet) -> int:
    if not active():
        return 0
    return enqueue(CASE_FILE, records.case_files_of_people(person_ids))


def _send_drain() -> None:
    from search.tasks import drain_outbox

    try:
        drain_outbox.delay()
    except Exception:  # the broker being down must not fail a committed change
        logger.warning(
            "search: could not queue the outbox drain; beat will drain it", exc_info=True
        )


def schedule_drain() -> None:
    """Queues one drain after the current transaction commits (at once outside one); never
    for a rolled-back transaction, and once however many changes it holds."""
    pending = getattr(connection, "run_on_commit", [])
    if any(entry[1] is _send_drain for entry in pending):
        return
    transaction.on_commit(_send_drain)


def drain(batch: int = BATCH, *, refresh: bool = False) -> int:
    """Indexes what the outbox holds, oldest first, a batch at a time, until it is empty.
    Returns how many rows were processed. Raises SearchUnavailable when the engine is down
    (the rows stay for the next attempt)."""
    backend = get_backend()
    done = 0
    while True:
        entries = list(OutboxEntry.objects.filter(processed_at__isnull=True).order_by("id")[:batch])
        if not entries:
            break
        apply(backend, entries)
        OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
            processed_at=timezone.now()
        )
        done += len(entries)
        if len(entries) < batch:
            break
    OutboxEntry.objects.filter(processed_at__lt=timezone.now() - KEEP_PROCESSED).delete()
    if refresh and done and backend.uses_outbox:
        for kind in KINDS:
            backend.refresh(kind)
    return done


def apply(backend, entries: Iterable[OutboxEntry], *, target: dict[str, str] | None = None) -> None:
    """Indexes the current state of the objects of these entries, one bulk request per kind,
    each at the version of its newest entry."""
    versions: dict[str, dict[int, int]] = defaultdict(dict)
    for entry in entries:
        known = versions[entry.kind].get(entry.object_id, 0)
        versions[entry.kind][entry.object_id] = max(known, entry.pk)
    for kind, by_id in versions.items():
        rows = list(ROWS[kind](by_id))
        present = {row["id"] for row in rows}
        deletes = [pk for pk in by_id if pk not in present]
        backend.write(kind, rows, deletes, by_id, **({"target": target[kind]} if target else {}))


def pending_counts() -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for kind, n in _pending_by_kind():
        counts[kind] = n
    return counts


def _pending_by_kind():
    from django.db.models import Count

    return (
        OutboxEntry.objects.filter(processed_at__isnull=True)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )


# --- Signals: which changes touch which indexed objects ----------------------------------------


def _case_file_changed(sender, instance: CaseFile, **kwargs) -> None:
    enqueue(CASE_FILE, [instance.pk])


def _person_changed(sender, instance, **kwargs) -> None:
    person_id = instance.pk if isinstance(instance, Person) else instance.person_id
    if person_id:
        enqueue_people([person_id])


def _document_changed(sender, instance: Document, **kwargs) -> None:
    enqueue(DOCUMENT, [instance.pk])
    if instance.case_file_id:
        enqueue(CASE_FILE, [instance.case_file_id])


def _version_changed(sender, instance: DocumentVersion, **kwargs) -> None:
    if not active():
        return
    document = Document.objects.filter(pk=instance.document_id).values("case_file_id").first()
    enqueue(DOCUMENT, [instance.document_id])
    if document and document["case_file_id"]:
        enqueue(CASE_FILE, [document["case_file_id"]])


def _verification_changed(sender, instance: Verification, **kwargs) -> None:
    if not active():
        return
    person_id = Finding.objects.filter(pk=instance.finding_id).values_list("person_id", flat=True)
    enqueue_people([p for p in person_id if p])


def _import_recorded(sender, instance: AuditLog, created: bool, **kwargs) -> None:
    """The roster import writes with bulk_create/bulk_update, which send no signals; it audits
    itself last, in the same transaction, so its audit entry is the moment to enqueue every
    case file it touched: people updated, certificates recorded or enrolments changed by it."""
    if not created or instance.action != "import" or instance.object_type != "archive.ImportRecord":
        return
    if not active():
        return
    record = ImportRecord.objects.filter(pk=instance.object_id).first()
    if record is None:
        return
    since = record.imported_at
    people = set(Person.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
    people |= set(
        Certificate.objects.filter(recorded_at__gte=since).values_list("person_id", flat=True)
    )
    people |= set(
        EnrolmentChange.objects.filter(source=f"导入 #{record.pk}").values_list(
            "enrolment__person_id", flat=True
        )
    )
    people |= set(
        DataFlag.objects.filter(Q(raised_by=record) | Q(cleared_by=record)).values_list(
            "person_id", flat=True
        )
    )
    enqueue_people(people)


def _run_finished(sender, run, previous, **kwargs) -> None:
    """A comparison run stored its findings (by COPY or bulk_create, which send no post_save):
    the people it or the run before it found something about have a changed ``open_finding``
    flag."""
    if not active():
        return
    runs = [r.pk for r in (run, previous) if r is not None]
    enqueue_people(
        Finding.objects.filter(run_id__in=runs, person_id__isnull=False).values("person_id")
    )


def connect() -> None:
    """Connects the signals (`search.apps`)."""
    for model, handler in (
        (CaseFile, _case_file_changed),
        (Person, _person_changed),
        (Certificate, _person_changed),
        (FamilyStatus, _person_changed),
        (Enrolment, _person_changed),
        (DataFlag, _person_changed),
        (Finding, _person_changed),
        (Document, _document_changed),
        (DocumentVersion, _version_changed),
        (Verification, _verification_changed),
    ):
        uid = f"search-{model._meta.label_lower}"
        post_save.connect(handler, sender=model, dispatch_uid=uid)
        post_delete.connect(handler, sender=model, dispatch_uid=f"{uid}-delete")
    post_save.connect(_import_recorded, sender=AuditLog, dispatch_uid="search-import")
    run_finished.connect(_run_finished, dispatch_uid="search-comparison-run")
