"""Oversized uploads are refused while they arrive: the file is skipped once it passes
UPLOAD_MAX_BYTES, so no more than the limit is ever held in memory or a temporary file, nothing
reaches the archive, and the archivist still gets a clear reason next to the other files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import (
    MemoryFileUploadHandler,
    SkipFile,
    TemporaryFileUploadHandler,
)
from django.test import Client
from django.urls import reverse

from archive.documents import ingest, storage
from archive.documents.ingest import FILED, REJECTED, Target
from archive.documents.upload_limits import SizeLimitHandler
from archive.models import Document, DocumentVersion, StoredFile
from tests.archive.conftest import stored_files
from tests.archive.documents import samples

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

LIMIT = 200 * 1024  # several 64 KB chunks, so the default handlers do receive some
MESSAGE = "文件超过大小上限 204800 字节"


def oversized() -> bytes:
    """A "scan" eight times the limit (content is irrelevant: it is refused by size)."""
    return b"\xff\xd8\xff\xe0" + bytes(8 * LIMIT)


@pytest.fixture
def upload_tmp(settings, tmp_path: Path) -> Path:
    """Django's own temporary upload directory, watched for leftovers."""
    path = tmp_path / "django-uploads"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    settings.UPLOAD_MAX_BYTES = LIMIT
    return path


@pytest.fixture(params=["memory", "temporary-file"])
def handler_mode(request, settings, upload_tmp) -> str:
    """Both of Django's default handlers: in memory (small requests) and spooled to disk."""
    if request.param == "temporary-file":
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return request.param


@pytest.fixture
def spooled(monkeypatch) -> dict[str, list[int]]:
    """How far into each file Django's default handlers got, chunk by chunk: what they held
    in memory or wrote to their temporary file."""
    seen: dict[str, list[int]] = {"memory": [], "temporary-file": []}
    for mode, cls in (
        ("memory", MemoryFileUploadHandler),
        ("temporary-file", TemporaryFileUploadHandler),
    ):

        def spy(self, raw_data, start, original=cls.receive_data_chunk, mode=mode):
            seen[mode].append(start + len(raw_data))
            return original(self, raw_data, start)

        monkeypatch.setattr(cls, "receive_data_chunk", spy)
    return seen


def _nothing_left(private_media: Path, upload_tmp: Path) -> None:
    assert not StoredFile.objects.exists()
    assert not Document.objects.exists()
    assert stored_files(private_media) == []
    assert list(upload_tmp.iterdir()) == []


def test_handler_passes_data_until_the_limit_then_skips_the_file():
    handler = SizeLimitHandler(limit=100)
    handler.new_file("files", "big.jpg", "image/jpeg", None)
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    assert handler.receive_data_chunk(b"x" * 40, 60) == b"x" * 40  # exactly the limit: fine
    with pytest.raises(SkipFile):
        handler.receive_data_chunk(b"x", 100)
    assert handler.rejected == [("files", "big.jpg")]
    [outcome] = handler.outcomes("files")
    assert (outcome.name, outcome.status) == ("big.jpg", REJECTED)
    assert outcome.message == "文件超过大小上限 100 字节"


def test_handler_skips_at_once_when_a_part_declares_a_larger_size():
    handler = SizeLimitHandler(limit=100)
    handler.new_file("files", "big.jpg", "image/jpeg", 10_000)
    with pytest.raises(SkipFile):
        handler.receive_data_chunk(b"x", 0)


def test_oversized_upload_is_rejected_with_the_reason_and_nothing_is_kept(
    client, archivist, case_file, private_media, upload_tmp, handler_mode, spooled, monkeypatch
):
    spools = []
    monkeypatch.setattr(ingest.storage, "spool", lambda *a: spools.append(a))
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"doc_type": "id_card", "files": SimpleUploadedFile("big.jpg", oversized())},
    )
    assert response.status_code == 200
    [outcome] = response.context["outcomes"]
    assert (outcome.name, outcome.status, outcome.message) == ("big.jpg", REJECTED, MESSAGE)
    assert MESSAGE in response.content.decode()
    assert spools == []  # the view never got the file to copy
    # Django itself held no more than the limit, in the handler in use (then dropped it).
    assert spooled[handler_mode] and max(spooled[handler_mode]) <= LIMIT
    _nothing_left(private_media, upload_tmp)


