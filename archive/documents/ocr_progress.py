"""How far OCR has read a case file's scans, for the case file page to show while it works
(issue 15: per-upload progress, pages done / total, without a reload).

The worker writes ``DocumentVersion.ocr_pages_done`` after each page (``archive/tasks.py``); a
version being read is one still queued whose heartbeat is set. The page polls
:func:`case_file_progress` and sums over the versions it has seen waiting, so that an upload
made on the page joins the count when it arrives.
"""

from __future__ import annotations

from typing import Any

from archive.models import CaseFile, Document, DocumentVersion

#: The state of one version as the page shows it, by code; the codes are for the script only.
STATES = {"queued": "排队识别", "reading": "识别中", "done": "已识别", "failed": "识别失败"}


def state_of(status: str, reading: bool) -> str:
    """``reading`` for a queued version that a worker is beating on."""
    if status == DocumentVersion.Ocr.QUEUED:
        return "reading" if reading else "queued"
    return "done" if status == DocumentVersion.Ocr.DONE else "failed"


def case_file_progress(case_file: CaseFile) -> dict[str, Any]:
    """Every live document's current version: its state (code and label), pages read, pages."""
    current = Document.objects.filter(case_file=case_file, deleted_at__isnull=True)
    rows = (
        DocumentVersion.objects.filter(pk__in=current.values("current_id"))
        .values_list("pk", "ocr_status", "ocr_heartbeat_at", "ocr_pages_done", "blob__page_count")
        .order_by("pk")
    )
    versions = []
    for pk, status, heartbeat, done, pages in rows:
        state = state_of(status, heartbeat is not None)
        read = pages if state in ("done", "failed") else min(done, pages)
        versions.append(
            {"id": pk, "state": state, "label": STATES[state], "pages_done": read, "pages": pages}
        )
    return {"versions": versions}
