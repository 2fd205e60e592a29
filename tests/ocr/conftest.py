"""Fixtures for the OCR tests: generated scans (deterministic) read by the real Tesseract.

OCR is the slow part (about a second per page), so the pages that several tests look at are
read once per session.
"""

from __future__ import annotations

import pytest

from ocr import pipeline, samples


@pytest.fixture(scope="session")
def person() -> samples.SamplePerson:
    # Seed 1 has a 长期 certificate; seed 3 a dated one — both forms are covered.
    return samples.make_person(3)


@pytest.fixture(scope="session")
def certificate_result(person: samples.SamplePerson) -> pipeline.PageResult:
    return pipeline.read_image(samples.certificate_page(person), file="cert.png", page=1)
