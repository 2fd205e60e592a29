"""Comparison runs (比对批次): creating, executing (the engine fed from the stored rosters and
the database) and storing findings in batches — by COPY on PostgreSQL, after one join per
batch that resolves the people and enrolments they concern and the diff against the previous
run; by ``bulk_create`` elsewhere. A run is executed by its background job
(``review/jobs.py``), which carries its progress, heartbeat and retries."""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from archive import pgcopy, rulesets
from archive.models import Division, Enrolment, Person
from core.divisions import city_of, covering_codes, division_prefix, township_of
from core.eligibility import SHANXI_2023, RuleSet
from jobs.runner import Cancelled
from review import engine
from review.findings import evidence_fingerprint, finding_key
from review.models import ComparisonRun, Finding, RosterUpload, Verification
from review.services.base import Check, Progress, ReviewError
from review.services.beneficiaries import (
    _parse_key,
    write_beneficiaries,
)
from review.services.uploads import (
    _keep_normalised,
    _work_dir,
    cached_spool,
    roster_path,
)
from review.signals import run_finished

FINDING_BATCH = 5000

logger = logging.getLogger("review")


def rules_of(run: ComparisonRun) -> RuleSet:
    return RuleSet.from_dict(run.rule_set.data) if run.rule_set_id else SHANXI_2023


