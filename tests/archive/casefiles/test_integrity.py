"""The integrity check catches missing and altered originals; beat runs it, a command too."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR
from archive.casefiles import integrity
from archive.documents import storage
from archive.documents.ingest import Target
from archive.models import Document, StoredFile
from tests.archive.conftest import COUNTY
from tests.archive.documents import samples

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


@pytest.fixture
def three(upload, case_file, archivist) -> list[Document]:
    for seed in range(3):
        upload(samples.jpeg(seed), f"{seed}.jpg", Target(case_file, "id_card"), archivist)
    return list(Document.objects.select_related("current__blob").order_by("pk"))


def test_intact_archive_passes(three):
    run = integrity.run_check("test")
    assert (run.checked, run.ok, run.missing, run.altered) == (3, 3, 0, 0)
    assert set(StoredFile.objects.values_list("check_status", flat=True)) == {"ok"}


def test_altered_and_missing_originals_are_reported(three):
    altered, missing = three[0].current.blob, three[1].current.blob
    path = storage.original_path(altered.sha256)
    path.chmod(0o640)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")  # one byte changed
    storage.original_path(missing.sha256).unlink()
    run = integrity.run_check("test")
    assert (run.ok, run.missing, run.altered) == (1, 1, 1)
    problems = {p["sha256"]: p for p in run.problems}
    assert problems[altered.sha256]["status"] == "altered"
    assert problems[missing.sha256]["documents"][0]["code"] == three[1].archival_code
    assert StoredFile.objects.get(pk=altered.pk).check_status == "altered"


def test_orphan_files_are_counted(three):
    sha = "0" * 64
    path = storage.original_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left by an interrupted upload")
    assert integrity.run_check().orphans == 1


def test_command_fails_on_problems_and_passes_otherwise(three, capsys):
    call_command("check_integrity")
    assert "完好 3" in capsys.readouterr().out
    storage.original_path(three[2].current.blob.sha256).unlink()
    with pytest.raises(CommandError):
        call_command("check_integrity")
    assert "缺失" in capsys.readouterr().out


def test_admin_page_lists_the_problems(client, make_user, three):
    storage.original_path(three[0].current.blob.sha256).unlink()
    integrity.run_check("test")
    client.force_login(make_user("admin", COUNTY, role=ADMINISTRATOR))
    body = client.get(reverse("archive_integrity")).content.decode()
    assert "缺失 1" in body and three[0].archival_code in body


def test_admin_page_needs_the_permission(client, archivist):
    client.force_login(archivist)
    response = client.get(reverse("archive_integrity"))
    assert response.status_code in (302, 403)


def test_check_is_scheduled_by_beat():
    from archive.tasks import integrity_check

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["archive-integrity-check"]["task"] == integrity_check.name
    assert integrity_check(triggered_by="test")["checked"] == 0
