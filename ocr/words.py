"""Recognised words with their boxes, and the reading-order lines built from them.

Kept apart from the Tesseract wrapper so that field extraction (:mod:`ocr.extract`) can take
word boxes without importing an OCR engine: tests build :class:`Word` lists by hand.

Why rebuild lines at all: Tesseract's page segmentation splits a form row into columns
("姓名 张三" on the left, "性别 男" on the right become separate blocks), and chi_sim output
puts spaces between single characters.  A label and its value must end up on one line, and a
wide gap between two cells must stay visible, so lines are re-assembled from the boxes:
Tesseract lines that overlap vertically are merged, words are ordered left to right, CJK
characters are joined without spaces and a wide gap becomes :data:`FIELD_GAP`.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["FIELD_GAP", "Cell", "Word", "layout_cells", "layout_lines", "layout_text"]

#: What separates two cells of a form row in reconstructed text (two spaces): extraction
#: treats it as the end of a value, whereas a single space may be OCR noise inside a value.
FIELD_GAP = "  "
# A horizontal gap wider than this many text heights separates two cells.
_CELL_GAP_HEIGHTS = 1.2
# Two Tesseract lines belong to one row when they overlap by this share of the shorter one.
_ROW_OVERLAP = 0.5
# A line taller than this many times the page's median line is outsized (a seal's letter).
_OUTSIZED_HEIGHTS = 1.8


@dataclass(frozen=True)
class Word:
    """One recognised word (for chi_sim, often one character) and where it is on the page.

    ``conf`` is Tesseract's confidence 0–100; ``line`` identifies the Tesseract text line
    (block, paragraph, line) the word was assigned to.  ``turned`` says that the engine's
    direction classifier turned the line by 180° before reading it (RapidOCR): on an
    upside-down page most lines are, which is how the pipeline knows to turn the page.
    """

    text: str
    conf: float
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int] = (0, 0, 0)
    turned: bool = False

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


@dataclass
class _Row:
    top: int
    bottom: int
    words: list[Word]

    def overlap(self, top: int, bottom: int) -> float:
        shared = min(self.bottom, bottom) - max(self.top, top)
        shortest = max(1, min(self.bottom - self.top, bottom - top))
        return shared / shortest


def _rows(words: Iterable[Word]) -> list[_Row]:
    """Group words into rows: Tesseract's lines, merged when they sit side by side.

    A line far taller than the page's text (a letter of a seal's ring, 2–4 lines high) is
    placed after the others, in the row it overlaps, and does not stretch that row:
    otherwise, in a table with a header row, the seal's letters beside it would reach down
    into the row of values and join the two (``程梅平申请人姓名``).
    """
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        if word.text.strip():
            lines.setdefault(word.line, []).append(word)
    if not lines:
        return []
    bands = [(min(w.top for w in ws), max(w.bottom for w in ws), ws) for ws in lines.values()]
    tallest = _OUTSIZED_HEIGHTS * statistics.median(bottom - top for top, bottom, _ in bands)
    rows: list[_Row] = []
    for top, bottom, members in sorted(bands, key=lambda b: (b[1] - b[0] > tallest, b[0])):
        for row in rows:
            if row.overlap(top, bottom) >= _ROW_OVERLAP:
                row.words.extend(members)
                if bottom - top <= tallest:
                    row.top, row.bottom = min(row.top, top), max(row.bottom, bottom)
                break
        else:
            rows.append(_Row(top, bottom, list(members)))
    rows.sort(key=lambda row: row.top)
    return rows


@dataclass(frozen=True)
class Cell:
    """The text of one cell of a row (words closer than a cell gap) and its box."""

    text: str
    left: int
    top: int
    right: int
    bottom: int


def _cells(words: Sequence[Word]) -> list[Cell]:
    ordered = sorted(words, key=lambda w: w.left)
    height = statistics.median(w.height for w in ordered)
    groups: list[list[Word]] = []
    for word in ordered:
        if groups and word.left - groups[-1][-1].right <= _CELL_GAP_HEIGHTS * height:
            groups[-1].append(word)
        else:
            groups.append([word])
    return [
        Cell(
            text=_text(group),
            left=min(w.left for w in group),
            top=min(w.top for w in group),
            right=max(w.right for w in group),
            bottom=max(w.bottom for w in group),
        )
        for group in groups
    ]


def _text(words: Sequence[Word]) -> str:
    parts: list[str] = []
    for word in words:
        text = word.text.strip()
        if parts and not (_is_cjk(parts[-1][-1]) and _is_cjk(text[0])):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def layout_cells(words: Iterable[Word]) -> list[list[Cell]]:
    """The page as rows of cells in reading order, with boxes: what finds a value *below*
    its label (a table's header row) as well as beside it."""
    return [_cells(row.words) for row in _rows(words)]


def layout_lines(words: Iterable[Word]) -> list[str]:
    """The page's text as lines in reading order, one per form row."""
    return [FIELD_GAP.join(cell.text for cell in row) for row in layout_cells(words)]


def layout_text(words: Iterable[Word]) -> str:
    """:func:`layout_lines` joined with newlines: the OCR text kept with a document."""
    return "\n".join(layout_lines(words))
