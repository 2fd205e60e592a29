"""In Chromium: the page of a job that files a ZIP (扫描件归档) follows its progress without a
reload and, when the session's real worker has filed it, stays there to list each file's
outcome with its reason in Chinese instead of moving on. The case file's row is held locked
while the page loads, so the job is still on its way however fast the machine; the worker is
another process, so the scans go to the session's private media root."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from archive import casefiles
from archive.documents import ingest
from archive.jobs import submit_ingest
from tests.archive.conftest import COUNTY
from tests.archive.documents import samples
from tests.helpers import log_in, row_locked

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_page_of_a_zip_being_filed_shows_its_progress_then_each_files_outcome(
    celery_worker_process, live_server, page, make_user, person
):
    user = make_user("archivist", COUNTY, password="pw-Secret-123")
    case_file = casefiles.case_file_for(person)
    scans = samples.zip_of({"身份证正面.jpg": samples.jpeg(41), "说明.txt": b"not a scan"})

    log_in(page, live_server.url, "archivist")

    with row_locked(case_file):
        received = ingest.receive(io.BytesIO(scans), "扫描件.zip")
        job = submit_ingest(received, ingest.Target(case_file, "id_card"), user)
        url = f"{live_server.url}{reverse('archive_job_detail', args=[job.pk])}?follow=1"
        page.goto(url)
        page.locator("[data-job-message]", has_text="正在归档").wait_for()
        assert page.locator("[data-job-outcomes]").is_hidden()

    outcomes = page.locator("[data-job-outcomes]")
    outcomes.wait_for(state="visible", timeout=60_000)
    assert page.url == url  # stayed to list the files
    assert page.locator("[data-job-state]").inner_text() == "已完成"
    text = outcomes.inner_text()
    assert "扫描件.zip/身份证正面.jpg" in text and "已归档" in text
    assert "扫描件.zip/说明.txt" in text and "拒收" in text and "不支持的文件类型" in text
    assert "rejected" not in text and "filed" not in text
    page.get_by_role("link", name="查看结果").click()
    page.wait_for_url(f"**{reverse('archive_casefile_detail', args=[case_file.pk])}")
    assert "文件（1 份，1 页）" in page.locator("#casefile-documents").inner_text()