def create_run(
    *,
    division: Division,
    as_of: date,
    uploads: Iterable[RosterUpload],
    user=None,
    trigger: str = ComparisonRun.Trigger.ADMIN,
) -> ComparisonRun:
    """A pending run with its inputs fixed; :func:`execute_run` does the work."""
    uploads = list(uploads)
    kinds = [u.kind for u in uploads]
    if len(kinds) != len(set(kinds)):
        raise ReviewError("每类比对数据只能选择一个文件。")
    for upload in uploads:
        if upload.division_id not in covering_codes(division.code):
            raise ReviewError(f"比对数据 #{upload.pk} 不适用于 {division}。")
    with transaction.atomic():
        run = ComparisonRun.objects.create(
            division=division,
            as_of=as_of,
            rule_set=rulesets.version_on(as_of),
            trigger=trigger,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        run.rosters.set(uploads)
    return run


def _report(progress: Progress | None, stage: str, percent: int) -> None:
    if progress is not None:
        progress(stage, percent)


def _workers() -> int:
    # Celery's prefork children are daemonic and may not start processes of their own.
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def engine_config(work: Path) -> engine.EngineConfig:
    return engine.EngineConfig(
        threads=settings.REVIEW_ENGINE_THREADS,
        memory_limit=settings.REVIEW_ENGINE_MEMORY,
        temp_directory=str(work / "spill"),
    )


#: What a run that failed in an unexpected way says (the traceback goes to the log only).
UNEXPECTED = "比对出错，未保存任何比对发现。请稍后重新发起比对；如仍失败，请联系系统管理员。"


def execute_run(
    run_id: int, progress: Progress | None = None, check: Check | None = None
) -> ComparisonRun:
    """Runs a pending run: reads its rosters, streams the beneficiaries, compares, stores the
    findings and the difference from the previous run.

    ``progress(stage, percent)`` is told of each step, never inside the transaction that
    stores the findings; ``check()`` is called inside it, before each batch and before the
    commit, and may raise to stop: :class:`~jobs.runner.Cancelled` (the run's job was
    cancelled) ends the run 已取消, any other error 失败, and either way no finding is kept. A
    run that is not pending (running elsewhere, or ended: runs are immutable) is returned as it
    is."""
    claimed = ComparisonRun.objects.filter(pk=run_id, status=ComparisonRun.Status.PENDING).update(
        status=ComparisonRun.Status.RUNNING, started_at=timezone.now()
    )
    run = ComparisonRun.objects.select_related("division", "rule_set").get(pk=run_id)
    if not claimed:
        return run
    try:
        _execute(run, progress, check or (lambda: None))
    except Exception as error:
        if isinstance(error, Cancelled):
            status, message = ComparisonRun.Status.CANCELLED, ""
        elif isinstance(error, ReviewError):
            status, message = ComparisonRun.Status.FAILED, str(error)
        else:
            logger.exception("comparison run %s failed", run_id)
            status, message = ComparisonRun.Status.FAILED, UNEXPECTED
        ComparisonRun.objects.filter(pk=run_id).update(
            status=status, error=message, finished_at=timezone.now()
        )
        raise
    return ComparisonRun.objects.get(pk=run_id)


def _execute(run: ComparisonRun, progress: Progress | None, check: Check) -> None:
    uploads = list(run.rosters.all())
    prefix = division_prefix(run.division_id)
    with tempfile.TemporaryDirectory(prefix="run-", dir=_work_dir()) as tmp:
        work = Path(tmp)
        _report(progress, "读取比对数据", 5)
        # Rows parsed on upload are reused; a roster without them (or parsed by an older
        # engine) is parsed again from the stored original, and the result kept.
        spooled: dict[str, engine.SpooledRoster] = {}
        files: dict[str, Path] = {}
        for upload in uploads:
            cached = cached_spool(upload)
            if cached is not None:
                spooled[upload.kind] = cached
            else:
                files[upload.kind] = roster_path(upload.sha256)
        missing = [str(p) for p in files.values() if not p.exists()]
        if missing:
            raise ReviewError(f"比对数据文件缺失：{', '.join(missing)}")
        if files:
            parsed = engine.spool_roster_files(files, work, workers=_workers())
            sha_of = {u.kind: u.sha256 for u in uploads}
            for kind, item in parsed.items():
                _keep_normalised(item, sha_of[kind])
                spooled[kind] = item
        _report(progress, "读取补贴对象", 35)
        beneficiaries = work / "beneficiaries.csv"
        write_beneficiaries(prefix, beneficiaries)
        _report(progress, "比对", 55)
        # On PostgreSQL the findings go from DuckDB's file into the database untouched.
        findings_file = work / "findings.csv" if pgcopy.enabled() else None
        result = engine.compare(
            beneficiaries,
            spooled,
            as_of=run.as_of,
            division=run.division_id,
            rules=rules_of(run),
            config=engine_config(work),
            findings_file=findings_file,
        )
        _report(progress, "保存比对发现", 80)
        _store(run, result, findings_file, uploads, check)


def _store(
    run: ComparisonRun,
    result: engine.ComparisonResult,
    findings_file: Path | None,
    uploads: Sequence[RosterUpload],
    check: Check,
) -> None:
    """Stores the run's findings, the difference from the previous run and the summary, in
    one transaction."""
    previous = previous_run(run)
    with transaction.atomic():
        # Locked for the rest of the transaction: should the reaper have taken a slow but live
        # attempt for dead, the attempt that comes second finds the run stored and stops.
        stored = (
            ComparisonRun.objects.select_for_update()
            .filter(pk=run.pk)
            .values_list("status", flat=True)
            .first()
        )
        if stored != ComparisonRun.Status.RUNNING:
            logger.warning("comparison run %s already %s: not stored again", run.pk, stored)
            return
        if findings_file is None:
            _store_findings(run, result.findings, previous, check)
        else:
            _copy_findings(run, findings_file, previous, check)
        run.previous = previous
        new, still_open, resolved = diff_counts(run)
        check()  # the last moment to stop: after this the run is stored whole
        ComparisonRun.objects.filter(pk=run.pk).update(
            status=ComparisonRun.Status.FINISHED,
            checked=result.checked,
            evaluated_rules=list(result.evaluated_rules),
            not_evaluated=[[code, list(kinds)] for code, kinds in result.not_evaluated],
            roster_errors={u.kind: u.error_count for u in uploads if u.error_count},
            finding_count=result.finding_count,
            previous=previous,
            new_count=new,
            still_open_count=still_open,
            resolved_count=resolved,
            finished_at=timezone.now(),
        )
        run_finished.send(sender=ComparisonRun, run=run, previous=previous)


def previous_run(run: ComparisonRun) -> ComparisonRun | None:
    """The run this one is compared with: the latest finished run of the same division whose
    reference date is not after this one's."""
    return (
        ComparisonRun.objects.filter(
            division_id=run.division_id,
            status=ComparisonRun.Status.FINISHED,
            as_of__lte=run.as_of,
        )
        .exclude(pk=run.pk)
        .order_by("-as_of", "-finished_at", "-id")
        .first()
    )


def carried_verdicts(run: ComparisonRun) -> dict[str, tuple[int, str]]:
    """By finding key, the not-confirmed verdict in force on the latest earlier finding of the
    same problem in this run's division: ``key -> (verification id, evidence fingerprint)``.
    A 不属实 verdict sticks to later runs while the evidence is unchanged (docs/review.md)."""
    earlier = (
        Verification.objects.filter(
            outcome=Verification.Outcome.NOT_CONFIRMED,
            reversed_at__isnull=True,
            finding__county__code__startswith=division_prefix(run.division_id),
        )
        .filter(
            Q(finding__run__as_of__lt=run.as_of)
            | Q(finding__run__as_of=run.as_of, finding__run_id__lt=run.pk)
        )
        .order_by("finding__key", "-verified_at", "-id")
        .values_list("pk", "finding__key", "finding__evidence")
    )
    carried: dict[str, tuple[int, str]] = {}
    for pk, key, evidence in earlier:
        carried.setdefault(key, (pk, evidence_fingerprint(evidence)))
    return carried


#: What storing a finding needs to know from the database: the person (from the enrolment
#: key, else by ID number), their 户籍 code, their living and nursing enrolments in the
#: finding's county, and whether the previous run raised the same finding (its key).
Lookup = tuple[int | None, str | None, int | None, int | None, bool]


def _store_findings(
    run: ComparisonRun,
    findings: Sequence[engine.Finding],
    previous: ComparisonRun | None,
    check: Check,
) -> None:
    """Writes the run's findings by ``bulk_create`` in batches, ``check()`` before each, after
    a few queries per batch: the way of the databases without COPY (SQLite). It stores the
    rows :func:`_copy_findings` stores (tests/review/test_runs.py holds them equal)."""
    carried = carried_verdicts(run)
    previous_id = previous.pk if previous else None
    for start in range(0, len(findings), FINDING_BATCH):
        check()
        batch = findings[start : start + FINDING_BATCH]
        keys = [finding_key(f) for f in batch]
        targets = [_target(f) for f in batch]
        lookups = _lookup_queried(batch, keys, targets, previous_id)
        rows = [
            _finding_row(run, f, key, target[1], lookup, carried)
            for f, key, target, lookup in zip(batch, keys, targets, lookups, strict=True)
        ]
        _ensure_divisions({row["county_id"] for row in rows})
        Finding.objects.bulk_create([Finding(**row) for row in rows])


def _target(finding: engine.Finding) -> tuple[int | None, str]:
    """The person (when the engine knows the enrolment) and the county a finding acts on."""
    parsed = _parse_key(finding.enrolment_key)
    return parsed if parsed else (None, finding.county_code)


_STAGE_TABLE = """
CREATE TEMPORARY TABLE finding_stage (
    ord bigint, id_number text, name text, county_code text, enrolment_key text, code text,
    subsidy text, action text, event_date date, evidence jsonb, note text, key text
) ON COMMIT DROP
"""

# The person and county a staged finding acts on, as :func:`_target` reads them: the enrolment
# key is ``person:county`` (review/services/beneficiaries.py, ``_BENEFICIARIES``); a person not
# known from it (a certificate holder) is looked up by ID number.
_TARGET_VIEW = """
CREATE TEMPORARY VIEW finding_target AS
SELECT s.*,
       CASE WHEN s.enrolment_key <> '' THEN split_part(s.enrolment_key, ':', 2)
            ELSE s.county_code END AS county,
       COALESCE(
           CASE WHEN s.enrolment_key <> '' THEN split_part(s.enrolment_key, ':', 1)::bigint END,
           (SELECT n.id FROM archive_person AS n WHERE n.id_number = s.id_number)
       ) AS person
FROM finding_stage AS s
"""

# ``core.divisions.township_of`` in PostgreSQL, for this transaction: whitespace as Python's
# ``str.split()`` sees it removed, then the first 9 characters when they are ASCII digits,
# else '' (tests/review/test_runs.py holds the two equal). One expression, so PostgreSQL
# inlines it.
_TOWNSHIP_FUNCTION = r"""
CREATE FUNCTION pg_temp.township_of(code text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT coalesce(substring(regexp_replace(coalesce(code, ''),
    '[\s\u000b\u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]',
    '', 'g') FROM '^([0-9]{9})'), '')
$$
"""

# Hash joins over the whole run, in the engine's order (``ord``). The enrolment is the one of
# the finding's subsidy, or for both (or none) the living one, else the nursing one; the
# township is the person's 户籍, else the one the evidence quotes (as :func:`_finding_row`).
_INSERT = """
INSERT INTO review_finding (
    run_id, person_id, enrolment_id, county_id, township_code, id_number, name, code, subsidy,
    action, event_date, evidence, note, key, diff, carried_verification_id
)
WITH t AS MATERIALIZED (SELECT * FROM finding_target)
SELECT %(run)s, t.person,
       CASE t.subsidy WHEN 'living' THEN living.id WHEN 'nursing' THEN nursing.id
            ELSE coalesce(living.id, nursing.id) END,
       t.county,
       coalesce(nullif(pg_temp.township_of(k.hukou_code), ''),
                pg_temp.township_of(t.evidence -> 'values' ->> '户籍区划代码')),
       t.id_number, left(t.name, 64), t.code, t.subsidy, t.action, t.event_date, t.evidence,
       left(coalesce(t.note, ''), 500), t.key,
       CASE WHEN previous.key IS NULL THEN %(new)s ELSE %(still_open)s END, NULL
FROM t
LEFT JOIN archive_person AS k ON k.id = t.person
LEFT JOIN archive_enrolment AS living ON living.person_id = t.person
    AND living.county_id = t.county AND living.subsidy = 'living'
LEFT JOIN archive_enrolment AS nursing ON nursing.person_id = t.person
    AND nursing.county_id = t.county AND nursing.subsidy = 'nursing'
LEFT JOIN finding_previous AS previous ON previous.key = t.key
ORDER BY t.ord
"""

# The previous run's keys, distinct (a key it raised twice matches once), in a table of their
# own with statistics: the planner may take a run committed a moment ago for a few rows and
# join it row by row.
_PREVIOUS_TABLE = """
CREATE TEMPORARY TABLE finding_previous ON COMMIT DROP AS
SELECT DISTINCT key FROM review_finding WHERE run_id = %s
"""


def _copy_findings(
    run: ComparisonRun, path: Path, previous: ComparisonRun | None, check: Check
) -> None:
    """Writes the run's findings from the engine's file (``engine.FINDING_FILE_COLUMNS``) on
    PostgreSQL: the file copied as it is into a temporary table, then one ``INSERT … SELECT``
    that resolves people, enrolments, townships and the diff against the previous run; the
    few verdicts carried from earlier runs are set afterwards. ``check()`` is called once,
    before the copy (it may query, so never during it)."""
    with connection.cursor() as cursor:
        # Room to hash and sort a province's findings in memory; no JIT compilation (it costs
        # more than it saves on a query run once).
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_STAGE_TABLE)
        check()
        pgcopy.copy_in(cursor, "finding_stage", engine.FINDING_FILE_COLUMNS, path)
        cursor.execute(_PREVIOUS_TABLE, [previous.pk if previous else None])
        cursor.execute("ANALYZE finding_stage")
        cursor.execute("ANALYZE finding_previous")
        cursor.execute(_TARGET_VIEW)
        cursor.execute(_TOWNSHIP_FUNCTION)
        cursor.execute("SELECT DISTINCT county FROM finding_target")
        _ensure_divisions({code for (code,) in cursor.fetchall()})
        cursor.execute(
            _INSERT,
            {
                "run": run.pk,
                "new": Finding.Diff.NEW.value,
                "still_open": Finding.Diff.STILL_OPEN.value,
            },
        )
        _carry_verdicts(cursor, run)
        # Dropped at the commit too, but the caller's transaction may go on (a test's does).
        cursor.execute("DROP VIEW finding_target")
        cursor.execute("DROP FUNCTION pg_temp.township_of")
        cursor.execute("DROP TABLE finding_stage, finding_previous")


