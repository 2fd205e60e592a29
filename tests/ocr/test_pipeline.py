"""The whole pipeline on generated scans, with the real Tesseract: fields read right, or null —
never a wrong number — on clean, noisy, skewed and upside-down pages, PDFs and TIFFs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ocr import pipeline, samples
from ocr.extract import FIELD_NAMES
from ocr.words import Word


def test_clean_certificate_reads_number_name_category_grade_and_expiry(certificate_result, person):
    assert certificate_result.fields == person.expected_fields
    assert certificate_result.warnings == []
    assert "中华人民共和国残疾人证" in certificate_result.text


def test_long_term_certificate_reads_as_long_term():
    person = samples.make_person(1)
    assert person.valid_until is None
    result = pipeline.read_image(samples.certificate_page(person), file="c.png", page=1)
    assert result.fields["valid_until"] == "长期"
    assert result.fields["certificate_number"] == person.certificate_number


def test_reissued_certificate_keeps_its_suffix(person):
    page = samples.certificate_page(person, reissue_suffix="B1")
    result = pipeline.read_image(page, file="c.png", page=1)
    assert result.fields["certificate_number"] == person.certificate_number + "B1"


QUALITIES = {
    "scanner-quality": samples.Degradation(noise=40, rotate=1.5, blur=0.6, jpeg_quality=50, seed=5),
    "very-poor-copy": samples.Degradation(
        noise=90, speckle=0.004, rotate=-3, blur=1.4, jpeg_quality=25, seed=6
    ),
}


@pytest.fixture(scope="session")
def degraded(person) -> dict[str, pipeline.PageResult]:
    return {
        quality: pipeline.read_image(
            samples.degrade(samples.certificate_page(person), how), file="c.jpg", page=1
        )
        for quality, how in QUALITIES.items()
    }


@pytest.mark.parametrize("quality", QUALITIES)
def test_degraded_certificate_gives_the_right_values_or_none_never_wrong(quality, degraded, person):
    result = degraded[quality]
    for key in FIELD_NAMES:
        assert result.fields[key] in (person.expected_fields[key], None), key


def test_scanner_quality_certificate_still_reads_the_number(degraded, person):
    assert degraded["scanner-quality"].fields["certificate_number"] == person.certificate_number


def test_a_number_whose_category_digit_disagrees_with_the_words_is_not_taken(person):
    other = person.category % 7 + 1
    page = samples.certificate_page(person, category_in_words=other)
    result = pipeline.read_image(page, file="c.png", page=1)
    assert result.fields["certificate_number"] is None
    assert result.fields["category"] is None
    assert result.fields["id_number"] == person.id_number
    assert result.fields["grade"] == person.grade
    assert any("证号未采用" in w for w in result.warnings)


def test_upside_down_page_is_turned_and_read(person):
    page = samples.certificate_page(person).rotate(180)
    result = pipeline.read_image(page, file="c.png", page=1)
    assert result.fields["certificate_number"] == person.certificate_number
    assert result.doc_type == "disability_certificate"


def _line(text: str, *, turned: bool = False, tall: bool = False, conf: float = 95.0) -> Word:
    width, height = (40, 200) if tall else (200, 40)
    return Word(text, conf, 0, 0, width, height, turned=turned)


@pytest.mark.parametrize(
    ("tall", "turned", "degrees"), [(False, True, 180), (True, False, 270), (True, True, 90)]
)
def test_a_page_is_turned_as_most_of_its_lines_were(tall, turned, degrees):
    lines = [_line("姓名林静", tall=tall, turned=turned) for _ in range(3)] + [_line("性别")]
    assert pipeline.page_turn(lines) == degrees


def test_a_page_with_upright_lines_is_not_turned():
    assert pipeline.page_turn([_line("姓名林静") for _ in range(4)]) == 0


def test_a_page_is_not_turned_when_its_lines_are_split():
    lines = [
        _line("姓名林静", turned=True),
        _line("住址"),
        _line("性别", turned=True),
        _line("民族"),
    ]
    assert pipeline.page_turn(lines) == 0


def test_single_characters_and_doubtful_lines_do_not_vote():
    # a seal's ring letters and noise are turned any way; two lines are too few to say
    lines = [_line("治", turned=True)] * 5 + [_line("残疾", turned=True, conf=40)] * 5
    assert pipeline.page_turn(lines + [_line("姓名", turned=True)] * 2) == 0


def test_pdf_with_two_pages_gives_one_result_per_page(tmp_path: Path, person):
    path = samples.save_pdf(
        [samples.certificate_page(person), samples.id_card_page(person)],
        tmp_path / "scan.pdf",
        dpi=300,
    )
    results = pipeline.read_file(path, name="scan.pdf")
    assert [(r.file, r.page, r.doc_type) for r in results] == [
        ("scan.pdf", 1, "disability_certificate"),
        ("scan.pdf", 2, "id_card"),
    ]
    assert results[0].fields["certificate_number"] == person.certificate_number
    assert results[1].fields["id_number"] == person.id_number


def test_to_json_has_exactly_the_cli_shape(certificate_result):
    item = certificate_result.to_json()
    assert list(item) == ["file", "page", "doc_type", "confidence", "fields", "warnings"]
    assert list(item["fields"]) == list(FIELD_NAMES)
    assert isinstance(item["confidence"], float)
    assert "text" in certificate_result.to_json(text=True)


def test_blank_page_is_unknown_with_nothing_read():
    from PIL import Image

    result = pipeline.read_image(Image.new("L", (800, 600), 255), file="blank.png", page=1)
    assert result.doc_type == "unknown"
    assert set(result.fields.values()) == {None}
    assert any("类型" in w for w in result.warnings)


class TestCompareWithRecord:
    def fields(self, person: samples.SamplePerson, **changes):
        return {**person.expected_fields, **changes}

    def test_agreeing_record_gives_no_flags(self, person):
        flags = pipeline.compare_with_record(
            self.fields(person), person.id_number, person.category, person.grade, person.valid_until
        )
        assert flags == []

    def test_certificate_of_another_person_is_flagged(self, person):
        other = samples.make_person(99)
        flags = pipeline.compare_with_record(
            self.fields(person), other.id_number, person.category, person.grade, None
        )
        assert "证号中的身份号码与档案不一致" in flags

    def test_category_grade_and_expiry_disagreements_are_each_flagged(self, person):
        flags = pipeline.compare_with_record(
            self.fields(person),
            person.id_number,
            person.category % 7 + 1,
            person.grade % 4 + 1,
            date(2001, 1, 1),
        )
        assert len(flags) == 3
        assert any(flag.startswith("残疾类别与档案不一致") for flag in flags)
        assert any(flag.startswith("残疾等级与档案不一致") for flag in flags)
        assert any(flag.startswith("有效期与档案不一致") for flag in flags)

    def test_fields_not_read_are_not_disagreements(self, person):
        unread = dict.fromkeys(FIELD_NAMES)
        assert pipeline.compare_with_record(unread, person.id_number, 4, 3, "长期") == []

    def test_long_term_record_matches_long_term_certificate(self, person):
        flags = pipeline.compare_with_record({"valid_until": "长期"}, None, None, None, "长期")
        assert flags == []
