"""Both engines behind ``ocr.engine``, run for real on generated scans of the wider world
(:mod:`ocr.world`, tuning seeds only): each field read, each validation failure null, and
the engine chosen by ``OCR_ENGINE``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image, ImageDraw, ImageFont

from core.numbers import id_check_char
from ocr import engine, pipeline, rapid, samples, world
from ocr.engine import EngineError
from ocr.fonts import cjk_font_path


def _read(drawn: world.Sample, name: str = "rapidocr") -> pipeline.PageResult:
    return pipeline.read_image(drawn.image, file="scan.jpg", page=1, engine=name)


def _fields(drawn: world.Sample) -> dict[str, object]:
    return {key: value for key, value in drawn.expected.items() if key != "doc_type"}


@pytest.fixture(scope="module")
def card() -> tuple[world.Sample, pipeline.PageResult]:
    drawn = world.sample(3, layout="card", level="clean")  # number large at the foot, 楷体
    return drawn, _read(drawn)


def test_card_number_printed_large_at_its_foot_without_a_label_is_read(card):
    drawn, result = card
    assert result.fields["certificate_number"] == drawn.expected["certificate_number"]
    assert result.fields["id_number"] == drawn.expected["id_number"]


def test_card_name_category_grade_and_expiry_are_read(card):
    drawn, result = card
    assert result.fields == _fields(drawn)
    assert result.doc_type == "disability_certificate"


def test_a_name_read_below_the_bar_is_kept_when_its_line_read_again_agrees(monkeypatch):
    drawn = world.sample(234)  # a clean booklet whose name line PP-OCR reads at 86 %
    assert drawn.layout == "booklet"
    assert _read(drawn).fields["name"] == drawn.expected["name"]
    monkeypatch.setattr(pipeline, "RAPID_NAME_AGREEING_MIN_CONFIDENCE", 101.0)
    doubted = _read(drawn)
    assert doubted.fields["name"] is None
    assert f"疑为「{drawn.expected['name']}」" in "".join(doubted.warnings)


def test_a_name_below_the_bar_that_its_second_reading_contradicts_is_left_to_a_clerk():
    drawn = world.sample(59)  # an ID card photographed: 邓 read as 那 at 86 %, then as 邓
    assert drawn.layout == "id_card"
    result = _read(drawn)
    assert result.fields["name"] is None
    assert any(w.startswith("姓名识别不可靠") for w in result.warnings)


def test_a_name_missed_on_a_grainy_card_is_read_from_the_page_softened():
    drawn = world.sample(2217)  # a grainy card: the first reading finds no name
    assert (drawn.layout, drawn.level) == ("card", "poor")
    first = pipeline._read(drawn.image, "rapidocr", True, None)
    assert first[4].fields["name"] is None
    result = _read(drawn)
    assert result.fields["name"] == drawn.expected["name"]
    assert not any("姓名" in warning for warning in result.warnings)
    assert "name" in result.boxes


def test_a_second_reading_gives_its_name_only_when_it_read_the_same_id():
    from ocr.extract import Extraction

    first = Extraction(warnings=["未能识别姓名", "有效期无法识别"])
    first.fields["id_number"] = "140425198001011235"
    other = Extraction()
    other.fields.update(name="张三", id_number="140425198001011243")
    assert not pipeline._take_name(first, other)
    assert first.fields["name"] is None
    same = Extraction()
    same.fields.update(name="张三", id_number=None)
    assert pipeline._take_name(first, same)
    assert first.fields["name"] == "张三" and first.warnings == ["有效期无法识别"]


def test_booklet_number_in_the_cell_below_its_label_is_read_under_a_red_seal():
    drawn = world.sample(3, layout="booklet", level="clean")
    assert drawn.sealed
    result = _read(drawn)
    assert result.fields == _fields(drawn)


def test_application_form_gives_number_name_category_and_grade():
    drawn = world.sample(1, layout="application_form", level="clean")
    result = _read(drawn)
    assert result.doc_type == "application_form"
    assert result.fields["certificate_number"] == drawn.expected["certificate_number"]
    assert result.fields["name"] == drawn.expected["name"]
    assert (result.fields["category"], result.fields["grade"]) == (
        drawn.expected["category"],
        drawn.expected["grade"],
    )


def test_bank_card_number_is_never_taken_for_an_id():
    result = _read(world.sample(2, layout="bank_card", level="clean"))
    assert result.fields["certificate_number"] is None
    assert result.fields["id_number"] is None


def _counted(calls: list[str], name: str):
    real = getattr(engine, name)

    def call(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    return call


def test_a_clean_bank_card_is_read_once_without_asking_its_orientation(monkeypatch):
    # Its four lines are few as lines but many as characters: no zoom, no Tesseract OSD,
    # and no "poor reading" warning (docs/benchmarks.md, bank cards).
    calls: list[str] = []
    for name in ("recognise", "detect_orientation"):
        monkeypatch.setattr(engine, name, _counted(calls, name))
    result = _read(world.sample(2, layout="bank_card", level="clean"))
    assert result.doc_type == "bank_card"
    assert calls == ["recognise"]
    assert not any("识别质量较差" in warning for warning in result.warnings)


def _with_id(person: samples.SamplePerson, first17: str, check: str | None = None):
    return replace(person, id_number=first17 + (check or id_check_char(first17)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: _with_id(p, p.id_number[:17], "0" if p.id_number[17] != "0" else "1"), "校验"),
        (lambda p: _with_id(p, p.id_number[:10] + "13" + p.id_number[12:17]), "出生日期"),
    ],
    ids=["check-character", "birth-date"],
)
def test_a_number_failing_its_check_is_null_with_the_reason(change, reason):
    person = change(samples.make_person(3))
    result = pipeline.read_image(
        samples.certificate_page(person), file="c.png", page=1, engine="rapidocr"
    )
    assert result.fields["certificate_number"] is None
    assert result.fields["id_number"] is None
    assert any("CERT_ID" in w and reason in w for w in result.warnings), result.warnings


def test_tesseract_stays_selectable_and_reads_our_certificate(settings):
    settings.OCR_ENGINE = "tesseract"
    assert engine.engine_name() == "tesseract"
    person = samples.make_person(3)
    result = pipeline.read_image(samples.certificate_page(person), file="c.png", page=1)
    assert result.fields["certificate_number"] == person.certificate_number


def test_the_default_engine_is_rapidocr(settings):
    del settings.OCR_ENGINE
    assert engine.engine_name() == engine.DEFAULT_ENGINE == "rapidocr"


def test_rapidocr_runs_the_models_of_its_wheel(fresh_rapid_session):
    session = fresh_rapid_session()
    steps = (session._load_det_model(), session._load_cls_model(), session._load_rec_model())
    for step, name in zip(steps, rapid.MODELS.values(), strict=True):
        assert step.session.session._model_path.endswith(f"/rapidocr/models/{name}")


def test_rapidocr_returns_simplified_characters_for_traditional_print():
    page = Image.new("RGB", (700, 120), "white")
    font = ImageFont.truetype(cjk_font_path(), 44)
    ImageDraw.Draw(page).text((30, 40), "中華人民共和國殘疾人證", font=font, fill="black")
    text = "".join(word.text for word in rapid.recognise(page))
    assert set("华国残证") <= set(text)
    assert not set("華國殘證") & set(text)


def test_an_unknown_engine_is_a_clear_error(settings):
    settings.OCR_ENGINE = "abbyy"
    with pytest.raises(EngineError, match="未知的文字识别引擎"):
        engine.engine_name()


@pytest.fixture
def fresh_rapid_session():
    """A RapidOCR session built for the test's settings, and a fresh one for the next test."""
    rapid._session.cache_clear()
    yield rapid._session
    rapid._session.cache_clear()