def _carry_verdicts(cursor: Any, run: ComparisonRun) -> None:
    """Sets on the run's findings the not-confirmed verdicts of :func:`carried_verdicts`
    whose evidence is unchanged — a few rows, updated in the transaction that writes them."""
    carried = carried_verdicts(run)
    if not carried:
        return
    ids, verdicts = [], []
    for pk, key, evidence in Finding.objects.filter(
        run_id=run.pk, key__in=list(carried)
    ).values_list("pk", "key", "evidence"):
        verdict, fingerprint = carried[key]
        if fingerprint == evidence_fingerprint(evidence):
            ids.append(pk)
            verdicts.append(verdict)
    if ids:
        cursor.execute(
            "UPDATE review_finding AS f SET carried_verification_id = u.verdict "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, verdict) WHERE f.id = u.id",
            [ids, verdicts],
        )


def _lookup_queried(
    batch: Sequence[engine.Finding],
    keys: Sequence[str],
    targets: Sequence[tuple[int | None, str]],
    previous_id: int | None,
) -> list[Lookup]:
    """The lookups of a batch by the ORM, three queries (the databases without COPY)."""
    person_ids = {person for person, _ in targets if person}
    unknown_ids = {f.id_number for f, (person, _) in zip(batch, targets, strict=True) if not person}
    people: dict[str, int] = {}
    hukou: dict[int, str] = {}
    for pk, id_number, code in Person.objects.filter(
        Q(pk__in=person_ids) | Q(id_number__in=unknown_ids)
    ).values_list("pk", "id_number", "hukou_code"):
        people[id_number], hukou[pk] = pk, code
    enrolments: dict[tuple[int, str, str], int] = {}
    for pk, person, county, subsidy in Enrolment.objects.filter(
        person_id__in=people.values()
    ).values_list("pk", "person_id", "county_id", "subsidy"):
        enrolments[(person, county, subsidy)] = pk
    before = set(
        Finding.objects.filter(run_id=previous_id, key__in=keys).values_list("key", flat=True)
    )
    lookups: list[Lookup] = []
    for f, key, (person, county) in zip(batch, keys, targets, strict=True):
        person_id = person or people.get(f.id_number)
        lookups.append(
            (
                person_id,
                hukou.get(person_id) if person_id else None,
                enrolments.get((person_id, county, "living")) if person_id else None,
                enrolments.get((person_id, county, "nursing")) if person_id else None,
                key in before,
            )
        )
    return lookups


