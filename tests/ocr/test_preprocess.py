"""Preprocessing steps on generated pages: red ink suppressed, the print located on A4."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ocr import preprocess, world


def test_red_seal_ink_turns_paper_white_and_black_print_stays_black():
    page = Image.new("RGB", (200, 100), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((10, 10, 90, 90), fill=(210, 40, 40))  # seal red
    draw.rectangle((110, 10, 190, 90), fill=(20, 20, 25))  # black print
    gray = preprocess.grayscale(page)
    assert gray.getpixel((50, 50)) > 200
    assert gray.getpixel((150, 50)) < 40
    assert preprocess.grayscale(page, suppress_red=False).getpixel((50, 50)) < 150


def test_ink_box_finds_a_card_photocopied_anywhere_on_a4():
    drawn = world.sample(5, layout="a4_copy", level="clean")
    page = preprocess.grayscale(drawn.image)
    left, top, right, bottom = preprocess.ink_box(page)
    assert (right - left) * (bottom - top) < 0.4 * page.width * page.height
    assert right - left > 0.2 * page.width
