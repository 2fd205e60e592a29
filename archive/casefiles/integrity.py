"""The integrity check: every stored original is read again and its SHA-256 compared with the
one recorded when it was uploaded.

Run nightly by Celery beat (``archive.integrity_check``) and by hand with
``manage.py check_integrity``. Each run is kept (`IntegrityRun`) with the list of problems:
*missing* (the file is gone) and *altered* (the bytes changed), each with the documents and case
files that hold the original, shown on the admin page 完整性校验. Files under ``originals/``
that no row refers to (left by an upload interrupted between writing and committing) are
counted as *orphans*; they harm nothing and are reused by the next upload of the same bytes.

Nothing is repaired or deleted automatically: a missing or altered original is restored from
the backup by an administrator.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from archive.documents import storage
from archive.models import DocumentVersion, IntegrityRun, StoredFile

MAX_LISTED = 1000


def check_blob(blob: StoredFile) -> str:
    path = storage.original_path(blob.sha256)
    try:
        digest = storage.hash_file(path)
    except FileNotFoundError:
        return StoredFile.Check.MISSING
    return StoredFile.Check.OK if digest == blob.sha256 else StoredFile.Check.ALTERED


def run_check(triggered_by: str = "", only: Q | None = None) -> IntegrityRun:
    """Re-hashes every original (or those matching ``only``) and records the outcome."""
    run = IntegrityRun.objects.create(triggered_by=triggered_by[:150])
    problems: list[dict] = []
    counts = {"checked": 0, "ok": 0, "missing": 0, "altered": 0}
    known: set[str] = set()
    blobs = StoredFile.objects.all() if only is None else StoredFile.objects.filter(only)
    for blob in blobs.order_by("pk").iterator(chunk_size=500):
        known.add(blob.sha256)
        status = check_blob(blob)
        counts["checked"] += 1
        counts[status] += 1
        StoredFile.objects.filter(pk=blob.pk).update(check_status=status, checked_at=timezone.now())
        if status != StoredFile.Check.OK and len(problems) < MAX_LISTED:
            problems.append(_describe(blob, status))
    orphans = 0
    if only is None:
        orphans = sum(1 for name, _ in storage.iter_originals() if name not in known)
    run.checked, run.ok = counts["checked"], counts["ok"]
    run.missing, run.altered = counts["missing"], counts["altered"]
    run.orphans = orphans
    run.problems = problems
    run.finished_at = timezone.now()
    run.save()
    return run


def _describe(blob: StoredFile, status: str) -> dict:
    versions = DocumentVersion.objects.filter(blob=blob).select_related(
        "document__case_file__person"
    )
    return {
        "sha256": blob.sha256,
        "status": status,
        "label": StoredFile.Check(status).label,
        "documents": [
            {
                "document": v.document_id,
                "version": v.number,
                "code": v.document.archival_code or "",
                "case_file": v.document.case_file_id,
                "person": v.document.case_file.person.name if v.document.case_file_id else "",
            }
            for v in versions
        ],
    }


def latest_run() -> IntegrityRun | None:
    return IntegrityRun.objects.filter(finished_at__isnull=False).first()
