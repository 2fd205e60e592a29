"""Upload and OCR read scans with the one reader (ocr.pages) and the one set of limits: a
file filed at upload is read by OCR, and one OCR would refuse is refused at upload."""

from __future__ import annotations

import pytest

from archive.documents.ingest import FILED, REJECTED, Target
from ocr import pages
from tests.ocr.helpers import build_pdf

pytestmark = pytest.mark.django_db


def blank_pdf(count: int, media_box: str = "[0 0 200 280]") -> bytes:
    kids = " ".join(f"{3 + n} 0 R" for n in range(count))
    return build_pdf(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
            *(f"<< /Type /Page /Parent 2 0 R /MediaBox {media_box} >>" for _ in range(count)),
        ]
    )


def ocr_accepts(data: bytes) -> bool:
    try:
        for _page in pages.iter_pages(data):
            pass
    except pages.PageError:
        return False
    return True


@pytest.mark.parametrize(
    ("data", "accepted"),
    [
        (blank_pdf(150), True),  # filed at upload and then refused by OCR, before
        (blank_pdf(1, "[0 0 3000 3000]"), True),  # a poster: OCR renders it below 250 dpi
        (blank_pdf(1, "[0 0 8000 8000]"), False),  # would be unreadable even at 100 dpi
        (blank_pdf(501), False),  # over SCAN_MAX_PAGES
    ],
    ids=["150-pages", "poster", "giant-page", "501-pages"],
)
def test_a_pdf_accepted_at_upload_is_accepted_by_ocr(upload, case_file, archivist, data, accepted):
    [outcome] = upload(data, "scan.pdf", Target(case_file, "id_card"), archivist)
    assert outcome.status == (FILED if accepted else REJECTED), outcome.message
    assert ocr_accepts(data) is accepted
