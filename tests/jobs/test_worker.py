"""Jobs through a real worker and broker (Redis): progress reaches 100 %, a worker killed by its
PID in the middle of an import or of filing a ZIP of scans leaves nothing half-written and the
job is retried to the end by another worker, a running import or ZIP ingestion cancelled by
its owner writes nothing, a re-run of OCR on a filter queues only its documents and stops
when cancelled, and a spot check's long evidence scan is filed and its result recorded there.

Each test sends its job to a queue of its own ("kill-test"), so that the session's worker
(tests/conftest.py) cannot take it from the worker the test is about to kill.
"""

from __future__ import annotations

import hashlib
import io
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection, transaction

from archive import casefiles
from archive.access.roles import ARCHIVIST, INSPECTOR
from archive.documents import ingest
from archive.imports import uploads
from archive.imports.write import IMPORT_LOCK
from archive.jobs import (
    CASE_FILE_EXPORT,
    OCR_RERUN,
    ROSTER_IMPORT,
    ROSTER_PREVIEW,
    SCAN_INPUT,
    submit_ingest,
)
from archive.models import (
    AuditLog,
    CaseFile,
    Division,
    Document,
    DocumentVersion,
    Enrolment,
    ImportRecord,
    Person,
    UserProfile,
)
from inspection import spot_checks
from inspection.jobs import record_with_evidence
from inspection.models import SpotCheckItem
from inspection.sampling import FIXED, SamplePlan
from jobs import services
from jobs.models import Job
from jobs.runner import OUT_OF_MEMORY, job_dir
from tests.archive.conftest import COUNTY, OTHER_COUNTY, make_person
from tests.archive.documents import samples
from tests.archive.documents.ocr_queue import document_row
from tests.archive.imports.test_import import csv_bytes, many_rows
from tests.conftest import start_celery_worker, stop_celery_worker
from tests.helpers import row_locked, wait_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ORIGINAL_PRIVATE_ROOT = Path(django_settings.PRIVATE_MEDIA_ROOT)
BEATS = {"WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_DEAD_AFTER_SECONDS": "3"}
QUEUE = "kill-test"
AS_OF = date(2026, 11, 30)


def _roster(rows: int) -> tuple[str, str]:
    """A valid roster of ``rows`` people, stored as an upload; returns (sha, filename)."""
    content = csv_bytes(many_rows(rows))
    sha = hashlib.sha256(content).hexdigest()
    uploads.upload_path(sha).write_bytes(content)
    return sha, "花名册.csv"


def _submit(kind: str, user, **params) -> Job:
    with transaction.atomic():  # the job is sent on commit, to this test's queue
        job = services.submit(kind, user=user, **params)
        job.queue = QUEUE
        job.save(update_fields=["queue"])
    return job


def _state(job: Job) -> Job:
    job.refresh_from_db()
    return job


@pytest.fixture
def worker_settings(settings):
    settings.PRIVATE_MEDIA_ROOT = ORIGINAL_PRIVATE_ROOT  # where worker processes look
    settings.WORKER_DEAD_AFTER_SECONDS = float(BEATS["WORKER_DEAD_AFTER_SECONDS"])
    return settings


def test_a_parse_past_its_time_limit_is_stopped_by_the_worker_and_fails_with_the_reason(
    worker_settings, admin_user, tmp_path
):
    """A workbook crafted to parse for ever must not hold a worker (issue 10): the kind's time
    limit (``JOB_PARSE_TIME_LIMIT_SECONDS``) goes with the task, the worker stops the attempt
    and the job fails in Chinese; the same worker then takes the next job."""
    worker_settings.JOB_PARSE_TIME_LIMIT_SECONDS = 1
    sha, filename = _roster(30000)  # far more than a second of checking on any machine
    worker = start_celery_worker(tmp_path / "worker.log", "limited", queues=QUEUE)
    try:
        job = _submit(ROSTER_PREVIEW, admin_user, sha=sha, filename=filename)
        assert wait_until(lambda: _state(job).is_finished, 120)
        worker_settings.JOB_PARSE_TIME_LIMIT_SECONDS = 900
        small, small_name = _roster(10)
        after = _submit(ROSTER_PREVIEW, admin_user, sha=small, filename=small_name)
        assert wait_until(lambda: _state(after).is_finished, 120)
    finally:
        stop_celery_worker(worker)
    assert job.state == "failed" and "处理超过时限已停止，未写入任何数据" in job.error
    assert after.state == "done"


