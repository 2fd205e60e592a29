"""Where on the page each field was read: the box of the smallest cell whose text holds the
value; else where the field is printed — for the name the box after 姓名, for the others
their label's cell and the value beside or below it — so a value too doubtful to keep, or
implied by another (a grade from the number), is still shown where a person reads it (pure:
words in, boxes out, in the coordinates of the words).

The OCR 核对 page shows this crop beside each value, so a person compares the two without
searching the page. A box is only a pointer for the eye, never evidence: a field whose
value and label are nowhere on the page has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from core.numbers import CATEGORIES, to_halfwidth
from ocr.extract import correct_digits, name_boxes
from ocr.words import Cell, Word, layout_cells

__all__ = ["field_boxes"]

Box = tuple[int, int, int, int]

_GRADE_FORMS: dict[int, tuple[str, ...]] = {
    1: ("一级", "1级", "壹级", "Ⅰ级", "I级"),
    2: ("二级", "2级", "贰级", "Ⅱ级", "II级"),
    3: ("三级", "3级", "叁级", "Ⅲ级", "III级"),
    4: ("四级", "4级", "肆级", "Ⅳ级", "IV级"),
}


#: A field's labels on the page: where it is printed, the box of a field whose value no cell
#: holds (a grade read from the number, a number that failed its check, a misread date).
_LABELS: dict[str, tuple[str, ...]] = {
    "certificate_number": ("残疾人证号", "证号"),
    "id_number": ("公民身份号码", "身份证号", "身份号码"),
    "category": ("类别",),
    "grade": ("等级",),
    "valid_until": ("有效期",),
}


def _normal(text: str) -> str:
    return "".join(to_halfwidth(text).split())


def _date_pattern(iso: str) -> re.Pattern[str] | None:
    try:
        year, month, day = (int(part) for part in iso.split("-"))
    except ValueError:
        return None
    return re.compile(rf"{year}(?:\D{{1,2}}0?{month}\D{{1,2}}0?{day}(?!\d)|{month:02d}{day:02d})")


def _smallest(cells: Iterable[Cell]) -> Box | None:
    found = min(cells, key=lambda c: (c.right - c.left) * (c.bottom - c.top), default=None)
    return None if found is None else (found.left, found.top, found.right, found.bottom)


def _extent(words: Sequence[Word]) -> Box | None:
    if not words:
        return None
    return (
        min(w.left for w in words),
        min(w.top for w in words),
        max(w.right for w in words),
        max(w.bottom for w in words),
    )


def _box(*cells: Cell) -> Box:
    return (
        min(c.left for c in cells),
        min(c.top for c in cells),
        max(c.right for c in cells),
        max(c.bottom for c in cells),
    )


def _printed(rows: list[list[Cell]], labels: tuple[str, ...]) -> Box | None:
    """Where a field is printed, by its label: the label's cell, with the cell beside it (or
    the one below, a table's header row) when the label's cell holds nothing else."""
    for index, row in enumerate(rows):
        for column, cell in enumerate(row):
            text = _normal(cell.text)
            label = next((label for label in labels if label in text), None)
            if label is None:
                continue
            if text.replace(label, "", 1).strip(":："):
                return _box(cell)
            if column + 1 < len(row):
                return _box(cell, row[column + 1])
            if index + 1 < len(rows):
                below = max(
                    rows[index + 1],
                    key=lambda c: min(c.right, cell.right) - max(c.left, cell.left),
                )
                return _box(cell, below)
            return _box(cell)
    return None


def field_boxes(fields: dict[str, Any], words: Sequence[Word]) -> dict[str, Box]:
    """The box (left, top, right, bottom) of each field: the cell holding the value read,
    else where the field is printed (its label's cell and value)."""
    rows = layout_cells(words) if words else []
    texts = [(_normal(cell.text), cell) for row in rows for cell in row]
    digits = [(correct_digits(text, length=len(text)), cell) for text, cell in texts]

    def holding(*needles: str, among=texts) -> Box | None:
        return _smallest(c for t, c in among if any(n and n in t for n in needles))

    boxes: dict[str, Box | None] = {}
    number = fields.get("certificate_number")
    if number:
        boxes["certificate_number"] = holding(number[:20], among=digits)
    id_number = fields.get("id_number")
    if id_number:
        boxes["id_number"] = holding(id_number, among=digits) or boxes.get("certificate_number")
    # A name re-read from its box (Tesseract) may differ from the page's reading of it, and
    # a doubtful one is null: then the box after 姓名, where a person reads it instead.
    name = fields.get("name")
    boxes["name"] = (holding(name) if name else None) or _extent(name_boxes(words))
    if fields.get("category") in CATEGORIES:
        boxes["category"] = holding(CATEGORIES[fields["category"]].removesuffix("残疾"))
    if fields.get("grade") in _GRADE_FORMS:
        boxes["grade"] = holding(*_GRADE_FORMS[fields["grade"]])
    expiry = fields.get("valid_until")
    if expiry == "长期":
        boxes["valid_until"] = holding("长期")
    elif isinstance(expiry, str) and (pattern := _date_pattern(expiry)):
        dated = [c for t, c in texts if pattern.search(t)]
        labelled = [c for c in dated if "有效" in c.text]
        boxes["valid_until"] = _smallest(labelled or dated)
    for key, labels in _LABELS.items():
        if boxes.get(key) is None:
            boxes[key] = _printed(rows, labels)
    for key in ("category", "grade"):  # else read from the number's last two digits
        if boxes.get(key) is None and fields.get(key) is not None:
            boxes[key] = boxes.get("certificate_number")
    return {key: box for key, box in boxes.items() if box is not None}
