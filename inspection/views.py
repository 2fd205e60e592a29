"""Admin pages of spot checks (抽查) and the annual review (年度集中复核).

Plain Django views in the Wagtail admin (registered by ``inspection.wagtail_hooks``), thin
over `inspection.spot_checks` and `inspection.campaigns`. Jurisdiction through
`archive.access` (a spot check or campaign is visible when its division lies within the
user's, and then only the items of the user's counties); anything else is a 404 written to
the audit log; every page or export with personal data is audited; ID numbers are masked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from archive.access import permissions as perms
from archive.access.audit import record
from archive.access.guards import guarded
from archive.documents import ingest
from archive.exports import xlsx_download
from archive.job_views import follow
from archive.paging import paginate, query_without_page
from archive.people.enrolments import STOP_REASONS
from inspection import campaigns, spot_checks
from inspection import jobs as inspection_jobs
from inspection.forms import (
    AssignForm,
    CampaignForm,
    ItemFilterForm,
    OutcomeForm,
    ResultForm,
    SpotCheckForm,
    TaskFilterForm,
)
from inspection.models import ReviewCampaign, ReviewTask, SpotCheck, SpotCheckItem
from inspection.population import FILTERS
from jobs.models import Job

PAGE_SIZE = 50


def _denied(request: HttpRequest, obj_type: str, pk: Any) -> Http404:
    record(request, "denied", obj_type=obj_type, obj_id=str(pk), detail="记录不存在或不在本辖区")
    return Http404("记录不存在或不在您的辖区内。")


def _audit(request: HttpRequest, action: str, obj_type: str, obj_id: Any, detail: str) -> None:
    record(request, action, obj_type=obj_type, obj_id=str(obj_id), detail=detail)


def _filters_label(spot_check: SpotCheck) -> str:
    parts = []
    if spot_check.query:
        parts.append(f"检索词“{spot_check.query}”")
    for field, value in spot_check.filters.items():
        label, allowed = FILTERS.get(field, (field, None))
        if field == "township":
            value = spot_checks.township_names([value])[value]
        parts.append(f"{label}：{allowed.get(value, value) if allowed else value}")
    return "；".join(parts) or "全部档案"


# --------------------------------------------------------------------------------------------
# Spot checks


def get_spot_check_or_404(request: HttpRequest, pk: int) -> SpotCheck:
    spot_check = (
        spot_checks.visible(request.user)
        .select_related("division", "created_by")
        .filter(pk=pk)
        .first()
    )
    if spot_check is None:
        raise _denied(request, "inspection.SpotCheck", pk)
    return spot_check


def get_item_or_404(request: HttpRequest, pk: int) -> SpotCheckItem:
    item = (
        SpotCheckItem.objects.select_related(
            "spot_check__division",
            "case_file__person",
            "case_file__county",
            "inspector",
            "recorded_by",
            "evidence",
        )
        .filter(pk=pk)
        .first()
    )
    if item is None or not spot_checks.visible(request.user).filter(pk=item.spot_check_id).exists():
        raise _denied(request, "inspection.SpotCheckItem", pk)
    if not spot_checks.visible_items(item.spot_check, request.user).filter(pk=pk).exists():
        raise _denied(request, "inspection.SpotCheckItem", pk)
    return item


@guarded(perms.VIEW_SPOT_CHECK)
def spot_check_list(request: HttpRequest) -> HttpResponse:
    checks = (
        spot_checks.visible(request.user)
        .select_related("division", "created_by")
        .annotate(
            total=Count("items"),
            done=Count("items", filter=~Q(items__result="")),
            failed=Count("items", filter=Q(items__result=SpotCheckItem.Result.FAIL)),
        )
        .order_by("-created_at", "-id")
    )
    page = paginate(request, checks, PAGE_SIZE)
    return TemplateResponse(
        request,
        "inspection/spot_check_list.html",
        {"page": page, "can_add": request.user.has_perm(perms.ADD_SPOT_CHECK)},
    )


@guarded(perms.ADD_SPOT_CHECK)
def spot_check_new(request: HttpRequest) -> HttpResponse:
    # Opened from the search page (档案检索): its query and filters are the starting point.
    initial = {k: request.GET[k] for k in ("query", *FILTERS) if request.GET.get(k)}
    form = SpotCheckForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            spot_check = spot_checks.create(
                division=data["division"],
                plan=form.sample_plan(),
                query=data["query"],
                filters=form.filters(),
                stratify=spot_checks.TOWNSHIP if data["stratify"] else "",
                seed=data["seed"],
                user=request.user,
                request=request,
            )
        except spot_checks.SpotCheckError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"已抽取 {spot_check.items.count()} 份（总体 {spot_check.population} 份）。",
            )
            return redirect("inspection_spot_check_detail", pk=spot_check.pk)
    return TemplateResponse(request, "inspection/spot_check_new.html", {"form": form})


def _filtered_items(request: HttpRequest, spot_check: SpotCheck, form: ItemFilterForm):
    items = spot_checks.visible_items(spot_check, request.user)
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("township"):
        items = items.filter(township_code=data["township"])
    state = data.get("state")
    if state == "unassigned":
        items = items.filter(inspector__isnull=True)
    elif state == "open":
        items = items.filter(result="")
    elif state in ("pass", "fail"):
        items = items.filter(result=state)
    elif state == "mine":
        items = items.filter(inspector=request.user)
    return items


@guarded(perms.VIEW_SPOT_CHECK)
def spot_check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    spot_check = get_spot_check_or_404(request, pk)
    all_items = spot_checks.visible_items(spot_check, request.user)
    progress = spot_checks.progress(all_items)
    form = ItemFilterForm(request.GET or None, townships=[(p.township, p.name) for p in progress])
    items = _filtered_items(request, spot_check, form)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm(perms.EXPORT_SPOT_CHECK):
            raise _denied(request, "inspection.SpotCheck", pk)
        _audit(request, "export", "inspection.SpotCheck", pk, "导出抽查结果")
        return xlsx_download(
            "抽查结果",
            spot_checks.report_rows(spot_check, items),
            f"抽查结果-{spot_check.division_id}-{spot_check.pk}.xlsx",
        )
    _audit(request, "view", "inspection.SpotCheck", pk, "查看抽查对象列表")
    page = paginate(
        request,
        items.select_related("case_file__person", "case_file__county", "inspector").order_by(
            "position"
        ),
        PAGE_SIZE,
    )
    names = {p.township: p.name for p in progress}
    for item in page:
        item.township_name = names.get(item.township_code, spot_checks.UNKNOWN_TOWNSHIP)
    can_assign = request.user.has_perm(perms.ASSIGN_SPOT_CHECK)
    total = sum(p.total for p in progress)
    done = sum(p.done for p in progress)
    return TemplateResponse(
        request,
        "inspection/spot_check_detail.html",
        {
            "spot_check": spot_check,
            "title": f"抽查 #{spot_check.pk}",
            "filters_label": _filters_label(spot_check),
            "progress": progress,
            "total": total,
            "done": done,
            "failed": sum(p.failed for p in progress),
            "percent": 100 * done // total if total else 100,
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_assign": can_assign,
            "assign_form": AssignForm(
                inspectors=spot_checks.assignable_inspectors(request.user, spot_check.division)
            )
            if can_assign
            else None,
            "can_export": request.user.has_perm(perms.EXPORT_SPOT_CHECK),
        },
    )


@require_POST
@guarded(perms.ASSIGN_SPOT_CHECK)
def spot_check_assign(request: HttpRequest, pk: int) -> HttpResponse:
    spot_check = get_spot_check_or_404(request, pk)
    form = AssignForm(
        request.POST,
        inspectors=spot_checks.assignable_inspectors(request.user, spot_check.division),
    )
    chosen = [int(x) for x in request.POST.getlist("items") if x.isdigit()]
    items = spot_checks.visible_items(spot_check, request.user)
    if request.POST.get("scope") == "unassigned":
        items = items.filter(inspector__isnull=True)
    else:
        items = items.filter(pk__in=chosen)
    if not form.is_valid():
        messages.error(request, "请选择检查员。")
    elif not items.exists():
        messages.error(request, "请勾选要分配的抽查对象。")
    else:
        try:
            count = spot_checks.assign(items, form.chosen(), user=request.user, request=request)
        except spot_checks.SpotCheckError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"已将 {count} 份分配给 {form.chosen().get_username()}。")
    return redirect("inspection_spot_check_detail", pk=pk)


def _summary(counts) -> dict[str, int]:
    return {
        "passed": counts.get(SpotCheckItem.Result.PASS, 0),
        "failed": counts.get(SpotCheckItem.Result.FAIL, 0),
        "unchecked": counts.get("", 0),
    }


@guarded(perms.VIEW_SPOT_CHECK)
def spot_check_print(request: HttpRequest, pk: int) -> HttpResponse:
    spot_check = get_spot_check_or_404(request, pk)
    items = spot_checks.visible_items(spot_check, request.user)
    rows = list(spot_checks.report_rows(spot_check, items))
    _audit(request, "print", "inspection.SpotCheck", pk, "打印抽查结果")
    return TemplateResponse(
        request,
        "inspection/spot_check_print.html",
        {
            "spot_check": spot_check,
            "filters_label": _filters_label(spot_check),
            "headers": rows[0],
            "rows": rows[1:],
            **_summary(spot_checks.results_summary(items)),
            "today": timezone.localdate(),
        },
    )


def _record_result(request: HttpRequest, item: SpotCheckItem, form: ResultForm):
    """The item's result: with no evidence, or a small scan, recorded now; with a ZIP or a
    long PDF, by the background job that files it (``inspection.jobs``), which it returns."""
    answers, result = form.answers(), form.cleaned_data["result"]
    notes, upload = form.cleaned_data["notes"], form.cleaned_data.get("evidence")
    if upload is None:
        return spot_checks.record_result(
            item, answers=answers, result=result, notes=notes, user=request.user, request=request
        )
    received = ingest.receive(upload, upload.name or "佐证材料", size_hint=upload.size)
    if isinstance(received, ingest.Outcome):
        raise spot_checks.SpotCheckError(f"佐证材料未能归档：{received.message}")
    return inspection_jobs.record_with_evidence(
        item,
        answers=answers,
        result=result,
        notes=notes,
        user=request.user,
        evidence=received,
        request=request,
    )


@guarded(perms.VIEW_SPOT_CHECK_ITEM)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_item_or_404(request, pk)
    can_record = request.user.has_perm(perms.RECORD_SPOT_CHECK_ITEM) and not item.is_done
    form = ResultForm(request.POST or None, request.FILES or None) if can_record else None
    if request.method == "POST":
        if not can_record:
            messages.error(request, "该对象已登记结果，或您没有登记权限。")
            return redirect("inspection_item_detail", pk=pk)
        if form.is_valid():
            try:
                recorded = _record_result(request, item, form)
            except spot_checks.SpotCheckError as error:
                form.add_error(None, str(error))
            else:
                if isinstance(recorded, Job):
                    return follow(recorded)
                messages.success(request, "检查结果已保存。")
                return redirect("inspection_spot_check_detail", pk=item.spot_check_id)
    _audit(
        request,
        "view",
        "inspection.SpotCheckItem",
        pk,
        f"查看抽查对象 {item.case_file.person.masked_id}",
    )
    checklist = [(label, getattr(item, field)) for field, label in SpotCheckItem.CHECKLIST]
    return TemplateResponse(
        request,
        "inspection/item_detail.html",
        {
            "item": item,
            "person": item.case_file.person,
            "township": spot_checks.township_names([item.township_code])[item.township_code],
            "checklist": checklist,
            "form": form,
        },
    )


# --------------------------------------------------------------------------------------------
# Annual review


def get_campaign_or_404(request: HttpRequest, pk: int) -> ReviewCampaign:
    campaign = campaigns.visible(request.user).select_related("division").filter(pk=pk).first()
    if campaign is None:
        raise _denied(request, "inspection.ReviewCampaign", pk)
    return campaign


@guarded(perms.VIEW_CAMPAIGN)
def campaign_list(request: HttpRequest) -> HttpResponse:
    found = (
        campaigns.visible(request.user)
        .select_related("division")
        .annotate(total=Count("tasks"), done=Count("tasks", filter=~Q(tasks__outcome="")))
    )
    page = paginate(request, found, PAGE_SIZE)
    return TemplateResponse(
        request,
        "inspection/campaign_list.html",
        {
            "page": page,
            "today": timezone.localdate(),
            "can_add": request.user.has_perm(perms.ADD_CAMPAIGN),
        },
    )


@guarded(perms.ADD_CAMPAIGN)
def campaign_new(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = CampaignForm(
        request.POST or None,
        user=request.user,
        initial={"year": today.year, "due_date": today.replace(month=12, day=31)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaigns.create(
                year=data["year"],
                division=data["division"],
                due_date=data["due_date"],
                user=request.user,
                request=request,
            )
        except campaigns.CampaignError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"已发起，共 {campaign.tasks.count()} 项复核任务。")
            return redirect("inspection_campaign_detail", pk=campaign.pk)
    return TemplateResponse(request, "inspection/campaign_new.html", {"form": form})


@guarded(perms.VIEW_CAMPAIGN)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_or_404(request, pk)
    today = timezone.localdate()
    tasks = campaigns.visible_tasks(campaign, request.user)
    progress = campaigns.progress(tasks)
    form = TaskFilterForm(request.GET or None, townships=[(p.township, p.name) for p in progress])
    data = form.cleaned_data if form.is_valid() else {}
    shown = tasks
    if data.get("township"):
        shown = shown.filter(township_code=data["township"])
    if data.get("state") == "open":
        shown = shown.filter(outcome="")
    elif data.get("state") == "done":
        shown = shown.exclude(outcome="")
    elif data.get("state") == "overdue":
        shown = campaigns.overdue(campaign, shown, today)
    _audit(request, "view", "inspection.ReviewCampaign", pk, "查看复核任务列表")
    page = paginate(
        request,
        shown.select_related("person", "enrolment", "county", "reviewer").order_by(
            "township_code", "person__name", "id"
        ),
        PAGE_SIZE,
    )
    names = {p.township: p.name for p in progress}
    for task in page:
        task.township_name = names.get(task.township_code, spot_checks.UNKNOWN_TOWNSHIP)
    total = sum(p.total for p in progress)
    done = sum(p.done for p in progress)
    return TemplateResponse(
        request,
        "inspection/campaign_detail.html",
        {
            "campaign": campaign,
            "title": f"{campaign.year}年度集中复核",
            "progress": progress,
            "outcome_labels": [o.label for o in ReviewTask.Outcome],
            "total": total,
            "done": done,
            "percent": 100 * done // total if total else 100,
            "overdue": campaigns.overdue(campaign, tasks, today).count(),
            "form": form,
            "page": page,
            "query": query_without_page(request),
        },
    )


@guarded(perms.VIEW_REVIEW_TASK)
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = (
        ReviewTask.objects.select_related(
            "campaign__division",
            "person",
            "enrolment",
            "county",
            "record",
            "change",
            "recorded_by",
        )
        .filter(pk=pk)
        .first()
    )
    if (
        task is None
        or not campaigns.visible(request.user).filter(pk=task.campaign_id).exists()
        or not campaigns.visible_tasks(task.campaign, request.user).filter(pk=pk).exists()
    ):
        raise _denied(request, "inspection.ReviewTask", pk)
    can_record = request.user.has_perm(perms.RECORD_REVIEW_TASK) and not task.is_done
    form = OutcomeForm(request.POST or None) if can_record else None
    if request.method == "POST":
        if not can_record:
            messages.error(request, "该任务已登记复核结论，或您没有登记权限。")
            return redirect("inspection_task_detail", pk=pk)
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaigns.record_outcome(
                    task,
                    outcome=data["outcome"],
                    note=data["note"],
                    reason=data["reason"],
                    month=data["month"],
                    user=request.user,
                    request=request,
                )
            except campaigns.CampaignError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "复核结论已保存，复核记录已归入补贴档案。")
                return redirect("inspection_campaign_detail", pk=task.campaign_id)
    _audit(request, "view", "inspection.ReviewTask", pk, f"查看复核任务 {task.person.masked_id}")
    return TemplateResponse(
        request,
        "inspection/task_detail.html",
        {
            "task": task,
            "township": spot_checks.township_names([task.township_code])[task.township_code],
            "form": form,
            "can_stop": request.user.has_perm(perms.CHANGE_ENROLMENT),
            "reason_label": STOP_REASONS.get(task.stop_reason, ""),
        },
    )


urlpatterns = [
    path("spot-checks/", spot_check_list, name="inspection_spot_checks"),
    path("spot-checks/new/", spot_check_new, name="inspection_spot_check_new"),
    path("spot-checks/<int:pk>/", spot_check_detail, name="inspection_spot_check_detail"),
    path("spot-checks/<int:pk>/assign/", spot_check_assign, name="inspection_spot_check_assign"),
    path("spot-checks/<int:pk>/print/", spot_check_print, name="inspection_spot_check_print"),
    path("spot-check-items/<int:pk>/", item_detail, name="inspection_item_detail"),
    path("reviews/", campaign_list, name="inspection_campaigns"),
    path("reviews/new/", campaign_new, name="inspection_campaign_new"),
    path("reviews/<int:pk>/", campaign_detail, name="inspection_campaign_detail"),
    path("review-tasks/<int:pk>/", task_detail, name="inspection_task_detail"),
]
