"""The generated world: deterministic per seed, a held-out set apart, ground truth that is
valid by construction, every layout and degradation level drawable."""

from __future__ import annotations

import pytest

from core.numbers import parse_certificate, parse_id
from ocr import world
from ocr.fonts import cjk_fonts


def test_a_seed_draws_the_same_pixels_every_time():
    first, again = world.sample(7), world.sample(7)
    assert (first.layout, first.level, first.font, first.dpi) == (
        again.layout,
        again.level,
        again.font,
        again.dpi,
    )
    assert first.image.tobytes() == again.image.tobytes()


def test_held_out_seeds_are_apart_from_the_tuning_seeds():
    tuning = world.generate(2)
    held = world.generate(2, held_out=True)
    assert not any(s.held_out for s in tuning)
    assert all(s.held_out and s.seed >= world.HELD_OUT_BASE for s in held)


@pytest.mark.parametrize("layout", world.LAYOUTS)
def test_every_layout_prints_valid_numbers_and_names_its_document_type(layout):
    drawn = world.sample(11, layout=layout, level="scan")
    assert drawn.expected["doc_type"]
    if drawn.expected.get("certificate_number"):
        parse_certificate(drawn.expected["certificate_number"])
    if drawn.expected.get("id_number"):
        parse_id(drawn.expected["id_number"])
    assert 100 <= drawn.dpi <= 300


@pytest.mark.parametrize("level", world.LEVELS)
def test_every_degradation_level_draws_a_page(level):
    drawn = world.sample(12, layout="card", level=level)
    assert drawn.image.width > 300


def test_the_world_is_drawn_in_several_debian_cjk_faces():
    assert {"sans", "serif", "kai", "ming"} <= set(cjk_fonts())