def _finding_row(
    run: ComparisonRun,
    f: engine.Finding,
    key: str,
    county: str,
    lookup: Lookup,
    carried: dict[str, tuple[int, str]],
) -> dict[str, Any]:
    """The stored finding (field attname → value) of an engine finding."""
    person_id, hukou, living, nursing, still_open = lookup
    by_subsidy = {"living": living, "nursing": nursing}
    subsidies = ("living", "nursing") if f.subsidy in ("both", None) else (f.subsidy,)
    enrolment_id = next((by_subsidy[s] for s in subsidies if by_subsidy.get(s) is not None), None)
    township = township_of(hukou) if person_id else ""
    if not township:
        township = township_of((f.evidence.values or {}).get("户籍区划代码"))
    evidence = f.evidence.to_dict()
    verdict, fingerprint = carried.get(key, (None, None))
    return {
        "run_id": run.pk,
        "person_id": person_id,
        "enrolment_id": enrolment_id,
        "county_id": county,
        "township_code": township,
        "id_number": f.id_number,
        "name": (f.name or "")[:64],
        "code": f.code,
        "subsidy": f.subsidy,
        "action": f.action,
        "event_date": f.event_date,
        "evidence": evidence,
        "note": (f.note or "")[:500],
        "key": key,
        "diff": (Finding.Diff.STILL_OPEN if still_open else Finding.Diff.NEW).value,
        "carried_verification_id": verdict
        if verdict is not None and fingerprint == evidence_fingerprint(evidence)
        else None,
    }


