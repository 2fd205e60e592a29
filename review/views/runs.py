"""Comparison runs (比对批次): the list, a new run (a job), one run with its diff against the
previous run, and its progress as JSON for the page's bar."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from archive import access
from archive.access import permissions as perms
from archive.access.guards import guarded
from archive.job_views import follow, visible_jobs
from archive.paging import paginate
from review import jobs as review_jobs
from review import services
from review.finding_list import (
    visible_runs,
)
from review.findings import CODE_LABELS
from review.forms import (
    NewRunForm,
)
from review.models import (
    ComparisonRun,
    Finding,
)
from review.rosters import ROSTERS
from review.views.common import (
    DIFF_LIMIT,
    audit,
    get_run_or_404,
    visible_uploads,
)


@guarded(perms.VIEW_RUN)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = visible_runs(request.user).select_related("division", "created_by", "job")
    page = paginate(request, runs, 50)
    return TemplateResponse(
        request,
        "review/run_list.html",
        {"page": page, "can_run": request.user.has_perm(perms.ADD_RUN)},
    )


@guarded(perms.ADD_RUN)
def run_new(request: HttpRequest) -> HttpResponse:
    divisions = services.divisions_of(request.user)
    recent = timezone.localdate().replace(day=1) - timedelta(days=400)
    uploads = (
        visible_uploads(request.user)
        .filter(period__gte=recent)
        .select_related("division")
        .order_by("kind", "-period", "-uploaded_at")
    )
    as_of = _default_as_of()
    initial: dict[str, Any] = {"as_of": as_of}
    if request.GET.get("division"):
        initial["division"] = divisions.filter(code=request.GET["division"]).first()
    elif len(divisions) == 1:
        initial["division"] = divisions[0]
    if initial.get("division"):
        # The rosters of the reference date's month, one per kind, as a clerk would tick them.
        period = services.latest_uploads(initial["division"], as_of.replace(day=1), as_of)
        visible = set(uploads.values_list("pk", flat=True))
        initial["rosters"] = [u.pk for u in period.values() if u.pk in visible]
    form = NewRunForm(request.POST or None, divisions=divisions, uploads=uploads, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.create_run(
                division=data["division"],
                as_of=data["as_of"],
                uploads=data["rosters"],
                user=request.user,
            )
        except services.ReviewError as error:
            form.add_error(None, str(error))
        else:
            audit(
                request,
                "review_run",
                "review.ComparisonRun",
                run.pk,
                f"发起比对 {run.division_id} 基准日 {run.as_of}",
            )
            job = review_jobs.submit_run(run.pk, user=request.user)
            messages.success(request, "比对已开始，本页会自动显示进度，完成后转到比对结果。")
            return follow(job)
    return TemplateResponse(request, "review/run_new.html", {"form": form})


def _default_as_of() -> date:
    today = timezone.localdate()
    return today.replace(day=1) - timedelta(days=1)


def _run_code_counts(run: ComparisonRun, findings: QuerySet) -> list[dict[str, Any]]:
    counts = Counter(findings.values_list("code", flat=True))
    return [
        {"code": code, "label": label, "count": counts[code]}
        for code, label in CODE_LABELS.items()
        if counts.get(code)
    ]


@guarded(perms.VIEW_RUN)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run_or_404(request, pk)
    findings = access.scope(run.findings.all(), request.user, "county")
    resolved = access.scope(services.resolved_findings(run), request.user, "county")
    not_evaluated = [
        {
            "code": code,
            "label": CODE_LABELS.get(code, code),
            "missing": "、".join(ROSTERS[k].label for k in kinds),
        }
        for code, kinds in run.not_evaluated
    ]
    context = {
        "run": run,
        "not_evaluated": not_evaluated,
        "rosters": run.rosters.select_related("division"),
        "code_counts": _run_code_counts(run, findings) if run.is_finished else [],
        "new": findings.filter(diff=Finding.Diff.NEW).order_by("id")[:DIFF_LIMIT],
        "still_open": findings.filter(diff=Finding.Diff.STILL_OPEN).order_by("id")[:DIFF_LIMIT],
        "resolved": resolved.order_by("id")[:DIFF_LIMIT],
        "counts": {
            "total": findings.count(),
            "new": findings.filter(diff=Finding.Diff.NEW).count(),
            "still_open": findings.filter(diff=Finding.Diff.STILL_OPEN).count(),
            "resolved": resolved.count(),
        },
        "diff_limit": DIFF_LIMIT,
        "running": not run.has_ended,
        "progress": review_jobs.progress_of(run),
        # The job's page (where its owner may cancel it), for those who may see it.
        "job": visible_jobs(request.user).filter(pk=run.job_id).first() if run.job_id else None,
    }
    if run.is_finished:
        audit(request, "view", "review.ComparisonRun", pk, "查看比对结果与变化")
    return TemplateResponse(request, "review/run_detail.html", context)


@guarded(perms.VIEW_RUN)
def run_status(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_run_or_404(request, pk)
    percent, stage = review_jobs.progress_of(run)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": percent,
            "stage": stage,
            "error": run.error,
        }
    )
