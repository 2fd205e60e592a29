"""The Django side of data comparison: storing rosters, feeding the engine from the database,
storing runs and findings, and acting on verified findings.

The engine (:mod:`review.engine`) is plain DuckDB code that knows nothing about Django. This
module gives it what it needs without a query per person:

* the beneficiaries are **one** aggregated query over the enrolments (joined in the database to
  the person, the current certificate and the current family status), streamed with a
  server-side cursor straight into the CSV the engine reads (:func:`beneficiary_rows`);
* the rosters are parsed once, on upload, and their normalised rows kept next to the
  original (:func:`cached_spool`); a run re-parses only what is missing or was written by an
  older engine, with :func:`review.engine.spool_roster_files` (one process per file where
  the caller may start processes);
* findings are written with ``bulk_create`` in batches, after one query per batch to resolve
  the people and enrolments they concern.

A verified finding changes an enrolment only through :mod:`archive.enrolments`; every change
is audited.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, FilteredRelation, IntegerField, Max, Min, Q, Value, When
from django.utils import timezone

from archive import enrolments as enrolment_actions
from archive import rulesets, storage
from archive.audit import record
from archive.heartbeats import beating, dead_before
from archive.models import Division, Enrolment, Person
from core.codes import VERIFIED_ACTIONS
from core.divisions import city_of, covering_codes, division_prefix, township_of
from core.eligibility import SHANXI_2023, RuleSet, stop_month
from core.tabular import TableError, read_table
from review import engine
from review.findings import evidence_fingerprint, finding_key
from review.models import ComparisonRun, Finding, NotifyOutcome, RosterUpload, Verification
from review.rosters import ROSTERS, header_spec
from review.signals import run_finished

Progress = Callable[[str, int], None]

MAX_STORED_ERRORS = 1000
FINDING_BATCH = 5000
#: Evidence scans accepted for a verification (recognised by content, ``archive.docs.scans``).
EVIDENCE_KINDS = ("jpeg", "png", "tiff", "pdf")


class ReviewError(ValueError):
    """Something a person asked for that cannot be done (message in Chinese)."""


# --------------------------------------------------------------------------------------------
# Rosters


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


def store_roster(
    stream: BinaryIO,
    filename: str,
    *,
    kind: str,
    division: Division,
    period: date,
    user=None,
    request=None,
) -> tuple[RosterUpload, bool]:
    """Keeps a roster file and its parse report; returns ``(upload, created)``.

    A file that cannot be read as this roster at all (wrong headers, not a table, formula
    cells) raises :class:`~core.tabular.TableError` and nothing is kept. Bad rows are
    reported on the upload and never stop a comparison. The same file uploaded again for the
    same kind, division and period is the same upload (``created`` is False).
    """
    if kind not in ROSTERS:
        raise ReviewError(f"未知的比对数据类别：{kind}")
    period = period.replace(day=1)
    tmp, sha, size = _copy_hashing(stream)
    try:
        existing = RosterUpload.objects.filter(
            kind=kind, division=division, period=period, sha256=sha
        ).first()
        if existing is not None:
            return existing, False
        table = read_table(tmp, filename, spec=header_spec(kind))
        with tempfile.TemporaryDirectory(dir=_work_dir()) as work:
            spooled = engine.spool_roster(kind, table, Path(work) / "parsed.csv")
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
    return roster_dir() / f"{sha256}.{kind}.csv"


def _keep_normalised(spooled: engine.SpooledRoster, sha256: str) -> None:
    target = normalised_path(sha256, spooled.kind)
    shutil.move(spooled.path, target)
    os.chmod(target, 0o600)
    spooled.path = target


_EXPECTED_HEADER: dict[str, str] = {}


def _expected_header(kind: str) -> str:
    """The header line the engine writes today for a kind (to recognise a stale file)."""
    if kind not in _EXPECTED_HEADER:
        with tempfile.TemporaryDirectory(dir=_work_dir()) as work:
            path = Path(work) / "header.csv"
            empty = SimpleNamespace(rows=iter(()), unknown_headers=[])
            engine.spool_roster(kind, empty, path)  # type: ignore[arg-type]
            _EXPECTED_HEADER[kind] = path.read_text(encoding="utf-8").splitlines()[0]
    return _EXPECTED_HEADER[kind]


def cached_spool(upload: RosterUpload) -> engine.SpooledRoster | None:
    """The upload's rows as parsed on upload, unless missing or written by an older engine."""
    path = normalised_path(upload.sha256, upload.kind)
    try:
        with path.open(encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n")
    except FileNotFoundError:
        return None
    if header != _expected_header(upload.kind):
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


# --------------------------------------------------------------------------------------------
# Beneficiaries from the database


def enrolment_key(person_id: int, county_code: str) -> str:
    return f"{person_id}:{county_code}"


def _parse_key(key: str | None) -> tuple[int, str] | None:
    if not key:
        return None
    person, _, county = key.partition(":")
    return int(person), county


def beneficiary_queryset(prefix: str):
    """One row per enrolment county (person × county) with what the engine needs.

    Stopped enrolments are left out (the person no longer receives that subsidy); suspended
    ones count as received, so that e.g. a death during a suspension is still found. The
    division's own enrolments come with those elsewhere of the people registered (户籍) in it,
    so that 应享未享 does not flag someone who is paid by another county.
    """
    living = Case(
        When(subsidy="living", then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    nursing = Case(
        When(subsidy="nursing", then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    within = Q(county__code__startswith=prefix) | Q(person__county__code__startswith=prefix)
    return (
        Enrolment.objects.exclude(status=Enrolment.Status.STOPPED)
        .filter(within)
        .annotate(
            cert=FilteredRelation(
                "person__certificates", condition=Q(person__certificates__is_current=True)
            ),
            fam=FilteredRelation(
                "person__family_statuses",
                condition=Q(person__family_statuses__end_date__isnull=True),
            ),
        )
        .values(
            "person_id",
            "county_id",
            "person__id_number",
            "person__name",
            "person__hukou_code",
            "cert__number",
            "cert__category",
            "cert__grade",
            "cert__expiry_date",
            "cert__long_term",
            "fam__family_type",
        )
        .annotate(living=Max(living), nursing=Max(nursing), start=Min("start_month"))
        .order_by()
    )


def beneficiary_rows(prefix: str) -> Iterator[tuple[Any, ...]]:
    """The rows of :data:`review.engine.BENEFICIARY_COLUMNS`, streamed."""
    for row in beneficiary_queryset(prefix).iterator(chunk_size=5000):
        county = row["county_id"]
        hukou = row["person__hukou_code"] or ""
        division_code = hukou if hukou.startswith(county) else county
        yield (
            enrolment_key(row["person_id"], county),
            row["person__id_number"],
            row["person__name"],
            division_code,
            county,
            row["cert__number"] or None,
            row["cert__category"],
            row["cert__grade"],
            row["cert__expiry_date"],
            bool(row["cert__long_term"]),
            row["fam__family_type"],
            bool(row["living"]),
            bool(row["nursing"]),
            row["start"],
        )


# --------------------------------------------------------------------------------------------
# Runs


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


def _set_progress(run_id: int, percent: int, stage: str, progress: Progress | None) -> None:
    ComparisonRun.objects.filter(pk=run_id).update(progress=percent, stage=stage)
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


def execute_run(run_id: int, progress: Progress | None = None) -> ComparisonRun:
    """Runs a pending run: reads its rosters, streams the beneficiaries, compares, stores the
    findings and the difference from the previous run. A failure is stored on the run."""
    now = timezone.now()
    claimed = ComparisonRun.objects.filter(pk=run_id, status=ComparisonRun.Status.PENDING).update(
        status=ComparisonRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        stage="开始",
    )
    run = ComparisonRun.objects.select_related("division", "rule_set").get(pk=run_id)
    if not claimed:
        return run  # already running elsewhere, or finished: runs are immutable
    try:
        with beating(ComparisonRun.objects.filter(pk=run_id), "heartbeat_at"):
            _execute(run, progress)
    except Exception as error:  # stored for the admin; the run stays, marked failed
        ComparisonRun.objects.filter(pk=run_id).update(
            status=ComparisonRun.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:4000],
            finished_at=timezone.now(),
        )
        raise
    return ComparisonRun.objects.get(pk=run_id)


#: How many times a run whose worker died is started again before it is marked failed.
MAX_ATTEMPTS = 2


def reap_runs() -> dict[str, list[int]]:
    """Runs left "running" by a worker that died (no heartbeat for ``WORKER_DEAD_AFTER_SECONDS``,
    archive/heartbeats.py). Safe to retry: a run stores its findings in one transaction, so a
    dead run has none. Retried up to MAX_ATTEMPTS times, then failed with the reason."""
    abandoned = ComparisonRun.objects.filter(
        status=ComparisonRun.Status.RUNNING, heartbeat_at__lt=dead_before()
    )
    retried = list(abandoned.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True))
    failed = list(abandoned.filter(attempts__gte=MAX_ATTEMPTS).values_list("pk", flat=True))
    ComparisonRun.objects.filter(pk__in=retried).update(
        status=ComparisonRun.Status.PENDING, progress=0, stage="比对进程意外中止，已重新排队"
    )
    ComparisonRun.objects.filter(pk__in=failed).update(
        status=ComparisonRun.Status.FAILED,
        error=f"比对进程连续 {MAX_ATTEMPTS} 次意外中止（如服务器重启或内存不足），请检查后重新发起比对。",
        finished_at=timezone.now(),
    )
    return {"retried": retried, "failed": failed}


def _execute(run: ComparisonRun, progress: Progress | None) -> None:
    uploads = list(run.rosters.all())
    prefix = division_prefix(run.division_id)
    with tempfile.TemporaryDirectory(prefix="run-", dir=_work_dir()) as tmp:
        work = Path(tmp)
        _set_progress(run.pk, 5, "读取比对数据", progress)
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
        _set_progress(run.pk, 35, "读取补贴对象", progress)
        beneficiaries = work / "beneficiaries.csv"
        engine.write_beneficiaries_csv(beneficiary_rows(prefix), beneficiaries)
        _set_progress(run.pk, 55, "比对", progress)
        result = engine.compare(
            beneficiaries,
            spooled,
            as_of=run.as_of,
            division=run.division_id,
            rules=rules_of(run),
            config=engine_config(work),
        )
    _set_progress(run.pk, 80, "保存比对发现", progress)
    previous = previous_run(run)
    before = (
        set(Finding.objects.filter(run=previous).values_list("key", flat=True))
        if previous
        else set()
    )
    with transaction.atomic():
        keys = _store_findings(run, result.findings, before)
        resolved = len(before - keys)
        new = sum(1 for k in keys if k not in before)
        ComparisonRun.objects.filter(pk=run.pk).update(
            status=ComparisonRun.Status.FINISHED,
            progress=100,
            stage="完成",
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
    if progress is not None:
        progress("完成", 100)


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


def _store_findings(run: ComparisonRun, findings: Sequence[engine.Finding], before: set[str]):
    keys: set[str] = set()
    for start in range(0, len(findings), FINDING_BATCH):
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


# --------------------------------------------------------------------------------------------
# Verification (核查) and its reversal


def verification_in_force(finding: Finding) -> Verification | None:
    return finding.verifications.filter(reversed_at__isnull=True).first()


def target_enrolments(finding: Finding, statuses: Sequence[str]):
    if finding.person_id is None:
        return Enrolment.objects.none()
    return Enrolment.objects.filter(
        person_id=finding.person_id,
        county_id=finding.county_id,
        subsidy__in=finding.subsidies,
        status__in=statuses,
    ).order_by("subsidy")


def effective_month(finding: Finding) -> date:
    """The first month no longer paid: from the event date (or, for findings without one such
    as a cancelled certificate, the reference date) by the run's rule set."""
    return stop_month(finding.event_date or finding.run.as_of, rules_of(finding.run))


def store_evidence(upload) -> tuple[str, str, int]:
    """Keeps an evidence scan like any scan of the archive: checked completely (a broken or
    disguised file is refused), stored privately and content-addressed with its page images
    (``archive.storage``), and registered as a :class:`~archive.models.StoredFile` so that
    the nightly integrity check re-hashes it. Returns (sha256, file name, size)."""
    from archive.docs import scans
    from archive.models import StoredFile

    name = Path(getattr(upload, "name", "") or "scan").name[:255]
    try:
        tmp, sha, size = storage.spool(upload, scans.max_bytes())
    except storage.TooLarge:
        raise ReviewError(f"佐证材料超过大小上限 {scans.human_size(scans.max_bytes())}。") from None
    derive_dir = None
    try:
        kind = scans.sniff_file(tmp)
        if kind not in EVIDENCE_KINDS:
            raise ReviewError("佐证材料须为 JPEG、PNG、TIFF 或 PDF 扫描件。")
        existing = StoredFile.objects.filter(sha256=sha).first()
        if existing is not None and storage.original_path(sha).exists():
            return sha, name, size
        derive_dir = storage.new_tmp_dir()
        try:
            pages = scans.check_and_derive(tmp, kind, derive_dir).page_count
        except scans.Rejected as rejected:
            raise ReviewError(f"佐证材料无法使用：{rejected.message}") from None
        storage.commit_original(tmp, sha)
        storage.commit_derived(derive_dir, sha)
        derive_dir = None
        StoredFile.objects.bulk_create(
            [StoredFile(sha256=sha, size=size, kind=kind, page_count=pages)],
            ignore_conflicts=True,
        )
    finally:
        tmp.unlink(missing_ok=True)
        if derive_dir is not None:
            shutil.rmtree(derive_dir, ignore_errors=True)
    return sha, name, size


def evidence_kind(sha256: str) -> str:
    from archive.models import StoredFile

    return StoredFile.objects.filter(sha256=sha256).values_list("kind", flat=True).first() or ""


def verify(
    finding: Finding,
    *,
    outcome: str,
    note: str,
    user,
    evidence=None,
    request=None,
) -> Verification:
    """Records a verdict on a STOP/SUSPEND finding. Confirmed: stops (or suspends) each
    enrolment the finding concerns, from the month :func:`effective_month` gives, with the
    finding's code as reason and ``核查 #<id>`` as source. Not confirmed: changes nothing."""
    if not finding.needs_verification:
        raise ReviewError("只有停发或暂停类的发现需要核查。")
    if outcome not in Verification.Outcome.values:
        raise ReviewError("请选择核查结论。")
    if not note.strip():
        raise ReviewError("请填写核查说明。")
    stored = store_evidence(evidence) if evidence is not None else None
    source = f"核查 #{finding.pk}"
    with transaction.atomic():
        Finding.objects.select_for_update().filter(pk=finding.pk).exists()
        if verification_in_force(finding) is not None:
            raise ReviewError("该发现已有核查结论；如有错误，请先撤销。")
        verification = Verification.objects.create(
            finding=finding,
            outcome=outcome,
            note=note.strip(),
            evidence_sha256=stored[0] if stored else "",
            evidence_name=stored[1] if stored else "",
            evidence_size=stored[2] if stored else None,
            verified_by=user,
        )
        changes = []
        if outcome == Verification.Outcome.CONFIRMED:
            month = effective_month(finding)
            if finding.action == "STOP":
                act = enrolment_actions.stop
                statuses = (Enrolment.Status.ACTIVE, Enrolment.Status.SUSPENDED)
            else:
                act = enrolment_actions.suspend
                statuses = (Enrolment.Status.ACTIVE,)
            for enrolment in target_enrolments(finding, statuses):
                try:
                    change = act(
                        enrolment,
                        month=month,
                        reason=finding.code,
                        user=user,
                        note=f"{finding.get_code_display()}：{note.strip()}"[:2000],
                        source=source,
                    )
                except enrolment_actions.TransitionError as error:
                    raise ReviewError(str(error)) from error
                changes.append(change)
            verification.changes.set(changes)
        record(
            request,
            "review_verify",
            obj_type="review.Finding",
            obj_id=str(finding.pk),
            detail=f"{verification.get_outcome_display()} {finding.code} {finding.id_number[:6]}… "
            f"变更{len(changes)}项 {note.strip()}",
            user=user,
        )
    if stored and finding.person_id:
        file_evidence(verification, user=user, request=request)
    return verification


def file_evidence(verification: Verification, *, user, request=None) -> None:
    """Files a verdict's evidence scan into the person's case file in the finding's county,
    through the same ingest as any upload (档号, page images, OCR): a confirmed stop's approval
    as 变更 / 停发 / 恢复审批材料, other evidence as 其他, so the case file holds what the
    decision rests on (docs/archive.md)."""
    from archive import case_files
    from archive.docs import ingest

    finding = verification.finding
    doc_type = (
        "change_approval" if verification.outcome == Verification.Outcome.CONFIRMED else "other"
    )
    case_file = case_files.case_file_for(finding.person, finding.county_id)
    with storage.original_path(verification.evidence_sha256).open("rb") as original:
        ingest.ingest_stream(
            original,
            verification.evidence_name or "佐证材料",
            ingest.Target(case_file, doc_type),
            user,
            request,
        )


#: The most findings one bulk verification may take (it runs in the request: each verdict is a
#: short transaction, so 500 stay within a few seconds).
BULK_LIMIT = 500


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (finding id, reason)


def verify_many(findings: Iterable[Finding], *, outcome: str, note: str, user, request=None):
    """One verdict and note for many findings (批量核查): each is verified on its own, exactly
    as :func:`verify` does one (its own transaction, enrolment changes and audit entry), so a
    finding that cannot take it (already verified, not a stop) is skipped with the reason and
    the others still are."""
    result = BulkResult()
    for finding in findings:
        try:
            verify(finding, outcome=outcome, note=note, user=user, request=request)
        except ReviewError as error:
            result.skipped.append((finding.pk, str(error)))
        else:
            result.done.append(finding.pk)
    record(
        request,
        "review_verify_bulk",
        obj_type="review.Finding",
        obj_id=",".join(str(pk) for pk in result.done[:50]),
        detail=f"批量核查 {outcome} 成功{len(result.done)}条 跳过{len(result.skipped)}条 {note.strip()}",
        user=user,
    )
    return result


def close_by_manual_change(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """``post_save`` of an enrolment change: a stop or suspension made by hand in the archive
    (not by a verdict) closes the open findings it answers — same enrolment, the change's
    reason as code — with a confirmed verdict that links the change, so the finding no longer
    waits for a 核查 that someone has in effect already done (docs/review.md)."""
    from archive.models import EnrolmentChange

    manual = instance.action in (EnrolmentChange.Action.STOP, EnrolmentChange.Action.SUSPEND)
    if not created or raw or not manual or instance.changed_by_id is None:
        return
    if instance.source.startswith(("核查", "撤销核查")):
        return
    enrolment = instance.enrolment
    waiting = (
        Finding.objects.filter(code=instance.reason, action__in=VERIFIED_ACTIONS)
        .filter(
            Q(enrolment_id=enrolment.pk)
            | Q(
                enrolment__isnull=True, person_id=enrolment.person_id, county_id=enrolment.county_id
            )
        )
        .with_status()
        .filter(verdict__isnull=True)
    )
    for finding in waiting:
        verification = Verification.objects.create(
            finding=finding,
            outcome=Verification.Outcome.CONFIRMED,
            note=f"已在档案中手工{instance.get_action_display()}（{instance.month or ''}）：{instance.note}"[
                :2000
            ],
            verified_by_id=instance.changed_by_id,
        )
        verification.changes.set([instance])
        record(
            None,
            "review_verify",
            obj_type="review.Finding",
            obj_id=str(finding.pk),
            detail=f"手工{instance.get_action_display()}关闭发现 {finding.code}",
            user=instance.changed_by,
        )


def reverse_verification(verification: Verification, *, reason: str, user, request=None):
    """Undoes a verdict: each enrolment it stopped or suspended is resumed from the same month
    with the reason as note; the verdict stays on record, marked reversed. Refused when an
    enrolment has changed since (someone acted on it after the verdict)."""
    if not reason.strip():
        raise ReviewError("撤销必须填写原因。")
    finding = verification.finding
    with transaction.atomic():
        locked = Verification.objects.select_for_update().get(pk=verification.pk)
        if locked.reversed_at is not None:
            raise ReviewError("该核查结论已撤销。")
        for change in locked.changes.select_related("enrolment").order_by("id"):
            enrolment = change.enrolment
            latest = enrolment.changes.order_by("-changed_at", "-id").first()
            if latest is None or latest.pk != change.pk:
                raise ReviewError(
                    f"{enrolment.get_subsidy_display()}在核查后已有其他变更，不能自动撤销；"
                    "请在档案中处理。"
                )
            try:
                enrolment_actions.resume(
                    enrolment,
                    month=change.month or effective_month(finding),
                    user=user,
                    note=f"撤销核查结论：{reason.strip()}"[:2000],
                    source=f"撤销核查 #{finding.pk}",
                )
            except enrolment_actions.TransitionError as error:
                raise ReviewError(str(error)) from error
        locked.reversed_by = user
        locked.reversed_at = timezone.now()
        locked.reversal_reason = reason.strip()
        locked.save(update_fields=["reversed_by", "reversed_at", "reversal_reason"])
        record(
            request,
            "review_reverse",
            obj_type="review.Verification",
            obj_id=str(locked.pk),
            detail=f"撤销核查 发现#{finding.pk} {finding.code}：{reason.strip()}",
            user=user,
        )
    return locked


def record_notify_outcome(finding: Finding, *, outcome: str, note: str, user, request=None):
    if finding.action != "NOTIFY":
        raise ReviewError("只有应享未享的发现需要登记告知结果。")
    if outcome not in NotifyOutcome.Outcome.values:
        raise ReviewError("请选择告知结果。")
    item = NotifyOutcome.objects.create(
        finding=finding, outcome=outcome, note=note.strip(), recorded_by=user
    )
    record(
        request,
        "review_notify",
        obj_type="review.Finding",
        obj_id=str(finding.pk),
        detail=f"告知结果 {item.get_outcome_display()} {note.strip()}",
        user=user,
    )
    return item


__all__ = [
    "ReviewError",
    "TableError",
    "create_run",
    "execute_run",
    "latest_uploads",
    "record_notify_outcome",
    "reverse_verification",
    "run_json",
    "store_roster",
    "verify",
]
