"""按筛选结果重新识别 (archive/documents/ocr_rerun.py, rerun_views.py, the ``ocr_rerun`` job): the
confirmation page counts what the filter selects in the user's jurisdiction, the request only
submits a bulk job, and the job (run here with the real runner; tests/jobs/test_worker.py runs
it in a real worker) queues each selected document once, audited, with progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from archive.access.roles import INSPECTOR
from archive.documents import ocr_rerun
from archive.jobs import OCR_RERUN
from archive.models import AuditLog, DocumentVersion
from jobs.models import Job
from jobs.runner import execute
from tests.archive.conftest import COUNTY, OTHER_COUNTY
from tests.archive.documents.ocr_queue import document_row
from tests.helpers import run_submitted_job

pytestmark = pytest.mark.django_db
URL = "archive_ocr_rerun"


def _queued(*documents) -> list[bool]:
    versions = DocumentVersion.objects.in_bulk([d.current_id for d in documents])
    return [versions[d.current_id].ocr_status == "queued" for d in documents]


def _rerun_audits() -> set[int]:
    return {
        int(pk)
        for pk in AuditLog.objects.filter(action="rerun_ocr").values_list("object_id", flat=True)
    }


def test_the_filter_selects_only_documents_of_the_users_jurisdiction(archivist, case_file):
    failed = document_row(COUNTY, "failed")
    filed = document_row(COUNTY, "failed", case_file=case_file, doc_type="id_card")
    done = document_row(COUNTY, "done")
    document_row(OTHER_COUNTY, "failed")
    selected = ocr_rerun.select(archivist, {"ocr": "failed"})
    assert list(selected) == [failed, filed]
    assert list(ocr_rerun.select(archivist, {"ocr": "failed", "place": "inbox"})) == [failed]
    assert list(ocr_rerun.select(archivist, {"doc_type": "id_card"})) == [filed]
    assert not ocr_rerun.select(archivist, {"county": OTHER_COUNTY}).exists()
    assert list(ocr_rerun.select(archivist, {"county": COUNTY, "ocr": "done"})) == [done]


def test_the_filter_reads_in_words_on_the_page_and_in_the_audit_log():
    filters = {"ocr": "failed", "doc_type": "id_card", "county": COUNTY, "place": "inbox"}
    assert ocr_rerun.describe(filters) == "识别失败、居民身份证（复印件）、平顺县、收件箱"
    assert ocr_rerun.describe({}) == "辖区内全部文件"


def test_unreliable_and_unchecked_readings_are_chosen_by_their_queue_reason(archivist):
    unreliable = document_row(COUNTY, "done", reasons="low_confidence")
    document_row(COUNTY, "done", reasons="mismatch")
    document_row(COUNTY, "failed", reasons="low_confidence")
    filters = {"ocr": "unchecked", "reason": "low_confidence"}
    assert list(ocr_rerun.select(archivist, filters)) == [unreliable]
    assert not ocr_rerun.select(archivist, {"ocr": "broken"}).exists()


def test_the_page_says_how_many_and_confirming_only_submits_a_bulk_job(client, archivist):
    failed = [document_row(COUNTY, "failed") for _ in range(2)]
    waiting = document_row(COUNTY, "queued")
    stranger = document_row(OTHER_COUNTY, "failed")
    client.force_login(archivist)
    page = client.get(reverse(URL)).content.decode()
    assert "共 3 份文件，将重新识别 2 份（另有 1 份已在排队识别，不会重复排队）" in page
    assert "确认重新识别 2 份文件" in page and "黎城县" not in page

    response = client.post(reverse(URL), {"ocr": ""})
    assert _queued(*failed, stranger) == [False, False, False]  # the request queued nothing
    job = Job.objects.get()
    assert (job.kind, job.queue, job.state, job.user) == (OCR_RERUN, "bulk", "queued", archivist)
    assert AuditLog.objects.filter(action="rerun_ocr_filter", detail__contains="3 份文件").exists()

    job = run_submitted_job(response)
    assert (job.state, job.percent, job.done, job.total) == ("done", 100, 3, 3)
    assert _queued(*failed, waiting, stranger) == [True, True, True, False]
    assert _rerun_audits() == {d.pk for d in failed}  # each document audited by itself
    assert job.result["summary"] == (
        "辖区内全部文件：已排队重新识别 2 份文件，1 份已在排队识别，未重复排队"
    )
    shown = client.get(reverse("archive_job_detail", args=[job.pk])).content.decode()
    assert "按筛选结果重新识别" in shown and "ocr_rerun" not in shown


def test_running_it_again_queues_nothing_twice(archivist):
    documents = [document_row(COUNTY, "failed") for _ in range(3)]
    first = Job.objects.create(kind=OCR_RERUN, user=archivist, params={"filters": {}}, queue="bulk")
    assert execute(first.pk) == "done"
    DocumentVersion.objects.filter(pk=documents[0].current_id).update(ocr_status="done")
    again = Job.objects.create(kind=OCR_RERUN, user=archivist, params={"filters": {}}, queue="bulk")
    Job.objects.filter(pk=again.pk).update(created_at=first.created_at)  # a retry of the same job
    assert execute(again.pk) == "done"
    again.refresh_from_db()
    assert again.result["queued"] == 0 and again.result["waiting"] == 3
    assert AuditLog.objects.filter(action="rerun_ocr").count() == 3
    assert DocumentVersion.objects.get(pk=documents[0].current_id).ocr_status == "done"


def test_a_document_read_before_the_job_was_submitted_is_read_again(archivist):
    document = document_row(COUNTY, "done")
    job = Job.objects.create(kind=OCR_RERUN, user=archivist, params={"filters": {}}, queue="bulk")
    DocumentVersion.objects.filter(pk=document.current_id).update(
        ocr_queued_at=job.created_at - timedelta(minutes=5)
    )
    assert execute(job.pk) == "done"
    assert _queued(document) == [True]


def test_a_county_outside_the_jurisdiction_is_an_invalid_filter_that_submits_nothing(
    client, archivist
):
    document_row(OTHER_COUNTY, "failed")
    client.force_login(archivist)
    assert "筛选条件无效" in client.get(reverse(URL), {"county": OTHER_COUNTY}).content.decode()
    response = client.post(reverse(URL), {"county": OTHER_COUNTY}, follow=True)
    assert "没有符合条件的文件，未提交重新识别" in response.content.decode()
    assert not Job.objects.exists()


def test_a_role_that_may_not_rerun_one_document_may_not_rerun_a_filter(client, make_user):
    client.force_login(make_user("inspector", COUNTY, INSPECTOR))
    assert client.get(reverse(URL)).status_code == 302  # refused (and audited)
    assert client.post(reverse(URL)).status_code == 302
    assert not Job.objects.exists()
    assert AuditLog.objects.filter(action="permission_denied").count() == 2


def test_the_ocr_queue_and_the_inbox_link_to_it_with_their_filters(client, archivist):
    client.force_login(archivist)
    queue = client.get(reverse("archive_ocr_queue"), {"reason": "low_confidence"}).content
    assert f'{reverse(URL)}?ocr=unchecked&amp;reason=low_confidence"'.encode() in queue
    inbox = client.get(reverse("archive_inbox")).content
    assert f"{reverse(URL)}?place=inbox".encode() in inbox
