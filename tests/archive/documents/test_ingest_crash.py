"""Upload → stored → queued for OCR is one transaction: a process killed (SIGKILL) at any point
leaves either nothing or a complete, consistent document."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from archive.documents import storage
from archive.documents.ingest import FILED, Target
from archive.models import ArchivalCounter, CaseFile, Document, DocumentVersion, StoredFile
from tests.archive.documents import samples
from tests.helpers import ROOT

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def kill_at(point: str, case_file: CaseFile, user, scan: Path, tmp_path: Path) -> None:
    assert connection.vendor == "postgresql", "run with DATABASE_URL on PostgreSQL (make test)"
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["PRIVATE_MEDIA_ROOT"] = str(settings.PRIVATE_MEDIA_ROOT)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["PGAPPNAME"] = "crash_child"  # to tell its database session from others
    marker = tmp_path / f"{point}.reached"
    args = [str(marker), str(case_file.pk), str(user.pk), str(scan)]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.archive.documents.crash_child", point, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"child ended before {point}: {child.stdout.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, f"child never reached {point}"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=20)
    # PostgreSQL rolls back the dead connection's transaction and frees its locks.
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'crash_child'"
            )
            if cursor.fetchone()[0] == 0:
                break
            assert time.monotonic() < deadline, "the killed session never ended"
            time.sleep(0.05)


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "身份证.jpg"
    path.write_bytes(samples.jpeg(77))
    return path


@pytest.mark.parametrize("point", ["checking", "stored", "in_transaction"])
def test_killed_before_commit_leaves_nothing(point, case_file, archivist, scan, tmp_path, upload):
    kill_at(point, case_file, archivist, scan, tmp_path)
    assert not Document.objects.exists()
    assert not DocumentVersion.objects.exists()
    assert not StoredFile.objects.exists()
    assert ArchivalCounter.objects.filter(last__gt=0).count() == 0
    case_file.refresh_from_db()
    assert case_file.document_count == 0
    # the same scan uploaded again is filed normally, and gets the first number: no gap
    [outcome] = upload(scan.read_bytes(), scan.name, Target(case_file, "id_card"), archivist)
    assert outcome.status == FILED
    assert outcome.archival_code.endswith("-0001")
    assert storage.hash_file(storage.original_path(StoredFile.objects.get().sha256)) == (
        StoredFile.objects.get().sha256
    )


def test_killed_after_commit_leaves_a_complete_document_whose_ocr_is_requeued(
    case_file, archivist, scan, tmp_path, monkeypatch
):
    kill_at("committed", case_file, archivist, scan, tmp_path)
    document = Document.objects.select_related("current__blob").get()
    blob = document.current.blob
    assert document.archival_code.endswith("-0001") and document.case_file == case_file
    assert storage.original_path(blob.sha256).read_bytes() == scan.read_bytes()
    assert storage.thumbnail_path(blob.sha256).exists()
    assert storage.page_path(blob.sha256, 1).exists()
    case_file.refresh_from_db()
    assert case_file.document_count == 1 and ",id_card," not in case_file.missing
    assert document.current.ocr_status == DocumentVersion.Ocr.QUEUED
    # the OCR message never left: the beat task sends it again once it is stale
    from archive import tasks

    sent = []
    monkeypatch.setattr("archive.documents.ingest.queue_ocr", sent.append)
    assert tasks.requeue_stale() == 0  # not stale yet
    DocumentVersion.objects.update(ocr_queued_at=timezone.now() - timedelta(hours=1))
    assert tasks.requeue_stale() == 1
    assert sent == [document.current_id]
