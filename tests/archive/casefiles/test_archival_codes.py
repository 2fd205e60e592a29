"""档号: its format (docs/archive.md), retention by type, and the 件号 sequence — no gaps, no reuse,
also under concurrent uploads on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.test import override_settings

from archive.casefiles import archival_codes
from archive.documents.ingest import FILED, Target
from archive.models import ArchivalCounter, Document
from tests.archive.documents import samples

pytestmark = pytest.mark.usefixtures("private_media")


def test_code_has_the_form_of_da_t_22():
    code = archival_codes.format_code("J014", "MZ", 2026, "D30", "LX", 42)
    assert code == "J014-MZ·2026-D30-LX-0042"


def test_retention_defaults_by_document_type():
    assert archival_codes.retention_for("application_form") == "D30"
    assert archival_codes.retention_for("change_approval") == "D30"
    assert archival_codes.retention_for("id_card") == "D10"
    assert archival_codes.retention_for("unknown") == "D10"


@pytest.mark.django_db
@override_settings(ARCHIVE_FONDS="J099", ARCHIVE_CATEGORY="MZ2", ARCHIVE_ORG="PS")
def test_sequence_runs_per_series_and_comes_from_settings(upload, case_file, archivist):
    codes = [
        upload(samples.jpeg(i), f"{i}.jpg", Target(case_file, doc_type), archivist)[0].archival_code
        for i, doc_type in enumerate(
            ["id_card", "application_form", "bank_card", "change_approval"]
        )
    ]
    year = codes[0].split("·")[1][:4]
    assert codes == [
        f"J099-MZ2·{year}-D10-PS-0001",
        f"J099-MZ2·{year}-D30-PS-0001",
        f"J099-MZ2·{year}-D10-PS-0002",
        f"J099-MZ2·{year}-D30-PS-0002",
    ]


@pytest.mark.django_db
def test_rolled_back_filing_gives_its_number_back(case_file):
    with transaction.atomic():
        first = archival_codes.next_number("J014", "MZ", 2026, "D10", "LX")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        archival_codes.next_number("J014", "MZ", 2026, "D10", "LX")
        1 / 0  # noqa: B018 — the upload fails after taking a number
    with transaction.atomic():
        again = archival_codes.next_number("J014", "MZ", 2026, "D10", "LX")
    assert (first, again) == (1, 2)


@pytest.mark.django_db
def test_code_is_kept_when_the_document_moves(upload, case_file, archivist):
    from archive.documents.operations import move

    [outcome] = upload(samples.jpeg(1), "a.jpg", Target(case_file, "id_card"), archivist)
    document = move(Document.objects.get(pk=outcome.document_id), archivist, doc_type="bank_card")
    assert document.archival_code == outcome.archival_code
    assert ArchivalCounter.objects.get().last == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_uploads_get_consecutive_numbers_without_gaps_or_reuse(
    upload, case_file, archivist
):
    assert connection.vendor == "postgresql", "run with DATABASE_URL on PostgreSQL (make test)"
    threads, per_thread = 8, 5
    barrier = threading.Barrier(threads)

    def work(worker: int) -> list[str]:
        barrier.wait()
        try:
            codes = []
            for i in range(per_thread):
                seed = 1000 * worker + i
                [outcome] = upload(
                    samples.jpeg(seed), f"{seed}.jpg", Target(case_file, "id_card"), archivist
                )
                assert outcome.status == FILED, outcome.message
                codes.append(outcome.archival_code)
            return codes
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        codes = [code for batch in pool.map(work, range(threads)) for code in batch]
    numbers = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert numbers == list(range(1, threads * per_thread + 1))
    assert Document.objects.filter(archival_code__isnull=False).count() == threads * per_thread
    case_file.refresh_from_db()
    assert case_file.document_count == threads * per_thread  # completeness saw every upload
