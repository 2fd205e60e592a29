"""The catalogue (卷内目录) after DA/T 22, as a page's rows and as a printable A4 PDF."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from archive.casefiles.checklist import (
    UNTYPED,
    UNTYPED_LABEL,
    current_checklist,
    live_documents,
    type_name,
)
from archive.models import (
    CaseFile,
    ChecklistVersion,
    Document,
    Person,
)
from core.doctypes import BY_CODE

# --- Catalogue (卷内目录) --------------------------------------------------------------------


@dataclass
class CatalogueRow:
    number: int  # 序号
    code: str  # 档号
    responsible: str  # 责任者
    title: str  # 题名
    date: date | None  # 日期 (the document's own: entered, or read by OCR)
    pages: int  # 页数
    page_range: str  # 页号: where it starts and ends in the file, counted over the catalogue
    note: str  # 备注
    document: Document


def responsible(document: Document, person: Person, county_name: str) -> str:
    """The 责任者 of a document (core.doctypes ``responsible``): the person themself unless
    its type names the office that made it."""
    kind = BY_CODE.get(document.doc_type)
    template = kind.responsible if kind else ""
    return template.format(county=county_name) if template else person.name


def ordered_documents(case_file: CaseFile, checklist: ChecklistVersion | None = None):
    """The filed, current documents in catalogue order: by checklist order, then 件号."""
    checklist = checklist or current_checklist()
    order = {item["code"]: i for i, item in enumerate(checklist.items)}
    documents = list(
        live_documents(case_file)
        .exclude(doc_type=UNTYPED)
        .select_related("current__blob")
        .order_by("filed_at", "id")
    )
    documents.sort(key=lambda d: (order.get(d.doc_type, len(order)), d.filed_at or d.created_at))
    return documents


def document_title(document: Document, person: Person, items: Iterable[dict] | None = None) -> str:
    return document.title or f"{person.name}{type_name(document.doc_type, items)}"


def catalogue(case_file: CaseFile, checklist: ChecklistVersion | None = None) -> list[CatalogueRow]:
    """The 卷内目录: the filed documents in checklist order, then those whose type is still to
    be recognised (listed, never silently left out, with no 档号 until they are typed)."""
    checklist = checklist or current_checklist()
    person, county_name = case_file.person, case_file.county.name
    untyped = list(
        live_documents(case_file)
        .filter(doc_type=UNTYPED)
        .select_related("current__blob")
        .order_by("created_at", "id")
    )
    rows, first_page = [], 1
    documents = ordered_documents(case_file, checklist) + untyped
    for number, document in enumerate(documents, start=1):
        version = document.current
        pages = version.blob.page_count if version else 0
        notes = [UNTYPED_LABEL] if document.doc_type == UNTYPED else []
        if version and version.number > 1:
            notes.append(f"第{version.number}版")
        last_page = first_page + max(pages, 1) - 1
        rows.append(
            CatalogueRow(
                number=number,
                code=document.archival_code or "",
                responsible=responsible(document, person, county_name),
                title=document.title or "待识别类型的材料"
                if document.doc_type == UNTYPED
                else document_title(document, person, checklist.items),
                date=document.doc_date,
                pages=pages,
                page_range=str(first_page)
                if last_page == first_page
                else f"{first_page}-{last_page}",
                note="；".join(notes),
                document=document,
            )
        )
        first_page = last_page + 1
    return rows


# Catalogue PDF: A4 at 150 dpi, drawn with Pillow in the CJK font of the OCR package.
DPI = 150
PAGE_SIZE = (1240, 1754)
MARGIN = 90
COLUMNS = (
    ("序号", 56),
    ("档号", 290),
    ("责任者", 150),
    ("题名", 290),
    ("日期", 124),
    ("页号", 70),
    ("备注", 80),
)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from ocr.fonts import cjk_font_path

    path = cjk_font_path()
    if path.endswith(".ttc"):  # pick the Simplified Chinese face of a CJK collection
        for index in range(10):
            try:
                font = ImageFont.truetype(path, size, index=index)
            except OSError:
                break
            if " SC" in font.getname()[0] or "SC" in font.getname()[0].split():
                return font
    return ImageFont.truetype(path, size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for char in text:
        if font.getlength(line + char) > width and line:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line or not lines else lines


def catalogue_pdf(case_file: CaseFile, rows: list[CatalogueRow]) -> bytes:
    """The catalogue as a printable PDF (A4, one table continued over as many pages as needed,
    column headings repeated, page numbers)."""
    body, head, title_font = _font(22), _font(22), _font(40)
    line_height, padding = 30, 8
    table_width = sum(w for _, w in COLUMNS)
    left = (PAGE_SIZE[0] - table_width) // 2
    person = case_file.person

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
        page = Image.new("L", PAGE_SIZE, 255)
        draw = ImageDraw.Draw(page)
        y = MARGIN
        draw.text((PAGE_SIZE[0] // 2, y), "卷 内 目 录", font=title_font, fill=0, anchor="mt")
        y += 70
        subtitle = f"{person.name}　{person.id_number}　{case_file.county.name}"
        draw.text((left, y), subtitle, font=body, fill=0)
        y += 44
        y = _row(draw, y, [name for name, _ in COLUMNS], head, line_height, padding, left, True)
        return page, draw, y

    pages: list[Image.Image] = []
    page, draw, y = new_page()
    for row in rows or [None]:
        cells = (
            [
                str(row.number),
                row.code,
                row.responsible,
                row.title,
                row.date.strftime("%Y-%m-%d") if row.date else "",
                row.page_range,
                row.note,
            ]
            if row
            else ["", "", "", "（无已归档文件）", "", "", ""]
        )
        height = _row_height(cells, body, line_height, padding)
        if y + height > PAGE_SIZE[1] - MARGIN - 40:
            pages.append(page)
            page, draw, y = new_page()
        y = _row(draw, y, cells, body, line_height, padding, left)
    pages.append(page)
    out = io.BytesIO()
    for number, image in enumerate(pages, start=1):
        ImageDraw.Draw(image).text(
            (PAGE_SIZE[0] // 2, PAGE_SIZE[1] - MARGIN),
            f"第 {number} 页 共 {len(pages)} 页",
            font=body,
            fill=0,
            anchor="mb",
        )
    pages[0].save(
        out,
        "PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=DPI,
        title=f"卷内目录 {person.name}",
    )
    return out.getvalue()


def _row_height(cells, font, line_height, padding) -> int:
    lines = max(
        len(_wrap(c, font, w - 2 * padding)) for c, (_, w) in zip(cells, COLUMNS, strict=True)
    )
    return lines * line_height + 2 * padding


def _row(draw, y, cells, font, line_height, padding, left, header=False) -> int:
    height = _row_height(cells, font, line_height, padding)
    x = left
    for cell, (_, width) in zip(cells, COLUMNS, strict=True):
        draw.rectangle((x, y, x + width, y + height), outline=0, width=2 if header else 1)
        for i, text in enumerate(_wrap(cell, font, width - 2 * padding)):
            draw.text((x + padding, y + padding + i * line_height), text, font=font, fill=0)
        x += width
    return y + height
