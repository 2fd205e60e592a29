"""The comparison's kinds of long work (``jobs.kinds``): parsing an uploaded roster (比对数据上传,
:func:`submit_roster_upload`), a comparison run (数据比对) and the export of its findings
(比对发现导出, :func:`export_findings`); and a verdict (核查) whose evidence scan is a long PDF
(:func:`verify_with_evidence`).

**Roster uploads.** The page only stores the file, privately in the job's directory, and
submits the job; the job parses it with ``review.services.store_roster`` (progress by rows)
and sends the user on to the roster's page. Whatever the outcome — stored, refused (the
message of ``core.tabular.TableError``), cancelled, its worker dead twice — the file it was
given is removed (:func:`_forget_roster_input`): what stays of a roster is only what
``store_roster`` kept. Running it again is safe: the same bytes for the same kind, division
and period are the same upload.

**Comparisons.**

A run (比对批次) is created first, with its inputs fixed (``review.services.create_run``); its
job then executes it (``review.services.execute_run``). The admin page (review/views/runs.py) and
the schedule (review/schedule.py) submit the job to a worker; the ``compare`` command runs it
in its own process and waits (:func:`run_now`).

The job carries what any long work has: progress (the job page and the run page show it),
the heartbeat, retries after a worker died, cancellation. The run keeps its own status: the
job's function moves it along, and a job that ended without its function saying so (cancelled
while queued, failed by the reaper after its worker died) settles it in :func:`_settle_run`.
Running again is safe: the findings are stored in one transaction, so a dead or cancelled
attempt stored none.
"""

from __future__ import annotations

import contextlib
import os
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from archive import access
from archive.documents import ingest, storage
from archive.exports import write_xlsx
from archive.jobs import after_filing, submit_ingest
from archive.models import Division
from core.divisions import division_prefix
from jobs import services as jobs
from jobs.kinds import INTERACTIVE, JobFailed, register
from jobs.models import Job
from jobs.runner import Context, OnProgress, job_dir
from jobs.signals import job_finished
from review import finding_list, services
from review.models import ComparisonRun, Finding, RosterUpload, Verification
from review.rosters import ROSTERS

ROSTER_UPLOAD = "roster_upload"
#: The uploaded file, in the job's directory, until the job has parsed it.
ROSTER_INPUT = "roster.upload"
COMPARISON = "comparison"
FINDING_EXPORT = "finding_export"
FINDING_FILE = "findings.xlsx"


def _run_url(run_id: int) -> str:
    return reverse("review_run_detail", kwargs={"pk": run_id})


@register(COMPARISON, "数据比对", queue=INTERACTIVE, retry_safe=True)
def compare(context: Context) -> dict[str, Any]:
    run_id = context.params["run"]
    ComparisonRun.objects.filter(pk=run_id, job__isnull=True).update(job_id=context.job.pk)
    if context.job.attempts > 1:
        # The attempt of a worker that died left the run running, with no finding stored.
        ComparisonRun.objects.filter(pk=run_id, status=ComparisonRun.Status.RUNNING).update(
            status=ComparisonRun.Status.PENDING
        )

    def report(stage: str, percent: int) -> None:
        context.progress(percent, 100, stage, force=True)

    try:
        run = services.execute_run(run_id, progress=report, check=context.check_cancelled)
    except services.ReviewError as error:
        raise JobFailed(str(error), url=_run_url(run_id)) from None
    if not run.is_finished:
        raise JobFailed("该比对批次已经结束，未再次运行。", url=_run_url(run_id))
    return {
        "url": _run_url(run.pk),
        "summary": f"比对完成：比对 {run.checked} 人次，发现 {run.finding_count} 条"
        f"（新增 {run.new_count}，仍存在 {run.still_open_count}，已消除 {run.resolved_count}）",
    }


def _division_code(run_id: int) -> str:
    # The job belongs to the run's jurisdiction: administrators there see it (archive/job_views).
    return division_prefix(
        ComparisonRun.objects.values_list("division_id", flat=True).get(pk=run_id)
    )


def submit_run(run_id: int, *, user: Any = None) -> Job:
    """Queue the job of a pending run (sent to a worker when the transaction commits)."""
    job = jobs.submit(COMPARISON, user=user, division_code=_division_code(run_id), run=run_id)
    ComparisonRun.objects.filter(pk=run_id).update(job=job)
    return job


