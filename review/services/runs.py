"""Comparison runs (比对批次): creating, executing (the engine fed from the stored rosters and
the database) and storing findings with ``bulk_create`` in batches, after one query per batch
to resolve the people and enrolments they concern. A run is executed by its background job
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
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from archive import rulesets
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
    beneficiary_rows,
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
        engine.write_beneficiaries_csv(beneficiary_rows(prefix), beneficiaries)
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
    before = (
        set(Finding.objects.filter(run=previous).values_list("key", flat=True))
        if previous
        else set()
    )
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
        keys = _store_findings(run, result.findings, before, check)
        resolved = len(before - keys)
        new = sum(1 for k in keys if k not in before)
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
            still_open_count=len(keys) - new,
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


def carried_verdicts(run: ComparisonRun, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
    """For each key, the not-confirmed verdict in force on the latest earlier finding of the
    same problem in this run's division: ``key -> (verification id, evidence fingerprint)``.
    A 不属实 verdict sticks to later runs while the evidence is unchanged (docs/review.md)."""
    earlier = (
        Verification.objects.filter(
            outcome=Verification.Outcome.NOT_CONFIRMED,
            reversed_at__isnull=True,
            finding__key__in=list(keys),
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


def _store_findings(
    run: ComparisonRun, findings: Sequence[engine.Finding], before: set[str], check: Check
) -> set[str]:
    keys: set[str] = set()
    for start in range(0, len(findings), FINDING_BATCH):
        check()
        batch = findings[start : start + FINDING_BATCH]
        carried = carried_verdicts(run, {finding_key(f) for f in batch})
        person_ids = {parsed[0] for f in batch if (parsed := _parse_key(f.enrolment_key))}
        unknown_ids = {f.id_number for f in batch if not f.enrolment_key}
        people = dict(
            Person.objects.filter(Q(pk__in=person_ids) | Q(id_number__in=unknown_ids)).values_list(
                "id_number", "pk"
            )
        )
        hukou = dict(Person.objects.filter(pk__in=people.values()).values_list("pk", "hukou_code"))
        enrolments: dict[tuple[int, str, str], int] = {}
        for pk, person, county, subsidy in Enrolment.objects.filter(
            person_id__in=people.values()
        ).values_list("pk", "person_id", "county_id", "subsidy"):
            enrolments[(person, county, subsidy)] = pk
        rows = []
        for f in batch:
            key = finding_key(f)
            keys.add(key)
            parsed = _parse_key(f.enrolment_key)
            person_id = parsed[0] if parsed else people.get(f.id_number)
            county = parsed[1] if parsed else f.county_code
            subsidies = {"both": ("living", "nursing"), None: ("living", "nursing")}.get(
                f.subsidy, (f.subsidy,)
            )
            enrolment_id = next(
                (
                    enrolments[(person_id, county, s)]
                    for s in subsidies
                    if person_id and (person_id, county, s) in enrolments
                ),
                None,
            )
            township = township_of(hukou.get(person_id)) if person_id else ""
            if not township:
                township = township_of((f.evidence.values or {}).get("户籍区划代码"))
            evidence = f.evidence.to_dict()
            verdict, fingerprint = carried.get(key, (None, None))
            rows.append(
                Finding(
                    run=run,
                    person_id=person_id,
                    enrolment_id=enrolment_id,
                    county_id=county,
                    township_code=township,
                    id_number=f.id_number,
                    name=(f.name or "")[:64],
                    code=f.code,
                    subsidy=f.subsidy,
                    action=f.action,
                    event_date=f.event_date,
                    evidence=evidence,
                    note=(f.note or "")[:500],
                    key=key,
                    diff=Finding.Diff.STILL_OPEN if key in before else Finding.Diff.NEW,
                    carried_verification_id=verdict
                    if fingerprint == evidence_fingerprint(evidence)
                    else None,
                )
            )
        _ensure_divisions({r.county_id for r in rows})
        Finding.objects.bulk_create(rows, batch_size=FINDING_BATCH)
    return keys


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
