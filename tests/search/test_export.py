"""Exporting a search's hits to XLSX (检索结果导出), on both backends: a background job that
writes every hit of the jurisdiction, ID numbers masked, the export and the download audited."""

from __future__ import annotations

import io

from django.urls import resolve, reverse
from openpyxl import load_workbook

from archive.models import AuditLog
from core.numbers import mask_id
from jobs.models import Job
from jobs.runner import execute, job_dir
from tests.helpers import run_submitted_job
from tests.search.conftest import COUNTY

URL = "search_records"


def _workbook_rows(client, job) -> list[tuple]:
    response = client.get(reverse("archive_job_download", args=[job.pk]))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    return list(load_workbook(io.BytesIO(content), read_only=True).active.values)


def test_the_export_holds_every_hit_of_the_jurisdiction_with_ids_masked(
    people, client, make_user, private_media
):
    client.force_login(make_user("pingshun", COUNTY))
    job = run_submitted_job(client.get(reverse(URL), {"q": "张", "format": "xlsx"}))
    assert job.state == "done", job.error
    rows = _workbook_rows(client, job)
    names = {row[1] for row in rows[1:]}
    assert names == {"张三", "张三丰"}  # 张伟 lives in 黎城县
    ids = {row[2] for row in rows[1:]}
    assert mask_id(people.zhang_san.id_number) in ids
    assert people.zhang_san.id_number not in ids
    assert "导出 2 份档案" in job.result["summary"]
    assert AuditLog.objects.filter(action="export", object_type="search").exists()
    assert AuditLog.objects.filter(action="download", object_id=str(job.pk)).exists()
    assert (job_dir(job) / job.result["file"]).stat().st_mode & 0o077 == 0


def test_a_filter_applies_to_the_export_as_to_the_page(people, client, make_user, private_media):
    client.force_login(make_user("pingshun", COUNTY))
    job = run_submitted_job(
        client.get(reverse(URL), {"q": "", "subsidy": "nursing", "format": "xlsx"})
    )
    names = {row[1] for row in _workbook_rows(client, job)[1:]}
    assert "欧阳娜娜" in names and "李四" not in names


def test_a_bad_filter_is_explained_and_nothing_is_submitted(people, client, make_user):
    client.force_login(make_user("pingshun", COUNTY))
    response = client.get(reverse(URL), {"q": "张", "grade": "9", "format": "xlsx"})
    assert response.status_code == 200 and "error" in response.context
    assert response.context["error"]
    assert not AuditLog.objects.filter(action="export").exists()


def test_a_job_whose_user_is_gone_exports_nothing(people, client, make_user, private_media):
    user = make_user("leaver", COUNTY)
    client.force_login(user)
    response = client.get(reverse(URL), {"q": "张", "format": "xlsx"})
    pk = resolve(response["Location"].split("?")[0]).kwargs["pk"]
    Job.objects.filter(pk=pk).update(user=None)
    execute(pk)
    job = Job.objects.get(pk=pk)
    assert job.state == "failed" and "未导出任何数据" in job.error
    assert not (job_dir(job) / "search.xlsx").exists()
