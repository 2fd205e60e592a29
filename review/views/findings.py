"""Findings (比对发现): the list with filters, export and bulk verification, one finding with
its evidence, verification and its reversal, and the outcome of a notice."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST
from wagtail.admin.auth import permission_denied

from archive import access
from archive.access import permissions as perms
from archive.access.guards import guarded
from archive.documents import ingest, storage
from archive.job_views import follow, submit_and_follow
from archive.models import Division
from archive.paging import paginate, query_without_page
from core.codes import VERIFIED_ACTIONS
from core.numbers import mask_id
from jobs.models import Job
from review import jobs as review_jobs
from review import services
from review.finding_list import (
    filter_findings,
    township_names,
    visible_findings,
)
from review.forms import (
    BulkVerificationForm,
    FindingFilterForm,
    NotifyOutcomeForm,
    ReversalForm,
    VerificationForm,
)
from review.models import (
    Finding,
    Verification,
)
from review.views.common import (
    PAGE_SIZE,
    audit,
    denied,
    get_finding_or_404,
    get_run_or_404,
)


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
        audit(request, "export", "review.ComparisonRun", pk, f"导出比对发现 {described}")
        filters = None if selects_nothing else data
        return submit_and_follow(request, review_jobs.FINDING_EXPORT, run=run.pk, filters=filters)
    audit(request, "view", "review.ComparisonRun", pk, f"查看比对发现列表 {described}")
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
    audit(request, "view", "review.Finding", pk, f"查看比对发现 {mask_id(finding.id_number)}")
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
    verdict = {"outcome": data["outcome"], "note": data["note"], "user": request.user}
    upload = data.get("evidence")
    try:
        if upload is None:
            services.verify(finding, **verdict, request=request)
        else:
            received = ingest.receive(upload, upload.name or "佐证材料", size_hint=upload.size)
            if isinstance(received, ingest.Outcome):
                raise services.ReviewError(f"佐证材料{received.message}。")
            done = review_jobs.verify_with_evidence(
                finding, **verdict, evidence=received, request=request
            )
            if isinstance(done, Job):  # a long PDF: filed, then the verdict recorded, by a job
                return follow(done)
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
        raise denied(request, "review.Verification", pk)
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
    audit(request, "download", "review.Verification", pk, "查看核查佐证材料")
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
