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


def _grainy(gray: Image.Image, amount: int, seed: int = 3) -> Image.Image:
    import random

    rng = random.Random(seed)
    noisy = gray.copy()
    pixels = noisy.load()
    for y in range(noisy.height):
        for x in range(noisy.width):
            pixels[x, y] = max(0, min(255, pixels[x, y] + rng.randint(-amount, amount)))
    return noisy


def test_a_grainy_page_is_softened_only_when_asked_and_a_clean_one_is_not_grainy():
    clean = preprocess.grayscale(world.sample(7, layout="card", level="clean").image)
    clean = clean.resize((clean.width // 2, clean.height // 2))
    assert not preprocess.grainy(clean)
    grainy = _grainy(clean, 60)
    assert preprocess.grainy(grainy)
    assert preprocess.noise_level(preprocess.soften(grainy)) < preprocess.noise_level(grainy) / 2
    first = preprocess.prepare(grainy, rescale=False)
    assert not first.denoised
    assert first.image.tobytes() == preprocess.grayscale(grainy).tobytes()
    softened = preprocess.prepare(grainy, rescale=False, filters=preprocess.Filters(soften=True))
    assert softened.denoised and softened.image.size == grainy.size