def test_a_parse_past_its_memory_limit_fails_with_the_reason_and_the_worker_goes_on(
    worker_settings, admin_user, tmp_path
):
    """A workbook that leads the parser to allocate without end must fail its job, not bring
    the out-of-memory killer to the worker or the machine (issue 10): the worker's
    ``JOB_PARSE_MEMORY_LIMIT_MB`` (here 1 MB, so any parse passes it) bounds the attempt, the
    job fails in Chinese and the same worker then runs a job of a kind without that limit."""
    sha, filename = _roster(3000)
    worker = start_celery_worker(
        tmp_path / "worker.log", "memory", queues=QUEUE, JOB_PARSE_MEMORY_LIMIT_MB="1"
    )
    try:
        job = _submit(ROSTER_PREVIEW, admin_user, sha=sha, filename=filename)
        assert wait_until(lambda: _state(job).is_finished, 120)
        after = _submit(CASE_FILE_EXPORT, admin_user, filters={})
        assert wait_until(lambda: _state(after).is_finished, 120)
    finally:
        stop_celery_worker(worker)
    assert job.state == "failed" and job.error == OUT_OF_MEMORY, job.error
    assert after.state == "done", after.error


def test_a_roster_preview_runs_in_the_worker_and_its_progress_reaches_100(
    worker_settings, admin_user, tmp_path
):
    sha, filename = _roster(1500)
    worker = start_celery_worker(tmp_path / "worker.log", "preview", queues=QUEUE)
    try:
        job = _submit(ROSTER_PREVIEW, admin_user, sha=sha, filename=filename)
        seen: set[int] = set()

        def finished() -> bool:
            seen.add(_state(job).percent)
            return job.is_finished

        assert wait_until(finished, 120), (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop_celery_worker(worker)
    assert (job.state, job.percent, job.total) == ("done", 100, 1500)
    assert "共 1500 行" in job.result["summary"]
    assert uploads.load_preview(sha, admin_user)["created"] == 1500
    assert Person.objects.count() == 0  # a preview writes nothing
    assert len(seen) >= 2  # the bar moved on the way


def _waiting_for(table: str) -> bool:
    """Some other session waits for a lock on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [table]
        )
        return cursor.fetchone()[0] > 0


def test_an_import_killed_mid_way_writes_nothing_and_is_finished_by_another_worker(
    worker_settings, admin_user, tmp_path
):
    """The test locks the enrolments' table, so the worker is killed inside its transaction,
    its people already written and the enrolments next, however fast the machine (3 000 rows
    are imported in a fraction of a second: killed on its first progress report, the worker
    had sometimes sent its COMMIT already)."""
    sha, filename = _roster(3000)
    log = tmp_path / "workers.log"
    table = Enrolment._meta.db_table
    first = start_celery_worker(log, "doomed", queues=QUEUE, **BEATS)
    locker = connection.get_new_connection(connection.get_connection_params())
    try:
        locker.execute(f"LOCK TABLE {table} IN SHARE MODE")  # psycopg: in a transaction
        job = _submit(ROSTER_IMPORT, admin_user, sha=sha, filename=filename, mode="atomic")
        assert wait_until(lambda: _waiting_for(table), 120), log.read_text()[-3000:]
        assert _state(job).done > 0
    finally:
        stop_celery_worker(first, kill=True)
        locker.rollback()
        locker.close()
    assert _state(job).state == "running"  # the dead worker could not say otherwise
    assert Person.objects.count() == 0 and not ImportRecord.objects.exists()

    time.sleep(float(BEATS["WORKER_DEAD_AFTER_SECONDS"]) + 1)
    second = start_celery_worker(log, "survivor", queues=QUEUE, **BEATS)
    try:
        assert services.reap()["retried"] == [job.pk]
        assert wait_until(lambda: _state(job).is_finished, 240), log.read_text()[-3000:]
    finally:
        stop_celery_worker(second)
    assert (job.state, job.attempts, job.percent) == ("done", 2, 100)
    assert Person.objects.count() == 3000 and ImportRecord.objects.count() == 1


def test_an_import_cancelled_while_running_writes_nothing(worker_settings, admin_user, tmp_path):
    """The test holds the importers' advisory lock, so the job is still running (validated,
    waiting to write) when the cancel arrives, however fast the machine; it must then roll
    back at its next progress report instead of committing."""
    sha, filename = _roster(3000)
    worker = start_celery_worker(tmp_path / "worker.log", "cancel", queues=QUEUE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
        try:
            job = _submit(ROSTER_IMPORT, admin_user, sha=sha, filename=filename, mode="atomic")
            assert wait_until(lambda: _state(job).done > 0, 120)
            assert services.cancel(job)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK])
        assert wait_until(lambda: _state(job).is_finished, 120)
    finally:
        stop_celery_worker(worker)
    assert job.state == "cancelled" and "未写入任何数据" in job.message
    assert Person.objects.count() == 0 and not ImportRecord.objects.exists()
    assert uploads.upload_path(sha).exists()  # the clerk may still confirm it later


def _case_file(members: int) -> tuple[CaseFile, ingest.Received]:
    """A new person's case file, and a ZIP of ``members`` good scans and one that is not a scan
    received for it."""
    case_file = casefiles.case_file_for(make_person())
    scans = {f"第{i:03d}页.jpg": samples.jpeg(1000 + i) for i in range(members)}
    scans["说明.txt"] = b"not a scan"
    return case_file, ingest.receive(io.BytesIO(samples.zip_of(scans)), "扫描件.zip")


def _submit_zip(user, case_file: CaseFile, received: ingest.Received) -> Job:
    with transaction.atomic():  # sent on commit, to this test's queue
        job = submit_ingest(received, ingest.Target(case_file, "id_card"), user)
        job.queue = QUEUE
        job.save(update_fields=["queue"])
    return job


def test_a_zip_is_filed_in_the_worker_with_each_file_reported_and_its_upload_removed(
    worker_settings, admin_user, tmp_path
):
    worker = start_celery_worker(tmp_path / "worker.log", "ingest", queues=QUEUE)
    try:
        case_file, received = _case_file(20)
        job = _submit_zip(admin_user, case_file, received)
        log = tmp_path / "worker.log"
        assert wait_until(lambda: _state(job).is_finished, 120), log.read_text()[-3000:]
    finally:
        stop_celery_worker(worker)
    assert (job.state, job.percent, job.total) == ("done", 100, 21)
    assert job.result["summary"] == "已归档 20 个文件，拒收 1 个（原因见下表）"
    [rejected] = [o for o in job.result["outcomes"] if not o["ok"]]
    assert rejected["name"] == "扫描件.zip/说明.txt" and "不支持的文件类型" in rejected["message"]
    assert Document.objects.filter(case_file=case_file).count() == 20
    assert not job_dir(job).exists() or not any(job_dir(job).iterdir())


def test_a_zip_ingestion_killed_mid_way_files_nothing_and_is_finished_by_another_worker(
    worker_settings, admin_user, tmp_path
):
    log = tmp_path / "workers.log"
    case_file, received = _case_file(5)
    first = start_celery_worker(log, "doomed", queues=QUEUE, **BEATS)
    try:
        with row_locked(case_file):
            job = _submit_zip(admin_user, case_file, received)
            checked = wait_until(lambda: _state(job).done == 6, 120)
            stop_celery_worker(first, kill=True)  # while it waits to file
    finally:
        if first.poll() is None:
            stop_celery_worker(first, kill=True)
    assert checked, log.read_text()[-3000:]
    assert _state(job).state == "running"  # the dead worker could not say otherwise
    assert not Document.objects.exists()
    assert (job_dir(job) / SCAN_INPUT).exists()  # kept for the next attempt

    time.sleep(float(BEATS["WORKER_DEAD_AFTER_SECONDS"]) + 1)
    second = start_celery_worker(log, "survivor", queues=QUEUE, **BEATS)
    try:
        assert services.reap()["retried"] == [job.pk]
        assert wait_until(lambda: _state(job).is_finished, 120), log.read_text()[-3000:]
    finally:
        stop_celery_worker(second)
    assert (job.state, job.attempts, job.percent) == ("done", 2, 100)
    assert Document.objects.filter(case_file=case_file).count() == 5
    assert not (job_dir(job) / SCAN_INPUT).exists()


def test_a_comparison_killed_mid_way_stores_nothing_and_is_finished_by_another_worker(
    worker_settings, admin_user, tmp_path
):
    """The worker is killed by its PID while the comparison waits to start its run (the run's
    row is held locked by the test, however fast the machine); the reaper gives the job to a
    second worker, which runs the comparison to the end once."""
    from review import services as review
    from review.jobs import COMPARISON
    from review.models import ComparisonRun

    for serial in range(1, 4):
        make_person(serial)
    run = review.create_run(division=Division.objects.get(code=COUNTY), as_of=AS_OF, uploads=[])
    log = tmp_path / "workers.log"
    job = _submit(COMPARISON, admin_user, run=run.pk)  # waits in the queue: no worker yet
    ComparisonRun.objects.filter(pk=run.pk).update(job=job)
    first = None
    try:
        with row_locked(run):
            first = start_celery_worker(log, "doomed-run", queues=QUEUE, **BEATS)
            claimed = wait_until(lambda: _state(job).state == "running", 120)
            stop_celery_worker(first, kill=True)  # while it waits to start the run
    finally:
        if first is not None and first.poll() is None:
            stop_celery_worker(first, kill=True)
    assert claimed, log.read_text()[-3000:]
    run.refresh_from_db()
    # The dead worker's blocked UPDATE may still mark the run running once the lock goes; the
    # next attempt takes a running run back to pending (review/jobs.py compare).
    assert run.status != ComparisonRun.Status.FINISHED and not run.findings.exists()

    time.sleep(float(BEATS["WORKER_DEAD_AFTER_SECONDS"]) + 1)
    second = start_celery_worker(log, "survivor-run", queues=QUEUE, **BEATS)
    try:
        assert services.reap()["retried"] == [job.pk]
        assert wait_until(lambda: _state(job).is_finished, 120), log.read_text()[-3000:]
    finally:
        stop_celery_worker(second)
    run.refresh_from_db()
    assert (job.state, job.attempts, job.percent) == ("done", 2, 100), job.error
    assert run.status == ComparisonRun.Status.FINISHED and run.checked == 3


def test_a_zip_ingestion_cancelled_while_running_files_nothing(
    worker_settings, admin_user, tmp_path
):
    case_file, received = _case_file(5)
    worker = start_celery_worker(tmp_path / "worker.log", "cancel-ingest", queues=QUEUE)
    try:
        with row_locked(case_file):
            job = _submit_zip(admin_user, case_file, received)
            assert wait_until(lambda: _state(job).done == 6, 120)
            assert services.cancel(job)
        assert wait_until(lambda: _state(job).is_finished, 120)
    finally:
        stop_celery_worker(worker)
    assert job.state == "cancelled" and "未写入任何数据" in job.message
    assert not Document.objects.exists()
    assert not (job_dir(job) / SCAN_INPUT).exists()


def _user(user_model, username: str, role: str):
    user = user_model.objects.create_user(username, password="pw-Secret-123")
    user.groups.add(Group.objects.get(name=role))
    UserProfile.objects.create(user=user, division_id=COUNTY)
    return user


def _rerun_audited() -> set[int]:
    audits = AuditLog.objects.filter(action="rerun_ocr").values_list("object_id", flat=True)
    return {int(pk) for pk in audits}


def test_an_ocr_rerun_of_a_filter_queues_in_the_worker_only_the_users_county_with_progress(
    worker_settings, django_user_model, tmp_path
):
    """按筛选结果重新识别: the documents whose OCR failed in the archivist's county are queued
    once each (the neighbour county's and the ones read fine are not), progress by document."""
    archivist = _user(django_user_model, "archivist", ARCHIVIST)
    failed = [document_row(COUNTY, "failed") for _ in range(12)]
    document_row(COUNTY, "done")
    document_row(OTHER_COUNTY, "failed")
    worker = start_celery_worker(tmp_path / "worker.log", "rerun", queues=QUEUE)
    try:
        job = _submit(OCR_RERUN, archivist, division_code=COUNTY, filters={"ocr": "failed"})
        assert wait_until(lambda: _state(job).is_finished, 120), (
            tmp_path / "worker.log"
        ).read_text()[-3000:]
    finally:
        stop_celery_worker(worker)
    assert (job.state, job.percent, job.done, job.total) == ("done", 100, 12, 12)
    assert job.result["queued"] == 12 and "识别失败：已排队重新识别 12 份文件" in job.message
    assert _rerun_audited() == {d.pk for d in failed}
    queued = DocumentVersion.objects.filter(ocr_queued_at__gte=job.created_at)
    assert set(queued.values_list("document_id", flat=True)) == {d.pk for d in failed}


def test_an_ocr_rerun_cancelled_while_running_stops_before_the_next_document(
    worker_settings, django_user_model, tmp_path
):
    """The test holds the third document's version locked, so the job is running (the first
    two queued) when the cancel arrives; it stops before the fourth, and what it queued stays
    queued, each re-run whole and audited."""
    archivist = _user(django_user_model, "archivist", ARCHIVIST)
    documents = [document_row(COUNTY, "failed") for _ in range(6)]
    worker = start_celery_worker(tmp_path / "worker.log", "cancel-rerun", queues=QUEUE)
    try:
        with row_locked(documents[2].current):
            job = _submit(OCR_RERUN, archivist, division_code=COUNTY, filters={"ocr": "failed"})
            assert wait_until(lambda: {documents[0].pk, documents[1].pk} <= _rerun_audited(), 120)
            assert services.cancel(job)
        assert wait_until(lambda: _state(job).is_finished, 120)
    finally:
        stop_celery_worker(worker)
    assert job.state == "cancelled"
    audited = _rerun_audited()
    assert {documents[0].pk, documents[1].pk} <= audited <= {d.pk for d in documents[:3]}
    assert not DocumentVersion.objects.filter(
        document__in=documents[3:], ocr_status="queued"
    ).exists()


def test_a_spot_check_result_with_a_long_pdf_of_evidence_is_recorded_by_the_worker(
    worker_settings, django_user_model, tmp_path
):
    """抽查佐证材料 as any upload of its size: the job checks the PDF page by page in the
    worker, files it into the person's case file and records the result with it."""
    worker_settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    inspector = _user(django_user_model, "inspector", INSPECTOR)
    casefiles.case_file_for(make_person())
    check = spot_checks.create(
        division=Division.objects.get(code=COUNTY), plan=SamplePlan(FIXED, size=1), seed="w"
    )
    item = check.items.get()
    received = ingest.receive(io.BytesIO(samples.scanned_pdf(4)), "佐证.pdf")
    answers = {field: True for field, _ in SpotCheckItem.CHECKLIST}
    worker = start_celery_worker(tmp_path / "worker.log", "evidence", queues=QUEUE)
    try:
        with transaction.atomic():  # sent on commit, to this test's queue
            job = record_with_evidence(
                item, answers=answers, result="pass", notes="", user=inspector, evidence=received
            )
            job.queue = QUEUE
            job.save(update_fields=["queue"])
        log = tmp_path / "worker.log"
        assert wait_until(lambda: _state(job).is_finished, 120), log.read_text()[-3000:]
    finally:
        stop_celery_worker(worker)
    assert (job.state, job.percent, job.total) == ("done", 100, 4)
    item.refresh_from_db()
    assert item.result == "pass" and item.evidence.case_file_id == item.case_file_id
    assert item.evidence.current.blob.page_count == 4
    assert not (job_dir(job) / SCAN_INPUT).exists()