@pytest.mark.parametrize("threads", [1, 2])
def test_every_rapidocr_model_runs_on_the_threads_of_ocr_threads(
    settings, fresh_rapid_session, threads
):
    settings.OCR_THREADS = threads
    session = fresh_rapid_session()
    steps = (session._load_det_model(), session._load_cls_model(), session._load_rec_model())
    for step in steps:
        options = step.session.session.get_session_options()
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (threads, 1)


def test_rapidocr_marks_the_lines_its_direction_classifier_turned():
    drawn = world.sample(3, layout="card", level="clean")
    upright = rapid.recognise(drawn.image)
    upside_down = rapid.recognise(drawn.image.rotate(180))
    assert not any(word.turned for word in upright)
    assert sum(word.turned for word in upside_down) > len(upside_down) / 2


def test_a_page_read_after_a_single_line_is_still_detected_line_by_line():
    drawn = world.sample(3, layout="card", level="clean")
    before = rapid.recognise(drawn.image)
    rapid.recognise_line(drawn.image.crop((0, 0, drawn.image.width, drawn.image.height // 8)))
    after = rapid.recognise(drawn.image)
    assert len(after) == len(before) > 3
    assert [word.text for word in after] == [word.text for word in before]


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_page_on_its_side_or_upside_down_is_turned_and_read_whole(degrees):
    drawn = world.sample(600, layout="booklet", level="clean")
    page = drawn.image.rotate(degrees, expand=True, fillcolor="white")
    result = pipeline.read_image(page, file="scan.jpg", page=1, engine="rapidocr")
    # read turned, the values would sit left of their labels and the foot come first
    assert result.fields == _fields(drawn)
    assert result.text.index("姓名") < result.text.index(drawn.expected["name"])
