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
from django.db.models import Q
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
        result = engine.compare(
            beneficiaries,
            spooled,
            as_of=run.as_of,
            division=run.division_id,
            rules=rules_of(run),
            config=engine_config(work),
        )
    _report(progress, "保存比对发现", 80)
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
        _store_findings(run, result.findings, previous, check)
        run.previous = previous
        new, still_open, resolved = diff_counts(run)
        check()  # the last moment to stop: after this the run is stored whole
        ComparisonRun.objects.filter(pk=run.pk).update(
            status=ComparisonRun.Status.FINISHED,
            checked=result.checked,
            evaluated_rules=list(result.evaluated_rules),
            not_evaluated=[[code, list(kinds)] for code, kinds in result.not_evaluated],
            roster_errors={u.kind: u.error_count for u in uploads if u.error_count},
            finding_count=len(result.findings),
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

#: The columns of a finding, in the order COPY writes them.
_COLUMNS = [f for f in Finding._meta.concrete_fields if not f.primary_key]


def _store_findings(
    run: ComparisonRun,
    findings: Sequence[engine.Finding],
    previous: ComparisonRun | None,
    check: Check,
    *,
    copy: bool | None = None,
) -> None:
    """Writes the run's findings in batches, ``check()`` before each. On PostgreSQL by COPY,
    the people, enrolments and the diff against the previous run resolved beforehand by one
    join for the whole run; elsewhere (SQLite) by ``bulk_create``, after a few queries per
    batch. ``copy`` chooses the way (default: COPY where the database has it); both store the
    same rows."""
    copy = pgcopy.enabled() if copy is None else copy
    carried = carried_verdicts(run)
    previous_id = previous.pk if previous else None
    keys = [finding_key(f) for f in findings]
    targets = [_target(f) for f in findings]
    with connection.cursor() as cursor:
        joined = _lookup_joined(cursor, findings, keys, targets, previous_id) if copy else []
        for start in range(0, len(findings), FINDING_BATCH):
            check()
            end = start + FINDING_BATCH
            batch = findings[start:end]
            if copy:
                lookups = joined[start:end]
            else:
                lookups = _lookup_queried(batch, keys[start:end], targets[start:end], previous_id)
            rows = [
                _finding_row(run, f, key, target[1], lookup, carried)
                for f, key, target, lookup in zip(
                    batch, keys[start:end], targets[start:end], lookups, strict=True
                )
            ]
            _ensure_divisions({row["county_id"] for row in rows})
            if copy:
                pgcopy.copy_rows(
                    cursor, Finding._meta.db_table, [f.column for f in _COLUMNS], _copied(rows)
                )
            else:
                Finding.objects.bulk_create([Finding(**row) for row in rows])


def _copied(rows: Iterable[dict[str, Any]]) -> Iterable[list[Any]]:
    """The values of each row in the order of the columns, as COPY takes them (the rest are
    plain values already: see :func:`_finding_row`)."""
    names = [f.attname for f in _COLUMNS]
    evidence = names.index("evidence")
    for row in rows:
        values = [row[name] for name in names]
        values[evidence] = pgcopy.plain(values[evidence])
        yield values


def _target(finding: engine.Finding) -> tuple[int | None, str]:
    """The person (when the engine knows the enrolment) and the county a finding acts on."""
    parsed = _parse_key(finding.enrolment_key)
    return parsed if parsed else (None, finding.county_code)


_LOOKUP_TABLE = """
CREATE TEMPORARY TABLE finding_lookup (
    ord integer, person_id bigint, id_number varchar(18), county_id varchar(12), key varchar(80)
) ON COMMIT DROP
"""

# Hash joins over the whole run (a join per batch would look every row up by index); a
# person not known from the enrolment key (a certificate holder) is looked up by ID number.
_LOOKUP = """
WITH t AS MATERIALIZED (
    SELECT f.ord, f.county_id, f.key, COALESCE(
        f.person_id, (SELECT n.id FROM archive_person AS n WHERE n.id_number = f.id_number)
    ) AS person
    FROM finding_lookup AS f
)
SELECT t.person, k.hukou_code, living.id, nursing.id, previous.key IS NOT NULL
FROM t
LEFT JOIN archive_person AS k ON k.id = t.person
LEFT JOIN archive_enrolment AS living ON living.person_id = t.person
    AND living.county_id = t.county_id AND living.subsidy = 'living'
LEFT JOIN archive_enrolment AS nursing ON nursing.person_id = t.person
    AND nursing.county_id = t.county_id AND nursing.subsidy = 'nursing'
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


def _lookup_joined(
    cursor: Any,
    findings: Sequence[engine.Finding],
    keys: Sequence[str],
    targets: Sequence[tuple[int | None, str]],
    previous_id: int | None,
) -> list[Lookup]:
    """The lookups of every finding on PostgreSQL: the findings' keys copied into a temporary
    table, then one join with people, enrolments and the previous run's findings."""
    # Room to hash and sort a province's findings in memory; no JIT compilation (it costs
    # more than it saves on a query run once).
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SET LOCAL jit = off")
    cursor.execute(_LOOKUP_TABLE)
    for start in range(0, len(findings), FINDING_BATCH):
        end = start + FINDING_BATCH
        pgcopy.copy_rows(
            cursor,
            "finding_lookup",
            ["ord", "person_id", "id_number", "county_id", "key"],
            (
                (i, person, f.id_number, county, key)
                for i, (f, key, (person, county)) in enumerate(
                    zip(findings[start:end], keys[start:end], targets[start:end], strict=True),
                    start,
                )
            ),
        )
    cursor.execute(_PREVIOUS_TABLE, [previous_id])
    cursor.execute("ANALYZE finding_lookup")
    cursor.execute("ANALYZE finding_previous")
    cursor.execute(_LOOKUP)
    lookups = cursor.fetchall()
    # Dropped at the commit too, but the caller's transaction may go on (a test's does).
    cursor.execute("DROP TABLE finding_lookup, finding_previous")
    return lookups


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
    many of the previous run's are resolved — counted by key in the database (a key raised
    twice counts once) from the ``diff`` each finding was stored with: the previous run's keys
    less those still open are the resolved ones. No join of the two runs: the run just written
    has no statistics yet, and the planner would take it for a few rows."""
    keys = Finding.objects.filter(run_id=run.pk).values("key").distinct()
    total = keys.count()
    new = keys.filter(diff=Finding.Diff.NEW).count()
    before = (
        Finding.objects.filter(run_id=run.previous_id).values("key").distinct().count()
        if run.previous_id
        else 0
    )
    return new, total - new, before - (total - new)


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