def test_other_files_of_the_same_upload_are_still_filed(
    client, archivist, case_file, private_media, upload_tmp, handler_mode
):
    client.force_login(archivist)
    files = [
        SimpleUploadedFile("a.jpg", samples.jpeg(1)),
        SimpleUploadedFile("big.jpg", oversized()),
        SimpleUploadedFile("b.jpg", samples.jpeg(2)),
    ]
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"doc_type": "id_card", "files": files},
    )
    outcomes = {o.name: o for o in response.context["outcomes"]}
    assert outcomes["big.jpg"].status == REJECTED and outcomes["big.jpg"].message == MESSAGE
    assert outcomes["a.jpg"].status == outcomes["b.jpg"].status == FILED
    assert Document.objects.count() == 2
    assert list(upload_tmp.iterdir()) == []


def test_the_uploader_script_gets_the_reason_as_json(
    client, archivist, private_media, upload_tmp, handler_mode
):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_inbox_upload"),
        {"files": SimpleUploadedFile("big.pdf", oversized())},
        headers={"accept": "application/json"},
    )
    [result] = json.loads(response.content)["results"]
    assert result["status"] == REJECTED and result["message"] == MESSAGE
    assert result["label"] == "拒收"
    _nothing_left(private_media, upload_tmp)


def test_an_oversized_replacement_is_refused_and_the_document_keeps_its_version(
    client, archivist, case_file, upload, private_media, upload_tmp, handler_mode
):
    [filed] = upload(samples.jpeg(1), "id.jpg", Target(case_file, "id_card"), archivist)
    before = stored_files(private_media)
    client.force_login(archivist)
    response = client.post(
        reverse("archive_document_replace", args=[filed.document_id]),
        {"file": SimpleUploadedFile("big.jpg", oversized()), "note": "补扫"},
        follow=True,
    )
    assert MESSAGE in response.content.decode()
    assert DocumentVersion.objects.count() == 1 and StoredFile.objects.count() == 1
    assert stored_files(private_media) == before
    assert list(upload_tmp.iterdir()) == []


def test_csrf_is_still_checked_by_the_upload_views(archivist, case_file, upload_tmp):
    """The views are csrf_exempt only so that the limit can be installed before the body is
    read; csrf_protect then checks the token. (With the middleware reading the body first,
    installing the handler would fail: this test also proves that order.)"""
    client = Client(enforce_csrf_checks=True)
    client.force_login(archivist)
    url = reverse("archive_casefile_upload", args=[case_file.pk])
    data = {"doc_type": "id_card", "files": SimpleUploadedFile("a.jpg", samples.jpeg(1))}
    refused = client.post(url, data)
    assert refused.status_code == 403
    assert not Document.objects.exists()

    page = client.get(reverse("archive_casefile_detail", args=[case_file.pk]))
    token = str(page.context["csrf_token"])
    data["files"] = SimpleUploadedFile("a.jpg", samples.jpeg(1))
    accepted = client.post(url, data, headers={"x-csrftoken": token})
    assert accepted.status_code == 200
    assert [o.status for o in accepted.context["outcomes"]] == [FILED]

    data["files"] = SimpleUploadedFile("big.jpg", oversized())
    rejected = client.post(url, data, headers={"x-csrftoken": token})
    assert [o.message for o in rejected.context["outcomes"]] == [MESSAGE]


def test_files_within_the_limit_are_unaffected(client, archivist, case_file, upload_tmp):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_casefile_upload", args=[case_file.pk]),
        {"doc_type": "id_card", "files": SimpleUploadedFile("a.jpg", samples.jpeg(1))},
    )
    [outcome] = response.context["outcomes"]
    assert outcome.status == FILED
    assert storage.original_path(StoredFile.objects.get().sha256).read_bytes() == samples.jpeg(1)
