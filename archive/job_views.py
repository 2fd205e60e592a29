"""我的任务: the background jobs (``jobs``) a user submitted, their progress and results.

The jobs app is mechanism only; who sees which job is decided here, like records: a user sees
their own jobs; holders of ``jobs.view_all_jobs`` (administrators) see every job submitted
within their jurisdiction (``access.user_prefix`` on the job's division). Anyone else's job is
a 404 and the attempt is audited. A job's files (exports) are personal data: downloads are
audited like any export.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from wagtail.admin.auth import require_admin_access

from archive.access import ALL, audit, user_prefix
from archive.access import permissions as perms
from jobs import services
from jobs.models import Job
from jobs.runner import job_dir

VIEW_ALL = perms.VIEW_ALL_JOBS
PAGE_SIZE = 50


def visible_jobs(user: Any) -> QuerySet[Job]:
    """The jobs this user may see: their own, and for administrators their jurisdiction's."""
    own = Q(user_id=user.pk)
    if not user.has_perm(VIEW_ALL):
        return Job.objects.filter(own)
    prefix = user_prefix(user)
    if prefix == ALL:
        return Job.objects.all()
    if prefix is None:
        return Job.objects.filter(own)
    return Job.objects.filter(own | Q(division_code__startswith=prefix))


def _job(request: HttpRequest, pk: int) -> Job:
    job = visible_jobs(request.user).select_related("user").filter(pk=pk).first()
    if job is None:
        audit.record(
            request, "denied", obj_type="jobs.Job", obj_id=str(pk), detail="任务不存在或无权查看"
        )
        raise Http404("任务不存在。")
    return job


def follow(job: Job) -> HttpResponse:
    """Send the user to the job's progress page, which moves on to its result when it is done."""
    return redirect(f"{reverse('archive_job_detail', kwargs={'pk': job.pk})}?follow=1")


def submit_and_follow(request: HttpRequest, kind: str, **params: Any) -> HttpResponse:
    """Submit a job for the requesting user and :func:`follow` it."""
    prefix = user_prefix(request.user)
    return follow(services.submit(kind, user=request.user, division_code=prefix or "", **params))


def _status(job: Job) -> dict[str, Any]:
    return {
        "state": job.state,
        "state_label": job.get_state_display(),
        "finished": job.is_finished,
        "percent": job.percent,
        "done": job.done,
        "total": job.total,
        "message": job.message,
        "error": job.error,
        "next": job.result.get("url", "") if job.state != Job.State.CANCELLED else "",
        "download": reverse("archive_job_download", kwargs={"pk": job.pk})
        if job.state == Job.State.DONE and job.result.get("file")
        else "",
        # Per file of an upload (扫描件归档): name, label and reason, as the uploader shows them.
        "outcomes": [
            {key: outcome.get(key) for key in ("name", "status", "label", "message", "document_id")}
            for outcome in job.result.get("outcomes", [])
        ],
    }


@require_admin_access
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = visible_jobs(request.user).select_related("user")
    state = request.GET.get("state", "")
    if state in Job.State.values:
        jobs = jobs.filter(state=state)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "jobs/job_list.html",
        {
            "page": page,
            "states": Job.State.choices,
            "state": state,
            "all": request.user.has_perm(VIEW_ALL),
        },
    )


@require_admin_access
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(
        request,
        "jobs/job_detail.html",
        {
            "job": job,
            "subtitle": f"任务 #{job.pk}",
            "status": _status(job),
            "follow": request.GET.get("follow") == "1",
            "can_cancel": not job.is_finished and job.user_id == request.user.pk,
        },
    )


@require_admin_access
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the progress bar polls (jobs/static/jobs/progress.js), about once a second."""
    return JsonResponse(_status(_job(request, pk)))


@require_admin_access
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if job.user_id != request.user.pk:
        raise Http404("任务不存在。")
    if services.cancel(job):
        audit.record(
            request,
            "job_cancel",
            obj_type="jobs.Job",
            obj_id=str(job.pk),
            detail=f"取消{job.kind_label}",
        )
        messages.success(request, "已请求取消；任务停止后不会留下写了一半的数据。")
    else:
        messages.error(request, "任务已经结束，无法取消。")
    return redirect("archive_job_detail", pk=job.pk)


@require_admin_access
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    name = job.result.get("file", "")
    target = job_dir(job) / name if name and "/" not in name else None
    if job.state != Job.State.DONE or target is None or not target.is_file():
        raise Http404("文件不存在或已过期清理，请重新导出。")
    audit.record(
        request,
        "download",
        obj_type="jobs.Job",
        obj_id=str(job.pk),
        detail=f"下载{job.kind_label}的结果文件",
    )
    return FileResponse(
        target.open("rb"),
        as_attachment=True,
        filename=job.result.get("filename") or name,
    )


urlpatterns = [
    path("jobs/", job_list, name="archive_job_list"),
    path("jobs/<int:pk>/", job_detail, name="archive_job_detail"),
    path("jobs/<int:pk>/status/", job_status, name="archive_job_status"),
    path("jobs/<int:pk>/cancel/", job_cancel, name="archive_job_cancel"),
    path("jobs/<int:pk>/download/", job_download, name="archive_job_download"),
]
