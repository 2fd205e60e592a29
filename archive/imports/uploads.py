"""Uploaded roster files and their previews, kept privately between the steps of an import.

The uploaded file holds personal data, so it never gets a public URL: it is written under
``PRIVATE_MEDIA_ROOT / "imports"`` with mode 0600, named by its SHA-256 (the same file uploaded
twice is stored once, and the name reveals nothing), and removed once the import is done.
The preview is computed once per upload and user (a dry run: the jurisdiction of the user
decides which rows are rejected), in a background job (``archive/jobs.py``), and kept next to
it as JSON, so that paging through 100 000 rows does not re-validate the file on every page.
The import itself runs from the stored file, so it judges exactly what the preview showed,
against the database as it is at that moment.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from archive.imports.headers import ID, NAME, match_headers
from archive.imports.results import Progress
from archive.imports.run import import_beneficiaries
from core.numbers import mask_id
from core.tabular import read_table

#: Uploads and previews older than this are removed (``sweep``, hourly from beat).
MAX_AGE_SECONDS = 24 * 3600


def imports_dir() -> Path:
    """The private directory for uploads, previews and rejected-row files."""
    directory = Path(settings.PRIVATE_MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def upload_path(sha: str) -> Path:
    return imports_dir() / f"{sha}.upload"


def preview_path(sha: str, user: Any) -> Path:
    return imports_dir() / f"{sha}.u{user.pk}.preview.json"


def rejected_path(record_id: int) -> Path:
    return imports_dir() / f"rejected-{record_id}.xlsx"


def store(upload: UploadedFile) -> str:
    """Write the upload to the private directory under its SHA-256; return the digest."""
    directory = imports_dir()
    digest = hashlib.sha256()
    fd, temp = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                digest.update(chunk)
                out.write(chunk)
        os.chmod(temp, 0o600)
        sha = digest.hexdigest()
        os.replace(temp, upload_path(sha))
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return sha


def discard(sha: str) -> None:
    """The upload and every user's preview of it: an import is done or its file was bad."""
    upload_path(sha).unlink(missing_ok=True)
    for item in imports_dir().glob(f"{sha}.u*.preview.json"):
        item.unlink(missing_ok=True)


def sweep(max_age_seconds: int = MAX_AGE_SECONDS) -> list[Path]:
    """Remove abandoned uploads, previews and partial writes (a clerk who never confirmed, an
    upload cut off mid-way)."""
    cutoff = time.time() - max_age_seconds
    removed = []
    for item in imports_dir().iterdir():
        if item.suffix in (".upload", ".json", ".part") and item.stat().st_mtime < cutoff:
            item.unlink(missing_ok=True)
            removed.append(item)
    return removed


def build_preview(
    sha: str, filename: str, user: Any, progress: Progress | None = None
) -> dict[str, Any]:
    """Dry-run the file for this user and keep every row's outcome as JSON."""
    source = upload_path(sha)
    result = import_beneficiaries(source, filename, dry_run=True, user=user, progress=progress)
    table = read_table(source, filename)
    columns, _ = match_headers(table.headers, filename)
    reasons: dict[int, list[str]] = {}
    for error in result.errors:
        reasons.setdefault(error.row, []).append(
            f"{error.column}：{error.message}" if error.column else error.message
        )
    warnings: dict[int, list[str]] = {}
    for flag in result.flags:
        column = f"{flag.column}：" if flag.column else ""
        warnings.setdefault(flag.row, []).append(f"{flag.label}（{column}{flag.message}）")
    entries = []
    for number, cells in table.rows:
        name = str(cells.get(columns[NAME]) or "").strip()
        raw_id = cells.get(columns[ID])
        outcome = "rejected" if number in reasons else result.outcomes.get(number, "rejected")
        entries.append(
            {
                "row": number,
                "name": name,
                "id": mask_id(str(raw_id)) if raw_id is not None else "",
                "outcome": outcome,
                "reasons": reasons.get(number, []),
                "warnings": warnings.get(number, []),
            }
        )
    preview = {
        "filename": filename,
        "total": result.total,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": len(result.rejected_rows),
        "flagged": len(result.flagged_rows),
        "notices": result.notices,
        "rows": entries,
    }
    target = preview_path(sha, user)
    fd, temp = tempfile.mkstemp(dir=imports_dir(), suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(preview, out, ensure_ascii=False, default=str)
    os.chmod(temp, 0o600)
    os.replace(temp, target)  # a reader never sees half a preview
    return preview


def load_preview(sha: str, user: Any) -> dict[str, Any] | None:
    """The stored preview, or None when it is not (or no longer) there."""
    try:
        return json.loads(preview_path(sha, user).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
