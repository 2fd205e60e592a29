"""我的任务 (archive/job_views.py): a user sees their own jobs, an administrator every job of
their jurisdiction and no other; the progress page and its JSON speak Chinese; only the owner
cancels; a job's file is downloaded by those who may see the job, and the download is audited."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR, INSPECTOR
from archive.models import AuditLog
from jobs import services
from jobs.models import Job
from jobs.runner import execute, job_dir
from tests.archive.imports.test_import import COUNTY, OTHER_COUNTY
from tests.jobs import kinds

pytestmark = pytest.mark.django_db


def _submit(user, division: str, kind: str = kinds.COUNT) -> Job:
    return services.submit(kind, user=user, division_code=division, total=3)


def test_a_user_sees_only_their_own_jobs(client, make_user):
    mine, theirs = make_user("a", COUNTY), make_user("b", COUNTY)
    own, other = _submit(mine, COUNTY), _submit(theirs, COUNTY)
    client.force_login(mine)
    page = client.get(reverse("archive_job_list"))
    assert [job.pk for job in page.context["page"].object_list] == [own.pk]
    assert client.get(reverse("archive_job_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("archive_job_status", args=[other.pk])).status_code == 404
    assert AuditLog.objects.filter(action="denied", object_type="jobs.Job").count() == 2


def test_an_administrator_sees_the_jobs_of_their_jurisdiction_only(client, make_user):
    admin = make_user("county-admin", COUNTY, role=ADMINISTRATOR)
    inside = _submit(make_user("clerk", COUNTY, role=INSPECTOR), COUNTY)
    outside = _submit(make_user("far", OTHER_COUNTY, role=INSPECTOR), OTHER_COUNTY)
    client.force_login(admin)
    listed = client.get(reverse("archive_job_list")).context["page"].object_list
    assert [job.pk for job in listed] == [inside.pk]
    assert client.get(reverse("archive_job_detail", args=[outside.pk])).status_code == 404


def test_the_progress_page_and_its_status_speak_chinese(client, make_user):
    user = make_user("a", COUNTY)
    job = _submit(user, COUNTY)
    client.force_login(user)
    page = client.get(reverse("archive_job_detail", args=[job.pk]) + "?follow=1").content.decode()
    assert "测试：计数" in page and "排队中" in page and "取消任务" in page
    assert "data-job-follow" in page and "jobs/progress.js" in page
    execute(job.pk)
    status = json.loads(client.get(reverse("archive_job_status", args=[job.pk])).content)
    assert status["state_label"] == "已完成" and status["percent"] == 100
    assert status["finished"] and status["next"] == "/admin/"


def test_only_the_owner_cancels_and_the_cancel_is_audited(client, make_user):
    owner = make_user("owner", COUNTY)
    admin = make_user("admin", COUNTY, role=ADMINISTRATOR)
    job = _submit(owner, COUNTY)
    client.force_login(admin)
    assert client.post(reverse("archive_job_cancel", args=[job.pk])).status_code == 404
    client.force_login(owner)
    client.post(reverse("archive_job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == "cancelled"
    assert AuditLog.objects.filter(action="job_cancel", object_id=str(job.pk)).exists()


def test_a_jobs_file_is_downloaded_by_its_owner_and_the_download_is_audited(
    client, make_user, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    user = make_user("a", COUNTY)
    job = _submit(user, COUNTY)
    (job_dir(job) / "findings.xlsx").write_bytes(b"PK")
    Job.objects.filter(pk=job.pk).update(
        state="done", result={"file": "findings.xlsx", "filename": "比对结果.xlsx"}
    )
    client.force_login(make_user("b", OTHER_COUNTY))
    assert client.get(reverse("archive_job_download", args=[job.pk])).status_code == 404
    client.force_login(user)
    response = client.get(reverse("archive_job_download", args=[job.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"PK"
    assert AuditLog.objects.filter(action="download", object_type="jobs.Job").exists()