def _ensure_divisions(codes: set[str]) -> None:
    """A finding's county must be a division row; a county code seen only in a roster (e.g. a
    certificate holder registered in a county the archive does not list yet) is added."""
    known = set(Division.objects.filter(code__in=codes).values_list("code", flat=True))
    for code in sorted(codes - known):
        parent = city_of(code)
        Division.objects.get_or_create(
            code=code,
            defaults={
                "name": f"区划{code}",
                "level": Division.Level.COUNTY,
                "parent_id": parent if Division.objects.filter(code=parent).exists() else None,
            },
        )


def resolved_findings(run: ComparisonRun):
    """Findings of the previous run that this run no longer raises."""
    if run.previous_id is None:
        return Finding.objects.none()
    return Finding.objects.filter(run_id=run.previous_id).exclude(
        key__in=Finding.objects.filter(run=run).values("key")
    )


def diff_counts(run: ComparisonRun) -> tuple[int, int, int]:
    """How many findings of ``run`` are new and still open against its previous run, and how
    many of the previous run's are resolved — counted by key (a key raised twice counts once)
    from the ``diff`` each finding was stored with, in one pass over the run's findings. The
    previous run's keys are its own new plus still open, counted when it was stored, so the
    two runs are never joined (the run just written has no statistics yet) nor the previous
    one counted again; resolved are those less the ones still open."""
    counts = Finding.objects.filter(run_id=run.pk).aggregate(
        total=Count("key", distinct=True),
        new=Count("key", distinct=True, filter=Q(diff=Finding.Diff.NEW)),
    )
    previous = run.previous
    before = previous.new_count + previous.still_open_count if previous else 0
    still_open = counts["total"] - counts["new"]
    return counts["new"], still_open, before - still_open


def run_json(run: ComparisonRun) -> dict[str, Any]:
    """The JSON of ``docs/commands.md`` for a finished run."""
    findings = [
        {
            "id_number": f.id_number,
            "name": f.name,
            "code": f.code,
            "subsidy": f.subsidy,
            "action": f.action,
            "event_date": f.event_date.isoformat() if f.event_date else None,
            "evidence": {
                "roster": f.evidence.get("roster"),
                "row": f.evidence.get("row"),
                "values": f.evidence.get("values") or {},
            },
        }
        for f in run.findings.order_by("id").iterator(chunk_size=5000)
    ]
    return {
        "run": run.pk,
        "as_of": run.as_of.isoformat(),
        "division": run.division_id,
        "checked": run.checked,
        "findings": findings,
    }
