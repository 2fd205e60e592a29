"""Admin pages of data comparison (数据比对): rosters, runs, findings, verification, notices
and the dashboard.

Plain Django views rendered in the Wagtail admin (``review.wagtail_hooks`` registers them,
behind the admin login). Jurisdiction comes from :mod:`archive.access`:

* a run is visible to a user when its division lies within the user's, or contains it (a
  county sees the city's run, but only the findings of its own county);
* a finding is visible when its county lies within the user's division and its run is visible;
* anything else is a 404, written to the audit log.

Every page or export that shows personal data is written to the audit log.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST
from wagtail.admin.auth import permission_denied, require_admin_access

from archive import access
from archive.access import permissions as perms
from archive.access.audit import record
from archive.documents import storage
from archive.documents.upload_limits import too_large_message
from archive.job_views import follow, submit_and_follow, visible_jobs
from archive.models import Division
from archive.paging import paginate, query_without_page
from core.codes import SUBSIDY_NAMES, VERIFIED_ACTIONS
from core.eligibility import RuleSet
from core.numbers import mask_id
from review import jobs as review_jobs
from review import services
from review.finding_list import (
    filter_findings,
    township_names,
    visible_findings,
    visible_runs,
)
from review.findings import CODE_LABELS
from review.forms import (
    BulkVerificationForm,
    FindingFilterForm,
    NewRunForm,
    NotifyOutcomeForm,
    ReversalForm,
    RosterUploadForm,
    VerificationForm,
)
from review.models import (
    ComparisonRun,
    Finding,
    RosterUpload,
    Verification,
)
from review.rosters import ROSTERS

PAGE_SIZE = 100
DIFF_LIMIT = 200


def guarded(permission: str) -> Callable:
    """Admin login and a permission, whatever URLconf the view is mounted in."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                return permission_denied(request)
            return view(request, *args, **kwargs)

        return require_admin_access(wrapped)

    return decorate


# --------------------------------------------------------------------------------------------
# Jurisdiction (the rule itself is archive.access's)


def visible_uploads(user) -> QuerySet:
    return access.scope_within_or_above(RosterUpload.objects.all(), user, "division")


def _denied(request: HttpRequest, obj_type: str, pk: Any) -> Http404:
    record(request, "denied", obj_type=obj_type, obj_id=str(pk), detail="记录不存在或不在本辖区")
    return Http404("记录不存在或不在您的辖区内。")


