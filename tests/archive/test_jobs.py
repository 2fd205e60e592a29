"""The archive's background jobs run in this process with the real runner (what the worker does;
tests/jobs/test_worker.py runs them in a real worker): a ZIP or a long PDF uploaded to a case
file or the inbox is filed by a job (扫描件归档) with progress by file or page, its outcome per
file in Chinese, its uploaded file removed whatever the outcome; a small scan is filed at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from archive.jobs import SCAN_INGEST, SCAN_INPUT
from archive.models import Document
from jobs import services
from jobs.models import Job
from jobs.runner import execute, job_dir
from tests.archive.documents import samples
from tests.helpers import run_dying_past_commit_then_retry, run_submitted_job, submitted_job_id

pytestmark = pytest.mark.usefixtures("private_media")


def _zip_with_a_bad_member() -> bytes:
    return samples.zip_of(
        {
            "身份证正面.jpg": samples.jpeg(1),
            "身份证反面.pdf": samples.scanned_pdf(2, seed=2),
            "说明.txt": b"not a scan",
        }
    )


def _job_files(root: Path) -> list[Path]:
    jobs_root = root / "jobs"
    return sorted(p for p in jobs_root.rglob("*") if p.is_file()) if jobs_root.exists() else []


def test_a_zip_uploaded_to_a_case_file_is_filed_by_a_job_and_a_bad_member_is_rejected_with_a_reason(
    client, archivist, case_file, private_media
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {
            "doc_type": "id_card",
            "files": SimpleUploadedFile("扫描件.zip", _zip_with_a_bad_member()),
        },
    )
    assert not Document.objects.exists()  # the request only handed the ZIP to the job
    job = run_submitted_job(response)
    assert (job.kind, job.queue, job.state, job.percent) == (SCAN_INGEST, "bulk", "done", 100)
    assert job.total == 3 and job.user == archivist
    assert job.result["summary"] == "已归档 2 个文件，拒收 1 个（原因见下表）"
    by_name = {outcome["name"]: outcome for outcome in job.result["outcomes"]}
    assert by_name["扫描件.zip/说明.txt"]["label"] == "拒收"
    assert "不支持的文件类型" in by_name["扫描件.zip/说明.txt"]["message"]
    assert by_name["扫描件.zip/身份证反面.pdf"]["label"] == "已归档"
    assert Document.objects.filter(case_file=case_file).count() == 2
    assert _job_files(private_media) == []  # the uploaded ZIP is gone
    page = client.get(reverse("archive_job_detail", args=[job.pk])).content.decode()
    assert "扫描件.zip/说明.txt" in page and "不支持的文件类型" in page and "rejected" not in page


def test_the_uploader_gets_the_job_to_follow_and_its_status_lists_each_file(
    client, archivist, case_file
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {
            "doc_type": "id_card",
            "files": SimpleUploadedFile("扫描件.zip", _zip_with_a_bad_member()),
        },
        headers={"Accept": "application/json"},
    )
    payload = response.json()
    assert response.status_code == 200 and payload["results"] == []
    [job] = payload["jobs"]
    assert job["name"] == "扫描件.zip"
    assert client.get(job["status_url"]).json()["state"] == "queued"
    execute(job["id"])
    status = client.get(job["status_url"]).json()
    assert status["state"] == "done" and status["percent"] == 100
    assert [o["label"] for o in status["outcomes"]] == ["已归档", "已归档", "拒收"]


def test_a_long_pdf_is_filed_by_a_job_with_progress_by_page(client, archivist, case_file, settings):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"doc_type": "id_card", "files": SimpleUploadedFile("长文件.pdf", samples.scanned_pdf(4))},
    )
    job_id = response["Location"].split("/jobs/")[1].split("/")[0]
    reports: list[tuple[int, int, str]] = []
    assert execute(int(job_id), lambda *report: reports.append(report)) == "done"
    assert [done for done, total, _ in reports if total == 4] == [1, 2, 3, 4, 4]
    assert "正在检查第 2/4 页" in [message for _, _, message in reports]
    job = Job.objects.get(pk=job_id)
    assert job.percent == 100 and job.result["summary"] == "已归档 1 个文件"
    assert Document.objects.get().current.blob.page_count == 4


def test_a_short_pdf_and_a_single_scan_are_still_filed_in_the_request(
    client, archivist, case_file, settings
):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {
            "doc_type": "id_card",
            "files": [
                SimpleUploadedFile("短.pdf", samples.scanned_pdf(2)),
                SimpleUploadedFile("a.jpg", samples.jpeg(5)),
            ],
        },
        headers={"Accept": "application/json"},
    )
    payload = response.json()
    assert payload["jobs"] == [] and [r["label"] for r in payload["results"]] == ["已归档"] * 2
    assert not Job.objects.exists() and Document.objects.count() == 2


def test_a_zip_uploaded_to_the_inbox_is_filed_there_by_a_job(client, archivist):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_inbox_upload"),
        {"files": SimpleUploadedFile("收件.zip", samples.zip_of({"a.jpg": samples.jpeg(7)}))},
    )
    job = run_submitted_job(response)
    assert job.state == "done" and job.result["url"] == reverse("archive_inbox")
    assert Document.objects.get().case_file is None


def test_a_zip_refused_whole_fails_its_job_with_the_reason(client, archivist, case_file):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"files": SimpleUploadedFile("坏.zip", samples.zip_of({"../逃逸.jpg": samples.jpeg(8)}))},
    )
    job = run_submitted_job(response)
    assert job.state == "failed" and job.error.startswith("「坏.zip」未归档：")
    assert not Document.objects.exists()


def test_a_queued_ingestion_cancelled_files_nothing_and_its_file_is_removed(
    client, archivist, case_file, private_media
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"files": SimpleUploadedFile("扫描件.zip", _zip_with_a_bad_member())},
    )
    job = Job.objects.get(pk=response["Location"].split("/jobs/")[1].split("/")[0])
    assert (job_dir(job) / SCAN_INPUT).exists()
    assert services.cancel(job)
    assert execute(job.pk) == "cancelled"
    assert not Document.objects.exists() and _job_files(private_media) == []


def test_an_ingestion_whose_worker_died_twice_is_failed_with_the_reason_and_its_file_removed(
    client, archivist, case_file, private_media
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"files": SimpleUploadedFile("扫描件.zip", _zip_with_a_bad_member())},
    )
    job = Job.objects.get(pk=response["Location"].split("/jobs/")[1].split("/")[0])
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(state="running", attempts=2, heartbeat_at=long_ago)
    assert services.reap()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.state == "failed" and job.error == services.WORKER_DIED_AGAIN
    assert not Document.objects.exists() and _job_files(private_media) == []


def test_a_retry_after_a_death_past_the_filing_commit_says_where_each_scan_went(
    client, archivist, case_file, private_media
):
    """The worker filed the ZIP (committed) and died before the job was marked done: the
    reaper's retry reads the kept upload again, files nothing twice, and its outcomes say where
    each scan already is, instead of "cannot tell"."""
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {
            "doc_type": "id_card",
            "files": SimpleUploadedFile("扫描件.zip", _zip_with_a_bad_member()),
        },
    )
    job = run_dying_past_commit_then_retry(submitted_job_id(response))
    assert job.state == "done", job.error
    assert Document.objects.filter(case_file=case_file).count() == 2  # nothing filed twice
    by_name = {outcome["name"]: outcome for outcome in job.result["outcomes"]}
    assert by_name["扫描件.zip/身份证反面.pdf"]["label"] == "重复文件"
    assert "已归档于" in by_name["扫描件.zip/身份证反面.pdf"]["message"]
    assert job.result["summary"] == "已归档 0 个文件，重复 2 个，拒收 1 个（原因见下表）"
    assert _job_files(private_media) == []  # the upload goes when the job ends


def test_a_plain_form_with_a_scan_and_a_zip_shows_the_scan_filed_and_the_zip_handed_to_its_job(
    client, archivist, case_file
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {
            "doc_type": "id_card",
            "files": [
                SimpleUploadedFile("a.jpg", samples.jpeg(9)),
                SimpleUploadedFile("扫描件.zip", _zip_with_a_bad_member()),
            ],
        },
    )
    body = response.content.decode()
    job = Job.objects.get()
    assert response.status_code == 200 and "已归档" in body and "后台归档中" in body
    assert reverse("archive_job_detail", args=[job.pk]) in body
    assert Document.objects.count() == 1  # the scan; the ZIP waits for its job
