"""The annual review record (年度复核记录) as a one-page A4 PDF, drawn with Pillow in the CJK
font the OCR package finds, so that it can be filed into the case file through the same
upload path as a scan (`archive.documents.ingest`) and gets its 档号 like any other document."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont

DPI = 150
PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 110


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from archive.casefiles.catalogue import _font as archive_font

    return archive_font(size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            if font.getlength(line + char) > width and line:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
    return lines


def review_record_pdf(title: str, rows: list[tuple[str, str]], footer: str) -> bytes:
    """A titled table of (label, value) rows and a footer line (who recorded it, when)."""
    page = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(page)
    title_font, body = _font(44), _font(26)
    draw.text((PAGE_SIZE[0] // 2, MARGIN), title, font=title_font, fill=0, anchor="mt")
    y = MARGIN + 100
    label_width, line_height, padding = 260, 38, 12
    left, right = MARGIN, PAGE_SIZE[0] - MARGIN
    for label, value in rows:
        lines = _wrap(value or "—", body, right - left - label_width - 2 * padding)
        height = len(lines) * line_height + 2 * padding
        draw.rectangle((left, y, left + label_width, y + height), outline=0, width=2)
        draw.rectangle((left + label_width, y, right, y + height), outline=0, width=2)
        draw.text((left + padding, y + padding), label, font=body, fill=0)
        for i, line in enumerate(lines):
            draw.text(
                (left + label_width + padding, y + padding + i * line_height),
                line,
                font=body,
                fill=0,
            )
        y += height
    draw.text((left, y + 40), footer, font=body, fill=0)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=DPI, title=title)
    return out.getvalue()