def run_now(run_id: int, *, user: Any = None, on_progress: OnProgress | None = None) -> Job:
    """Run the job of a pending run in this process (the ``compare`` command); returns the
    finished job."""
    return jobs.run_here(
        COMPARISON,
        user=user,
        division_code=_division_code(run_id),
        on_progress=on_progress,
        run=run_id,
    )


def progress_of(run: ComparisonRun) -> tuple[int, str]:
    """What the run page shows while the run is on its way: percent and step, from its job."""
    if run.is_finished:
        return 100, "完成"
    if run.has_ended or run.job is None:
        return 0, ""
    return run.job.percent, run.job.message


@receiver(job_finished, dispatch_uid="review.settle_run")
def _settle_run(sender: type[Job], job: Job, **kwargs: Any) -> None:
    """A comparison's job ended without its run ending: the run ends the same way."""
    if job.kind != COMPARISON or job.state == Job.State.DONE:
        return
    cancelled = job.state == Job.State.CANCELLED
    ComparisonRun.objects.filter(pk=job.params.get("run")).exclude(
        status__in=ComparisonRun.ENDED
    ).update(
        status=ComparisonRun.Status.CANCELLED if cancelled else ComparisonRun.Status.FAILED,
        error="" if cancelled else job.error,
        finished_at=timezone.now(),
    )


@register(FINDING_EXPORT, "比对发现导出", queue=INTERACTIVE, retry_safe=True)
def export_findings(context: Context) -> dict[str, Any]:
    """The run's findings list (its filters, the user's jurisdiction), every page of it, as
    the list shows it (``review.finding_list``), into the job's private directory. ``filters``
    None is a filter the list refused: it selects nothing, and so does the file."""
    user = context.user
    if user is None:  # no user is not "everyone": no jurisdiction would apply
        raise JobFailed("提交导出的用户已不存在，未导出任何数据。")
    run = (
        finding_list.visible_runs(user)
        .select_related("division")
        .filter(pk=context.params["run"])
        .first()
    )
    if run is None:
        raise JobFailed("比对批次不存在或不在您的辖区内，未导出任何数据。")
    context.progress(0, 0, "正在查询比对发现", force=True)
    visible = access.scope(run.findings.all(), user, "county")
    townships = finding_list.township_names(visible)
    filters = context.params["filters"]
    if filters is None:
        visible, filters = visible.none(), {}
    findings = finding_list.filter_findings(visible, filters).select_related("county")
    findings = findings.order_by("id")
    total = findings.count()

    def report(done: int) -> None:
        context.progress(done, total, f"正在导出：{done}/{total} 条发现")

    target = context.directory / FINDING_FILE
    with target.open("wb") as out:
        write_xlsx(
            out, "比对发现", finding_list.export_rows(run, findings, townships, progress=report)
        )
    target.chmod(0o600)
    context.progress(total, total, f"已导出 {total} 条发现")
    return {
        "file": FINDING_FILE,
        "filename": f"比对发现-{run.division_id}-{run.as_of}-{run.pk}.xlsx",
        "summary": f"比对批次 #{run.pk}：导出 {total} 条发现",
    }


def submit_roster_upload(
    stream: BinaryIO, filename: str, *, kind: str, division: Division, period: date, user: Any
) -> Job | RosterUpload:
    """Stores an uploaded roster for its job to parse, and submits the job (sent when the
    transaction commits, the file already in place). The same bytes already uploaded for
    this kind, division and period are not parsed again: their upload is returned."""
    tmp, sha, _size = storage.spool(stream, int(settings.UPLOAD_MAX_BYTES))
    try:
        existing = services.same_upload(kind, division, period, sha)
        if existing is not None:
            return existing
        with transaction.atomic():
            job = jobs.submit(
                ROSTER_UPLOAD,
                user=user,
                division_code=access.user_prefix(user) or "",
                filename=filename[:255],
                roster=kind,
                division=division.code,
                period=period.replace(day=1).isoformat(),
                sha=sha,
            )
            os.replace(tmp, job_dir(job) / ROSTER_INPUT)
    finally:
        tmp.unlink(missing_ok=True)
    return job