def get_run_or_404(request: HttpRequest, pk: int) -> ComparisonRun:
    run = (
        visible_runs(request.user)
        .select_related("division", "rule_set", "created_by", "previous", "job")
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise _denied(request, "review.ComparisonRun", pk)
    return run


def get_finding_or_404(request: HttpRequest, pk: int) -> Finding:
    finding = (
        visible_findings(request.user)
        .select_related("run", "run__division", "run__rule_set", "county", "person", "enrolment")
        .filter(pk=pk)
        .first()
    )
    if finding is None:
        raise _denied(request, "review.Finding", pk)
    return finding


def _audit(request: HttpRequest, action: str, obj_type: str, obj_id: Any, detail: str) -> None:
    record(request, action, obj_type=obj_type, obj_id=str(obj_id), detail=detail)


# --------------------------------------------------------------------------------------------
# Status of findings


# --------------------------------------------------------------------------------------------
# Rosters


@guarded(perms.VIEW_ROSTER_UPLOAD)
def roster_list(request: HttpRequest) -> HttpResponse:
    divisions = services.divisions_of(request.user)
    can_upload = request.user.has_perm(perms.ADD_ROSTER_UPLOAD)
    form = RosterUploadForm(divisions=divisions)
    if request.method == "POST":
        if not can_upload:
            return permission_denied(request)
        form = RosterUploadForm(request.POST, request.FILES, divisions=divisions)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # Stored here, parsed by a background job (review/jobs.py).
                submitted = review_jobs.submit_roster_upload(
                    data["file"],
                    data["file"].name,
                    kind=data["kind"],
                    division=data["division"],
                    period=data["period"],
                    user=request.user,
                )
            except storage.TooLarge:
                form.add_error("file", too_large_message(int(settings.UPLOAD_MAX_BYTES)))
            else:
                if isinstance(submitted, RosterUpload):
                    messages.info(request, "同一文件已上传过，沿用原记录。")
                    return redirect("review_roster_detail", pk=submitted.pk)
                messages.success(
                    request, "文件已收到，正在校验；本页显示进度，完成后转到校验结果。"
                )
                return follow(submitted)
    uploads = visible_uploads(request.user).select_related("division", "uploaded_by")
    page = paginate(request, uploads, 50)
    return TemplateResponse(
        request,
        "review/roster_list.html",
        {"form": form, "page": page, "can_upload": can_upload, "rosters": ROSTERS.values()},
    )


@guarded(perms.VIEW_ROSTER_UPLOAD)
def roster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = (
        visible_uploads(request.user)
        .select_related("division", "uploaded_by")
        .filter(pk=pk)
        .first()
    )
    if upload is None:
        raise _denied(request, "review.RosterUpload", pk)
    _audit(request, "view", "review.RosterUpload", pk, f"查看比对数据校验结果 {upload.filename}")
    return TemplateResponse(
        request,
        "review/roster_detail.html",
        {"upload": upload, "runs": upload.runs.filter(pk__in=visible_runs(request.user))[:20]},
    )


# --------------------------------------------------------------------------------------------
# Runs


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
            _audit(
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
        _audit(request, "view", "review.ComparisonRun", pk, "查看比对结果与变化")
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


# --------------------------------------------------------------------------------------------
# Findings


@guarded(perms.VIEW_FINDING)
def finding_list(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run_or_404(request, pk)
    visible = access.scope(run.findings.all(), request.user, "county")
    townships = township_names(visible)
    form = FindingFilterForm(request.GET or None, townships=townships)
    selects_nothing = form.is_bound and not form.is_valid()
    if selects_nothing:
        # A value not offered (a township with no finding here) selects nothing, not everything.
        visible, data = visible.none(), {}
    else:
        data = form.cleaned_data if form.is_bound else {}
    findings = filter_findings(visible, data).select_related("county")
    described = " ".join(f"{k}={v}" for k, v in data.items() if v)
    if request.GET.get("format") == "xlsx":
        # Every finding of the filtered list, as a background job (review/jobs.py).
        if not request.user.has_perm(perms.EXPORT_FINDING):
            return permission_denied(request)
        _audit(request, "export", "review.ComparisonRun", pk, f"导出比对发现 {described}")
        filters = None if selects_nothing else data
        return submit_and_follow(request, review_jobs.FINDING_EXPORT, run=run.pk, filters=filters)
    _audit(request, "view", "review.ComparisonRun", pk, f"查看比对发现列表 {described}")
    page = paginate(request, findings.order_by("id"), PAGE_SIZE)
    return TemplateResponse(
        request,
        "review/finding_list.html",
        {
            "run": run,
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_export": request.user.has_perm(perms.EXPORT_FINDING),
            "can_verify": request.user.has_perm(perms.VERIFY),
            "bulk_form": BulkVerificationForm(),
        },
    )


@require_POST
@guarded(perms.VERIFY)
def finding_verify_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """批量核查: one verdict and note for the ticked findings of a run's list, each verified and
    logged on its own (``services.verify_many``); only findings within the user's jurisdiction
    that still wait for a verdict are taken."""
    run = get_run_or_404(request, pk)
    waiting = (
        access.scope(run.findings.filter(action__in=VERIFIED_ACTIONS), request.user, "county")
        .with_status()
        .filter(own_verdict__isnull=True)
    )
    ticked = [int(v) for v in request.POST.getlist("findings") if v.isdigit()]
    form = BulkVerificationForm(request.POST, choices=ticked)
    back = reverse("review_findings", args=[run.pk])
    query = request.POST.get("query", "")
    if query:
        back = f"{back}?{query}"
    if not form.is_valid() or not ticked:
        messages.error(request, "未保存：请勾选待核查的发现，选择核查结论并填写说明。")
        return redirect(back)
    if len(ticked) > services.BULK_LIMIT:
        messages.error(request, f"一次最多批量核查 {services.BULK_LIMIT} 条，请缩小筛选范围。")
        return redirect(back)
    findings = list(waiting.filter(pk__in=ticked).select_related("run", "county", "person"))
    data = form.cleaned_data
    result = services.verify_many(
        findings, outcome=data["outcome"], note=data["note"], user=request.user, request=request
    )
    skipped = len(result.skipped) + len(set(ticked) - {f.pk for f in findings})
    message = f"已批量核查 {len(result.done)} 条"
    if skipped:
        message += f"，跳过 {skipped} 条（已有结论、无需核查或不在本辖区）"
    messages.success(request, message + "。")
    return redirect(back)


@guarded(perms.VIEW_FINDING)
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_finding_or_404(request, pk)
    _audit(request, "view", "review.Finding", pk, f"查看比对发现 {mask_id(finding.id_number)}")
    verifications = finding.verifications.select_related("verified_by", "reversed_by").order_by(
        "verified_at", "id"
    )
    in_force = next((v for v in verifications if not v.is_reversed), None)
    run = finding.run
    earlier = (
        Finding.objects.filter(key=finding.key, run__division_id=run.division_id)
        .filter(Q(run__as_of__lt=run.as_of) | Q(run__as_of=run.as_of, run_id__lt=run.pk))
        .with_status()
        .select_related("run")
        .order_by("-run__as_of", "-run_id")[:5]
    )
    carried = (
        Verification.objects.select_related("verified_by", "finding__run")
        .filter(pk=finding.carried_verification_id, reversed_at__isnull=True)
        .first()
        if finding.carried_verification_id
        else None
    )
    user = request.user
    targets = []
    if finding.needs_verification:
        targets = list(
            services.target_enrolments(finding, ["active", "suspended", "stopped"]).select_related(
                "county"
            )
        )
    return TemplateResponse(
        request,
        "review/finding_detail.html",
        {
            "finding": finding,
            "township": Division.objects.filter(code=finding.township_code).first(),
            "values": (finding.evidence or {}).get("values") or {},
            "verifications": verifications,
            "in_force": in_force,
            "carried": carried,
            "outcomes": finding.notify_outcomes.select_related("recorded_by").order_by(
                "-recorded_at"
            ),
            "earlier": earlier,
            "targets": targets,
            "effective_month": services.effective_month(finding)
            if finding.needs_verification
            else None,
            "verify_form": VerificationForm(),
            "reversal_form": ReversalForm(),
            "notify_form": NotifyOutcomeForm(),
            "can_verify": user.has_perm(perms.VERIFY)
            and finding.needs_verification
            and in_force is None,
            "can_reverse": user.has_perm(perms.REVERSE_VERIFICATION) and in_force is not None,
            "can_notify": user.has_perm(perms.NOTIFY) and finding.action == "NOTIFY",
            "can_view_person": user.has_perm(perms.VIEW_PERSON) and finding.person_id,
        },
    )


@require_POST
@guarded(perms.VERIFY)
def finding_verify(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_finding_or_404(request, pk)
    form = VerificationForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "未保存：请选择核查结论并填写说明。")
        return redirect("review_finding_detail", pk=pk)
    data = form.cleaned_data
    try:
        services.verify(
            finding,
            outcome=data["outcome"],
            note=data["note"],
            user=request.user,
            evidence=data.get("evidence"),
            request=request,
        )
    except services.ReviewError as error:
        messages.error(request, f"未保存：{error}")
    else:
        messages.success(request, "核查结论已保存。")
    return redirect("review_finding_detail", pk=pk)


def _get_verification_or_404(request: HttpRequest, pk: int) -> Verification:
    verification = (
        Verification.objects.select_related("finding")
        .filter(pk=pk, finding__in=visible_findings(request.user))
        .first()
    )
    if verification is None:
        raise _denied(request, "review.Verification", pk)
    return verification


@require_POST
@guarded(perms.REVERSE_VERIFICATION)
def verification_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    verification = _get_verification_or_404(request, pk)
    form = ReversalForm(request.POST)
    if not form.is_valid():
        messages.error(request, "未撤销：请填写撤销原因。")
    else:
        try:
            services.reverse_verification(
                verification, reason=form.cleaned_data["reason"], user=request.user, request=request
            )
        except services.ReviewError as error:
            messages.error(request, f"未撤销：{error}")
        else:
            messages.success(request, "核查结论已撤销，相关补贴已恢复并记入历史。")
    return redirect("review_finding_detail", pk=verification.finding_id)


@guarded(perms.VIEW_FINDING)
def verification_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    verification = _get_verification_or_404(request, pk)
    if not verification.evidence_sha256:
        raise Http404("没有佐证材料。")
    path = storage.original_path(verification.evidence_sha256)
    if not path.exists():
        raise Http404("佐证材料文件缺失。")
    _audit(request, "download", "review.Verification", pk, "查看核查佐证材料")
    kind = services.evidence_kind(verification.evidence_sha256)
    content_type = {
        "jpeg": "image/jpeg",
        "png": "image/png",
        "pdf": "application/pdf",
        "tiff": "image/tiff",
    }.get(kind, "application/octet-stream")
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        False, verification.evidence_name or "evidence"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@guarded(perms.NOTIFY)
def finding_notify(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_finding_or_404(request, pk)
    form = NotifyOutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "未保存：请选择告知结果。")
        return redirect("review_finding_detail", pk=pk)
    try:
        services.record_notify_outcome(
            finding,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            user=request.user,
            request=request,
        )
    except services.ReviewError as error:
        messages.error(request, f"未保存：{error}")
    else:
        messages.success(request, "告知结果已登记。")
    return redirect("review_finding_detail", pk=pk)


# --------------------------------------------------------------------------------------------
# Policy notices (政策告知书) and outreach lists


def _notice_context(finding: Finding, rules: RuleSet | None = None) -> dict[str, Any]:
    """A letter to a citizen cites the rule set the run applied (its own legal basis), and the
    county office's phone from settings (NOTICE_OFFICE_PHONES)."""
    rules = rules or services.rules_of(finding.run)
    values = (finding.evidence or {}).get("values") or {}
    missed = [SUBSIDY_NAMES[s] for s in SUBSIDY_NAMES if finding.subsidy in (s, None, "", "both")]
    return {
        "finding": finding,
        "values": values,
        "missed": missed,
        "county": finding.county,
        "citation": rules.notice_citation or rules.legal_basis,
        "office_phone": settings.NOTICE_OFFICE_PHONES.get(finding.county_id, ""),
        "today": timezone.localdate(),
    }


@guarded(perms.VIEW_FINDING)
def finding_notice(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_finding_or_404(request, pk)
    if finding.action != "NOTIFY":
        raise Http404("只有应享未享的发现有政策告知书。")
    _audit(request, "print", "review.Finding", pk, f"打印政策告知书 {mask_id(finding.id_number)}")
    return TemplateResponse(
        request, "review/notice.html", {"notices": [_notice_context(finding)], "single": True}
    )


@guarded(perms.VIEW_FINDING)
def run_outreach(request: HttpRequest, pk: int) -> HttpResponse:
    """NOTIFY findings of a run grouped by township, for outreach; ``?notices=1`` prints every
    notice of the list."""
    run = get_run_or_404(request, pk)
    township = request.GET.get("township", "").strip()
    findings = (
        access.scope(run.findings.filter(action="NOTIFY"), request.user, "county")
        .with_status()
        .select_related("run", "county", "person")
    )
    if township:
        findings = findings.filter(township_code__startswith=township)
    findings = findings.order_by("county_id", "township_code", "id")
    _audit(
        request, "print", "review.ComparisonRun", pk, f"应享未享告知名单 乡镇={township or '全部'}"
    )
    if request.GET.get("notices"):
        rules = services.rules_of(run)  # one rule set for the whole run's letters
        return TemplateResponse(
            request,
            "review/notice.html",
            {"notices": [_notice_context(f, rules) for f in findings], "single": False},
        )
    present = (
        access.scope(run.findings.filter(action="NOTIFY"), request.user, "county")
        .exclude(township_code="")
        .values_list("township_code", flat=True)
        .distinct()
    )
    names = Division.objects.names(present)
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.county.name, finding.township_code)].append(finding)
    return TemplateResponse(
        request,
        "review/outreach.html",
        {
            "run": run,
            "township": township,
            "townships": sorted(names.items()),
            "groups": [
                {
                    "county": county,
                    "township": code,
                    "township_name": names.get(code, ""),
                    "findings": items,
                }
                for (county, code), items in groups.items()
            ],
        },
    )


# --------------------------------------------------------------------------------------------
# Dashboard


@guarded(perms.VIEW_RUN)
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    divisions = list(services.divisions_of(request.user))
    context = services.dashboard_context(request.user, divisions, today)
    return TemplateResponse(request, "review/dashboard.html", {**context, "today": today})


urlpatterns = [
    path("", dashboard, name="review_dashboard"),
    path("rosters/", roster_list, name="review_rosters"),
    path("rosters/<int:pk>/", roster_detail, name="review_roster_detail"),
    path("runs/", run_list, name="review_runs"),
    path("runs/new/", run_new, name="review_run_new"),
    path("runs/<int:pk>/", run_detail, name="review_run_detail"),
    path("runs/<int:pk>/status/", run_status, name="review_run_status"),
    path("runs/<int:pk>/findings/", finding_list, name="review_findings"),
    path("runs/<int:pk>/outreach/", run_outreach, name="review_outreach"),
    path("findings/<int:pk>/", finding_detail, name="review_finding_detail"),
    path("findings/<int:pk>/verify/", finding_verify, name="review_finding_verify"),
    path("runs/<int:pk>/findings/verify/", finding_verify_bulk, name="review_findings_verify"),
    path("findings/<int:pk>/notify/", finding_notify, name="review_finding_notify"),
    path("findings/<int:pk>/notice/", finding_notice, name="review_finding_notice"),
    path(
        "verifications/<int:pk>/reverse/",
        verification_reverse,
        name="review_verification_reverse",
    ),
    path(
        "verifications/<int:pk>/evidence/",
        verification_evidence,
        name="review_verification_evidence",
    ),
]
