"""Comparison rosters (比对数据) as uploaded: stored privately by their hash, parsed once on
upload (in a background job, review/jobs.py, when uploaded on the page), their normalised rows
kept beside the original for every later run."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from archive.access.audit import record
from archive.models import Division
from core.divisions import covering_codes
from core.tabular import Table, read_table
from review import engine
from review.models import RosterUpload
from review.rosters import ROSTERS, header_spec
from review.services.base import ReviewError

MAX_STORED_ERRORS = 1000


def roster_dir() -> Path:
    directory = Path(settings.PRIVATE_MEDIA_ROOT) / "rosters"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def roster_path(sha256: str) -> Path:
    return roster_dir() / f"{sha256}.roster"


def _work_dir() -> Path:
    directory = Path(settings.PRIVATE_MEDIA_ROOT) / "compare-tmp"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def _copy_hashing(stream: BinaryIO) -> tuple[Path, str, int]:
    import hashlib

    fd, name = tempfile.mkstemp(dir=roster_dir(), suffix=".part")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        os.chmod(name, 0o600)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), digest.hexdigest(), size


def same_upload(kind: str, division: Division, period: date, sha256: str) -> RosterUpload | None:
    """The upload these bytes already are for this kind, division and period, if any."""
    return RosterUpload.objects.filter(
        kind=kind, division=division, period=period.replace(day=1), sha256=sha256
    ).first()


#: ``progress(done, total)``: rows parsed so far, of the table's rows.
RowProgress = Callable[[int, int], None]
#: Rows between two progress reports.
PROGRESS_EVERY = 200


class _CountedTable:
    """The table as the engine reads it, reporting the rows as they are parsed; every other
    attribute is the table's own."""

    def __init__(self, table: Table, progress: RowProgress) -> None:
        self._table, self._progress = table, progress

    @property
    def rows(self) -> Iterator:
        total = self._table.row_count
        for done, row in enumerate(self._table.rows, 1):
            if done % PROGRESS_EVERY == 0:
                self._progress(done, total)
            yield row
        self._progress(total, total)

    def __getattr__(self, name: str):
        return getattr(self._table, name)


def store_roster(
    stream: BinaryIO,
    filename: str,
    *,
    kind: str,
    division: Division,
    period: date,
    user=None,
    request=None,
    progress: RowProgress | None = None,
) -> tuple[RosterUpload, bool]:
    """Keeps a roster file and its parse report; returns ``(upload, created)``.

    A file that cannot be read as this roster at all (wrong headers, not a table, formula
    cells) raises :class:`~core.tabular.TableError` and nothing is kept. Bad rows are
    reported on the upload and never stop a comparison. The same file uploaded again for the
    same kind, division and period is the same upload (``created`` is False). ``progress``
    is told of the rows parsed; an exception it raises (a cancelled job) keeps nothing either.
    """
    if kind not in ROSTERS:
        raise ReviewError(f"未知的比对数据类别：{kind}")
    period = period.replace(day=1)
    tmp, sha, size = _copy_hashing(stream)
    try:
        existing = same_upload(kind, division, period, sha)
        if existing is not None:
            return existing, False
        table = read_table(tmp, filename, spec=header_spec(kind))
        if progress is not None:
            table = _CountedTable(table, progress)
        with tempfile.TemporaryDirectory(dir=_work_dir()) as work:
            spooled = engine.spool_roster(kind, table, Path(work) / "parsed.parquet")
            os.replace(tmp, roster_path(sha))
            _keep_normalised(spooled, sha)
    finally:
        tmp.unlink(missing_ok=True)
    upload = RosterUpload.objects.create(
        kind=kind,
        division=division,
        period=period,
        filename=filename[:255],
        sha256=sha,
        size=size,
        row_count=spooled.row_count,
        error_count=len(spooled.errors),
        errors=[
            {"row": e.row, "column": e.column, "code": e.code, "message": e.message}
            for e in spooled.errors[:MAX_STORED_ERRORS]
        ],
        unknown_headers=list(spooled.unknown_headers),
        uploaded_by=user if user is not None and user.is_authenticated else None,
    )
    record(
        request,
        "roster_upload",
        obj_type="review.RosterUpload",
        obj_id=str(upload.pk),
        detail=f"{ROSTERS[kind].label} {division.code} {period:%Y-%m} {filename} "
        f"{sha[:12]} 有效{upload.row_count}行 错误{upload.error_count}",
        user=user,
    )
    return upload, True


def normalised_path(sha256: str, kind: str) -> Path:
    """The parsed rows of a stored roster, as the engine reads them (``SpooledRoster``)."""
    return roster_dir() / f"{sha256}.{kind}.parquet"


def _keep_normalised(spooled: engine.SpooledRoster, sha256: str) -> None:
    target = normalised_path(sha256, spooled.kind)
    shutil.move(spooled.path, target)
    os.chmod(target, 0o600)
    spooled.path = target
    # The CSV an engine before the Parquet spool kept: personal data nothing reads any more.
    target.with_suffix(".csv").unlink(missing_ok=True)


def cached_spool(upload: RosterUpload) -> engine.SpooledRoster | None:
    """The upload's rows as parsed on upload, unless missing or written by an older engine."""
    path = normalised_path(upload.sha256, upload.kind)
    if not engine.spool_is_current(path, upload.kind):
        return None
    return engine.SpooledRoster(
        kind=upload.kind,
        path=path,
        row_count=upload.row_count,
        unknown_headers=list(upload.unknown_headers),
    )


def latest_uploads(division: Division, start: date, end: date) -> dict[str, RosterUpload]:
    """Per kind, the most recent upload for a period in [start, end] from this division or a
    division above it (a city-wide death list serves each of its counties)."""
    uploads = RosterUpload.objects.filter(
        division_id__in=covering_codes(division.code), period__gte=start, period__lte=end
    ).order_by("kind", "-period", "-uploaded_at", "-id")
    chosen: dict[str, RosterUpload] = {}
    for upload in uploads:
        chosen.setdefault(upload.kind, upload)
    return chosen
