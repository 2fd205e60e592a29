"""Generated scans are deterministic and valid; the Celery task is a thin call of the pipeline."""

from __future__ import annotations

from pathlib import Path

from core.numbers import parse_certificate
from ocr import samples
from ocr.tasks import read_document


def test_generated_people_have_valid_numbers_and_are_deterministic():
    people = [samples.make_person(seed) for seed in range(20)]
    assert people == [samples.make_person(seed) for seed in range(20)]
    for person in people:
        cert = parse_certificate(person.certificate_number)
        assert (cert.category, cert.grade) == (person.category, person.grade)
        assert cert.id_number.sex == person.sex


def test_degraded_pages_are_identical_for_the_same_seed(person):
    how = samples.Degradation(
        noise=50, speckle=0.002, rotate=1.0, blur=0.5, jpeg_quality=60, seed=4
    )
    first = samples.degrade(samples.certificate_page(person), how)
    second = samples.degrade(samples.certificate_page(person), how)
    assert first.tobytes() == second.tobytes()
    other = samples.degrade(samples.certificate_page(person), samples.Degradation(noise=50, seed=5))
    assert other.tobytes() != first.tobytes()


def test_task_returns_the_cli_items_with_the_text(tmp_path: Path, person):
    path = tmp_path / "id.png"
    samples.id_card_page(person).save(path)
    [item] = read_document(str(path))
    assert item["doc_type"] == "id_card"
    assert item["fields"]["id_number"] == person.id_number
    assert "公民身份号码" in item["text"]


def test_task_reports_an_unreadable_file_instead_of_failing(tmp_path: Path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 broken")
    [item] = read_document(str(path))
    assert item["code"] == "UNREADABLE"
    assert "PDF" in item["error"]


def test_demo_scans_are_read_back_by_the_pipeline(person):
    from ocr import pipeline

    scans = samples.document_scans(person, seed=7)
    assert set(scans) == {"disability_certificate", "id_card", "application_form"}
    again = samples.document_scans(person, seed=7)
    assert all(scans[code].tobytes() == again[code].tobytes() for code in scans)
    result = pipeline.read_image(scans["disability_certificate"], file="demo.jpg", page=1)
    assert result.doc_type == "disability_certificate"
    assert result.fields["certificate_number"] == person.certificate_number