@register(
    ROSTER_UPLOAD,
    "比对数据上传",
    queue=INTERACTIVE,
    retry_safe=True,
    time_limit="JOB_PARSE_TIME_LIMIT_SECONDS",
    memory_limit="JOB_PARSE_MEMORY_LIMIT_MB",
)
def parse_roster(context: Context) -> dict[str, Any]:
    params = context.params
    back = reverse("review_rosters")
    source = context.directory / ROSTER_INPUT
    if not source.exists():
        raise JobFailed("上传的文件已过期或已被处理，请重新上传。", url=back)
    division = Division.objects.get(code=params["division"])
    label = ROSTERS[params["roster"]].label

    def report(done: int, total: int) -> None:
        context.progress(done, total, f"正在校验{label}：{done}/{total} 行")

    context.progress(0, 0, "正在读取文件", force=True)
    try:
        with source.open("rb") as stream:
            upload, created = services.store_roster(
                stream,
                params["filename"],
                kind=params["roster"],
                division=division,
                period=date.fromisoformat(params["period"]),
                user=context.user,
                progress=report,
            )
    except services.TableError as error:
        raise JobFailed(error.message, url=back, details=error.details[:20]) from None
    finally:
        _remove_roster_input(context.directory)
    described = f"有效 {upload.row_count} 行，错误 {upload.error_count} 行"
    return {
        "url": reverse("review_roster_detail", args=[upload.pk]),
        "summary": f"已校验「{upload.filename}」：{described}"
        if created
        else f"同一文件已上传过，沿用原记录：{described}",
    }


@receiver(job_finished, dispatch_uid="review.forget_roster_input")
def _forget_roster_input(sender: type[Job], job: Job, **kwargs: Any) -> None:
    """A roster upload's job ended, however: the file it was given goes."""
    if job.kind == ROSTER_UPLOAD:
        _remove_roster_input(job_dir(job))


def _remove_roster_input(directory: Path) -> None:
    (directory / ROSTER_INPUT).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()  # nothing else of a roster upload lives there


# --- A verdict with a long evidence scan ------------------------------------------------------

VERIFICATION_EVIDENCE = "verification_evidence"


def verify_with_evidence(
    finding: Finding,
    *,
    outcome: str,
    note: str,
    user: Any,
    evidence: ingest.Received,
    request: Any = None,
) -> Verification | Job:
    """A verdict with its evidence scan (核查佐证材料). A PDF of more than
    ``ARCHIVE_BACKGROUND_PDF_PAGES`` pages for a finding whose person has a case file is
    filed by the archive's background ingestion (扫描件归档), which then records the verdict in
    the same transaction (:func:`_record_verdict`): the verdict and its evidence, or neither.
    Any other scan is stored and filed in the request (``services.verify``; a ZIP is refused
    there: a verdict rests on one scan). Returns the verdict or the job."""
    try:
        services.check_verdict(finding, outcome, note)
    except services.ReviewError:
        evidence.path.unlink(missing_ok=True)  # received for nothing
        raise
    if finding.person_id is None or evidence.kind != "pdf" or not evidence.runs_in_background():
        return services.verify(
            finding, outcome=outcome, note=note, user=user, evidence=evidence, request=request
        )
    params = {
        "finding": finding.pk,
        "outcome": outcome,
        "note": note,
        "evidence": [evidence.sha, Path(evidence.name).name[:255], evidence.size],
    }
    target = services.evidence_target(finding, outcome)
    return submit_ingest(evidence, target, user, then=(VERIFICATION_EVIDENCE, params))


@after_filing(VERIFICATION_EVIDENCE)
def _record_verdict(
    outcomes: list[ingest.Outcome], user: Any, params: dict[str, Any]
) -> dict[str, Any]:
    back = reverse("review_finding_detail", args=[params["finding"]])
    # The ingestion refused a job whose user is gone before this step (archive/jobs.py).
    # Checked again as the job runs: the user may have moved to another division meanwhile.
    finding = access.scope(Finding.objects.filter(pk=params["finding"]), user, "county").first()
    if finding is None:
        raise JobFailed("该发现已不存在或已不在您的辖区内，未保存核查结论，也未归档佐证材料。")
    [filed] = outcomes
    if filed.status == ingest.REJECTED:
        raise JobFailed(f"佐证材料无法使用：{filed.message}。未保存核查结论。", url=back)
    sha, name, size = params["evidence"]
    done = {"url": back, "summary": "核查结论已保存，佐证材料已归入本人的补贴档案"}
    if Verification.objects.filter(finding=finding, evidence_sha256=sha).exists():
        return done  # a retry after a death past the commit: this job recorded it already
    try:
        services.verify(
            finding,
            outcome=params["outcome"],
            note=params["note"],
            user=user,
            filed_evidence=(sha, name, size),
        )
    except services.ReviewError as error:
        raise JobFailed(f"{error}未保存核查结论，也未归档佐证材料。", url=back) from None
    return done
