"""Spreadsheet exports: the one writer every XLSX download goes through.

Exports carry names, ID numbers and roster text that came from other departments' files. A
cell such as ``=HYPERLINK(...)`` or ``+cmd|...`` copied from a roster must stay text in the
office's Excel, never become a formula (CSV/formula injection), and control characters that
are illegal in XLSX must not make the download fail. Keeping the rule here means no export
can forget it.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date
from typing import BinaryIO

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: First characters with which Excel and LibreOffice start a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@")


def write_xlsx(out: BinaryIO, title: str, rows: Iterable[Sequence[object]]) -> None:
    """Streams `rows` into a one-sheet workbook (write-only mode: memory stays flat)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                cell.data_type = "s"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    workbook.save(out)


def xlsx_bytes(title: str, rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, title, rows)
    return buffer.getvalue()


def xlsx_download(title: str, rows: Iterable[Sequence[object]], filename: str) -> FileResponse:
    """A download of `rows`, spooled through a private temporary file (large exports)."""
    from archive.documents import storage

    out = tempfile.TemporaryFile(dir=storage.tmp_dir())  # noqa: SIM115 — closed by the response
    write_xlsx(out, title, rows)
    out.seek(0)
    response = FileResponse(
        out, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )
    response["Cache-Control"] = "private, no-store"
    return response


def xlsx_attachment(content: bytes, filename: str) -> HttpResponse:
    """A download of an already built workbook."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response
