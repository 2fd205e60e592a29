"""Text of attached files (PDF, plain text, Word .docx), so that site search finds a policy by
a phrase that appears only in its attachment.

PDFs are read with pypdfium2 (text layer only; scanned PDFs without one yield nothing — the
OCR pipeline in ``ocr/`` is for private case files, not for public attachments). Failures are
logged and give an empty string: a broken attachment must never stop a page from publishing.
"""

from __future__ import annotations

import logging
import re
import zipfile
from io import BytesIO
from pathlib import PurePath

logger = logging.getLogger(__name__)

MAX_CHARS = 200_000  # per file; far more than any notice, and bounded for huge manuals
MAX_BYTES = 50 * 1024 * 1024


def _decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _pdf_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        parts: list[str] = []
        size = 0
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
            parts.append(text)
            size += len(text)
            if size >= MAX_CHARS:
                break
        return "\n".join(parts)
    finally:
        pdf.close()


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        xml = archive.read("word/document.xml").decode("utf-8", errors="replace")
    xml = re.sub(r"</w:p>", "\n", xml)
    return re.sub(r"<[^>]+>", "", xml)


def extract_text_from_bytes(data: bytes, filename: str) -> str:
    """Plain text of a file's content, chosen by its extension; '' when unsupported."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(data)
    elif suffix in {".txt", ".text", ".csv"}:
        text = _decode_text(data)
    elif suffix == ".docx":
        text = _docx_text(data)
    else:
        return ""
    text = text.replace("\r\n", "\n").replace("\x00", "")
    return text[:MAX_CHARS]


def extract_document_text(document) -> str:
    """Plain text of a Wagtail document's file ('' when unsupported, missing or broken)."""
    try:
        with document.open_file() as handle:
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return ""
        return extract_text_from_bytes(data, document.file.name)
    except Exception:  # a broken attachment must not block publishing
        logger.warning("could not extract text from document %s", document.pk, exc_info=True)
        return ""
