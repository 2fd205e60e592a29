"""Where each field was read: the cell holding its value (pure), mapped back onto the page as
given through scaling, zoom and deskew — checked by reading the crop again with the real
engine on generated pages."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageOps

from ocr import engine as ocr_engine
from ocr import pipeline, preprocess, world
from ocr.boxes import field_boxes
from ocr.words import Word


def word(text: str, left: int, top: int, width: int = 200, line: int = 0) -> Word:
    return Word(text, 95.0, left, top, width, 30, (0, 0, line))


def test_each_field_is_boxed_by_the_smallest_cell_holding_it():
    words = [
        word("姓名", 10, 10, 60, 1),
        word("张三", 300, 10, 60, 1),
        word("残疾类别 肢体", 10, 60, 200, 2),
        word("等级 贰级", 400, 60, 150, 2),
        word("有效期至 2031年05月01日", 10, 110, 400, 3),
        word("14042519800101001X42", 10, 160, 500, 4),
    ]
    fields = {
        "certificate_number": "14042519800101001X42",
        "id_number": "14042519800101001X",
        "name": "张三",
        "category": 4,
        "grade": 2,
        "valid_until": "2031-05-01",
    }
    boxes = field_boxes(fields, words)
    assert boxes["name"] == (300, 10, 360, 40)
    assert boxes["category"] == (10, 60, 210, 90)
    assert boxes["grade"] == (400, 60, 550, 90)
    assert boxes["valid_until"] == (10, 110, 410, 140)
    assert boxes["certificate_number"] == boxes["id_number"] == (10, 160, 510, 190)


def test_a_name_too_doubtful_to_keep_is_boxed_after_its_label():
    words = [word("姓名", 10, 10, 60, 1), word("张", 100, 10, 30, 1), word("三", 132, 10, 30, 1)]
    assert field_boxes({"name": None}, words) == {"name": (100, 10, 162, 40)}


def test_a_value_no_cell_holds_is_boxed_where_its_label_is_printed():
    words = [
        word("残疾人证号", 10, 10, 150, 1),
        word("14042519800101001742", 10, 60, 500, 2),
        word("残疾等级 BR", 10, 110, 200, 3),
    ]
    # the number failed its check, the grade came from it: their label and value
    boxes = field_boxes({"certificate_number": None, "grade": 4}, words)
    assert boxes == {"certificate_number": (10, 10, 510, 90), "grade": (10, 110, 210, 140)}


def test_a_grade_read_from_the_number_alone_is_boxed_by_the_number():
    words = [word("14042519800101001742", 10, 60, 500, 1), word("KG TRRARSE", 10, 110, 200, 2)]
    boxes = field_boxes({"certificate_number": "14042519800101001742", "grade": 2}, words)
    assert boxes["grade"] == boxes["certificate_number"] == (10, 60, 510, 90)


def test_a_field_neither_read_nor_labelled_has_no_box():
    assert field_boxes({"name": "李四", "grade": None}, [word("姓名 张三", 0, 0)]) == {}
    assert field_boxes({"name": "李四"}, []) == {}


def ink(image: Image.Image) -> tuple[int, int, int, int]:
    box = ImageOps.invert(image).point(lambda v: 255 if v > 128 else 0).getbbox()
    assert box is not None
    return box


def test_a_box_is_mapped_back_through_turn_deskew_rescale_and_zoom():
    page = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(page).rectangle((100, 80, 179, 119), fill=0)
    prepared = preprocess.Prepared(image=page, page_size=page.size)
    image = page
    for step in (
        preprocess.Turn(90, image.size),
        preprocess.Straighten(3.0, (300, 400), (0, 0)),
        preprocess.Resize(1.5),
        preprocess.Resize(2.0, 40, 60),
    ):
        if isinstance(step, preprocess.Turn):
            image = image.rotate(-step.degrees, expand=True, fillcolor=255)
        elif isinstance(step, preprocess.Straighten):
            before = image.size
            image = image.rotate(step.degrees, expand=True, fillcolor=255)
            step = preprocess.Straighten(step.degrees, before, image.size)
        elif step.left:
            area = (step.left, step.top, image.width - 20, image.height - 20)
            image = image.crop(area)
            image = image.resize((round(image.width * 2), round(image.height * 2)))
        else:
            image = image.resize((round(image.width * 1.5), round(image.height * 1.5)))
        prepared.steps.append(step)
    left, top, right, bottom = prepared.page_box(ink(image))
    # The ink of the turned rectangle, boxed and mapped back: the rectangle, a little wider
    # for the 3° it was turned by.
    assert 0.23 <= left <= 0.25 and 0.45 <= right <= 0.47
    assert 0.24 <= top <= 0.267 and 0.40 <= bottom <= 0.43
    assert preprocess.Prepared(image=page).page_box((0, 0, 10, 10)) is None


def test_preparing_a_skewed_page_records_what_maps_it_back():
    page = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(page)
    for row in range(12):
        draw.rectangle((100, 100 + row * 60, 1000, 112 + row * 60), fill=0)
    skewed = page.rotate(2.5, expand=True, fillcolor=255)
    prepared = preprocess.prepare(skewed)
    assert prepared.skew and prepared.steps
    left, top, right, bottom = prepared.page_box(ink(prepared.image))
    width, height = skewed.size
    mark = ink(skewed)
    assert abs(left * width - mark[0]) < 15 and abs(right * width - mark[2]) < 15
    assert abs(top * height - mark[1]) < 15 and abs(bottom * height - mark[3]) < 15


def shows(image: Image.Image, box, text: str) -> bool:
    """Whether the crop of ``box`` (fractions), read again by Tesseract as one line, holds
    ``text``."""
    width, height = image.size
    left, top, right, bottom = (
        box[0] * width,
        box[1] * height,
        box[2] * width,
        box[3] * height,
    )
    assert right - left < width * 0.9 and bottom - top < height * 0.3
    pad = 0.3 * (bottom - top)  # more would take in the next line of a small card
    crop = image.crop(
        (round(left - pad), round(top - pad), round(right + pad), round(bottom + pad))
    )
    scale = max(1.0, 40 / (bottom - top))  # text of about 40 px for Tesseract
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)))
    line = ImageOps.expand(crop.convert("L"), border=20, fill=255)
    read = "".join(w.text for w in ocr_engine.tesseract_recognise(line, psm=ocr_engine.LINE_PSM))
    return text in "".join(read.split())


@pytest.mark.parametrize(
    ("engine", "layout", "seed"),
    [("tesseract", "card", 11), ("tesseract", "a4_copy", 1), ("rapidocr", "card", 11)],
)
def test_the_crop_of_the_certificate_number_shows_that_number(engine, layout, seed):
    sample = world.sample(seed, layout=layout, level="clean")
    result = pipeline.read_image(sample.image, file="x.png", page=1, engine=engine)
    number = sample.expected["certificate_number"]
    assert result.fields["certificate_number"] == number
    assert result.size == sample.image.size
    assert shows(sample.image, result.boxes["certificate_number"], number[:20])


def test_a_card_small_on_a_large_page_is_boxed_through_the_zoom():
    card = world.sample(11, layout="card", level="clean")
    small = card.image.resize((card.image.width * 3 // 5, card.image.height * 3 // 5))
    page = Image.new("RGB", (2480, 3508), "white")  # A4 at 300 dpi
    page.paste(small, (900, 1400))
    # RapidOCR sees small text on a large page: it reads a crop enlarged three times
    result = pipeline.read_image(page, file="x.png", page=1, engine="rapidocr")
    number = card.expected["certificate_number"]
    assert result.fields["certificate_number"] == number
    assert shows(page, result.boxes["certificate_number"], number[:20])


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_a_page_read_upside_down_is_boxed_on_the_page_as_given(engine):
    sample = world.sample(11, layout="card", level="clean")
    turned = sample.image.rotate(180)
    result = pipeline.read_image(turned, file="x.png", page=1, engine=engine)
    number = sample.expected["certificate_number"]
    assert result.fields["certificate_number"] == number
    left, top, right, bottom = result.boxes["certificate_number"]
    assert shows(turned.rotate(180), (1 - right, 1 - bottom, 1 - left, 1 - top), number[:20])
