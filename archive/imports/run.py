"""The entry points: read and validate a file, then apply it (or, in a dry run, only count)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from archive.access import audit, covers
from archive.imports.counties import load_counties
from archive.imports.flags import sync_flags
from archive.imports.headers import match_headers
from archive.imports.plan import _plan, in_parts
from archive.imports.results import (
    ATOMIC,
    KIND,
    SKIP_INVALID,
    ImportResult,
    Mode,
    Progress,
    Validation,
)
from archive.imports.validate import validate_rows
from archive.imports.write import LATER_TABLES, _lock, _write, analyze, keys_checked_at_the_end
from archive.models import ImportRecord
from archive.rulesets import rule_set_on
from core.tabular import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, read_table

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a roster is read, planned and written.

    An import builds millions of small dicts, tuples and row objects that hold no cycles (plain
    reference counting frees them), yet every few hundred allocations the collector walks all
    of them again: a first import of 100 000 rows spent 2.5 of its 14 s in it
    (docs/benchmarks.md, the roster import rows). The previous state is restored on the
    way out, so that nested calls and callers that had it off themselves are left as found.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _count(result: ImportResult, outcomes: dict[int, str]) -> None:
    result.outcomes = outcomes
    values = list(outcomes.values())
    result.created = values.count("created")
    result.updated = values.count("updated")
    result.unchanged = values.count("unchanged")


def _in_rows(progress: Progress | None, before: int, rows: int, of: int) -> Progress | None:
    """A part's write progress (records written, of its plan's) as rows of the file: the
    part holds ``rows`` rows after ``before`` others, of ``of``. The job's bar says 行, and
    a file written in parts moves on from one part to the next."""
    if progress is None:
        return None

    def report(stage: str, done: int, total: int) -> None:
        progress(stage, before + (rows * done // total if total else rows), of)

    return report


def apply_validation(
    validation: Validation,
    *,
    filename: str,
    sha256: str,
    mode: Mode = ATOMIC,
    dry_run: bool = False,
    user: Any = None,
    request: HttpRequest | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Write (or, in a dry run, only compute) the outcome of a validated file.

    Atomic mode with any rejected row writes nothing and records nothing; the counts stay 0
    because nothing was created or updated.  A dry run computes the outcome of every valid row
    in either mode, which is what the preview shows.
    """
    if mode not in (ATOMIC, SKIP_INVALID):
        raise ValueError(f"unknown import mode {mode!r}")
    today = today or timezone.localdate()
    now = timezone.now()
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    actor_id = actor.pk if actor is not None else None
    result = ImportResult(
        filename=filename,
        sha256=sha256,
        mode=mode,
        dry_run=dry_run,
        total=validation.total,
        errors=list(validation.errors),
        flags=list(validation.flags),
        notices=list(validation.notices),
    )
    parts = in_parts(validation)
    if dry_run:
        with _collector_paused():
            outcomes: dict[int, str] = {}
            for part in parts:
                outcomes.update(_plan(part, today=today, now=now, user_id=actor_id).outcomes)
            _count(result, outcomes)
        return result
    if result.rejected:
        return result
    with _collector_paused(), transaction.atomic():
        _lock()
        record = ImportRecord.objects.create(
            kind=KIND,
            filename=filename[:255],
            sha256=sha256,
            mode=mode,
            rejected=len(result.rejected_rows),
            flagged=len(result.flagged_rows),
            imported_by=actor,
        )
        plan = _plan(parts[0], today=today, now=now, user_id=actor_id)
        # The first part stands for the others (a first import brings new people throughout).
        outcomes, writes = {}, 0
        with keys_checked_at_the_end(len(plan.new_people) * len(parts)) as keys_at_once:
            for index, part in enumerate(parts):
                if index:
                    plan = _plan(part, today=today, now=now, user_id=actor_id)
                step = _in_rows(progress, len(outcomes), len(part.rows), len(validation.rows))
                people, enrolments = _write(plan, record, today=today, now=now, progress=step)
                sync_flags(
                    part,
                    record,
                    people=people,
                    enrolments=enrolments,
                    known=set(plan.person_pks.values()),
                    now=now,
                )
                outcomes.update(plan.outcomes)
                writes += plan.writes
            analyze(writes, LATER_TABLES)
        _count(result, outcomes)
        ImportRecord.objects.filter(pk=record.pk).update(
            created=result.created, updated=result.updated, unchanged=result.unchanged
        )
        audit.record(
            request,
            "import",
            obj_type="archive.ImportRecord",
            obj_id=str(record.pk),
            detail=(
                f"导入两项补贴对象花名册「{filename}」（SHA-256 {sha256[:12]}…）："
                f"新增{result.created}，更新{result.updated}，未变{result.unchanged}，"
                f"拒绝{len(result.rejected_rows)}，有问题标记{len(result.flagged_rows)}"
            ),
            user=actor,
        )
    result.record_id = record.pk
    result.written = True
    logger.info(
        "import %s #%s: %s created, %s updated, %s unchanged, %s rejected, %s flagged%s",
        filename,
        record.pk,
        result.created,
        result.updated,
        result.unchanged,
        len(result.rejected_rows),
        len(result.flagged_rows),
        " (keys between its tables checked at once)" if keys_at_once else "",
    )
    return result


Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]


def file_sha256(source: Source) -> str:
    """SHA-256 of a file given as a path, bytes or a seekable binary file (left at 0)."""
    digest = hashlib.sha256()
    if isinstance(source, (bytes, bytearray)):
        digest.update(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    else:
        source.seek(0)
        while chunk := source.read(1 << 20):
            digest.update(chunk)
        source.seek(0)
    return digest.hexdigest()


def read_roster(
    source: Source,
    filename: str = "",
    *,
    user: Any = None,
    today: date | None = None,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Validation:
    """Read and validate a roster file; :class:`TableError` for whole-file problems.

    The only queries are the county list and the rule set in force on ``today`` (which
    decides the flags of a subsidy received without qualifying).  ``user`` restricts rows to
    their jurisdiction.
    """
    today = today or timezone.localdate()
    with _collector_paused():
        table = read_table(source, filename, max_bytes=max_bytes, max_rows=max_rows)
        columns, unknown = match_headers(table.headers, filename)
        check = None if user is None else (lambda county: covers(user, county))
        validation = validate_rows(
            table.rows,
            columns,
            counties=load_counties(),
            covers=check,
            today=today,
            rules=rule_set_on(today),
            total=table.row_count,
            progress=progress,
        )
    if unknown:
        validation.notices.insert(0, f"以下列不属于花名册，已忽略：{'、'.join(unknown)}")
    return validation


def import_beneficiaries(
    source: Source,
    filename: str = "",
    *,
    mode: Mode = ATOMIC,
    dry_run: bool = False,
    user: Any = None,
    request: HttpRequest | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ImportResult:
    """Read, validate and apply a roster file: the one entry point of the command and views.

    Raises :class:`TableError` for whole-file problems (empty, not a table, missing headers,
    formula cells, too big, too many rows) before anything is written.
    """
    sha256 = file_sha256(source)
    validation = read_roster(
        source,
        filename,
        user=user,
        today=today,
        progress=progress,
        max_bytes=max_bytes,
        max_rows=max_rows,
    )
    return apply_validation(
        validation,
        filename=filename,
        sha256=sha256,
        mode=mode,
        dry_run=dry_run,
        user=user,
        request=request,
        today=today,
        progress=progress,
    )
