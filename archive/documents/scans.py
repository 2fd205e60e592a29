"""Checking an uploaded scan and deriving its page images and thumbnail.

The scan is read by the one scan reader, ``ocr.pages``, with the one set of limits
(``core/scans.py``; settings ``SCAN_MAX_IMAGE_PIXELS``, ``SCAN_MAX_PAGES``) that OCR applies
too, so a file filed here is never refused by OCR. The largest file is ``UPLOAD_MAX_BYTES``.
A scan is accepted only if every page decodes completely; decoding is also what produces the
page images, so a file is read once.

Page images are JPEGs of at most ``PAGE_LONG_SIDE`` pixels (about 200 dpi for A4: a
certificate number reads clearly on screen, zoomed in); PDF pages are rendered by pdfium.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.conf import settings
from PIL import Image

from ocr import pages as ocr_pages

PAGE_LONG_SIDE = 2400
PAGE_QUALITY = 82
THUMB_BOX = (240, 340)
THUMB_QUALITY = 75

KINDS = {"jpeg": "image/jpeg", "png": "image/png", "tiff": "image/tiff", "pdf": "application/pdf"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "tiff": "tif", "pdf": "pdf"}
#: What the upload form accepts; the content decides anyway.
ACCEPT = ".jpg,.jpeg,.png,.tif,.tiff,.pdf,.zip,image/jpeg,image/png,image/tiff,application/pdf,application/zip"


class Rejected(Exception):
    """A file that is not accepted; ``message`` says why, in Chinese, for the archivist."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def max_bytes() -> int:
    return int(settings.UPLOAD_MAX_BYTES)


def sniff(head: bytes) -> str | None:
    """The type of a file from its first bytes: jpeg, png, tiff, pdf (as OCR reads them,
    ocr/pages.py), zip, or None."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    return ocr_pages.sniff(head)


def sniff_file(path: Path) -> str | None:
    with path.open("rb") as fh:
        return sniff(fh.read(1024))


def human_size(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size} 字节"


@dataclass
class Derived:
    """What checking a scan produced: the page count; the images are in the output folder."""

    kind: str
    page_count: int


def check_and_derive(
    path: Path, kind: str, out_dir: Path, on_page: Callable[[int], None] | None = None
) -> Derived:
    """Checks a scan completely and writes ``page-NNNN.jpg`` and ``thumb.jpg`` into
    ``out_dir``; ``on_page(n)`` is told of each page written. Raises `Rejected` with the
    reason."""
    if kind not in KINDS:
        raise Rejected("type", "不支持的文件类型：只接受 JPEG、PNG、TIFF、PDF 或 ZIP")
    count = 0
    try:
        for count, page in enumerate(ocr_pages.iter_pages(path, long_side=PAGE_LONG_SIDE), 1):
            if count == 1 and _viewable_as_is(path, kind):
                # The original is already a fine page image: copy it, don't re-encode.
                shutil.copyfile(path, out_dir / "page-0001.jpg")
                _write_thumbnail(page, out_dir)
            else:
                _write_page(page, out_dir, count)
            if on_page is not None:
                on_page(count)
    except ocr_pages.PageError as error:
        raise Rejected(error.code, error.message) from None
    return Derived(kind, count)


#: PDF names that make a viewer run something: scripts, actions on opening or on events,
#: launching programs. Names may be written with #-escapes (/J#53 is /JS).
_ACTIVE_NAME = re.compile(rb"/(JavaScript|JS|OpenAction|AA|Launch)(?![A-Za-z0-9#])")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
ACTIVE_PDF_NOTE = (
    "PDF 含脚本或自动动作，已标记：系统只显示其页面图像，原件只能下载，不在浏览器中打开"
)


def active_content(path: Path) -> list[str]:
    """The active-content names a PDF holds (/JS, /OpenAction…), found in its bytes and, for
    scripts inside compressed object streams, by pdfium's count of document scripts. Such
    a scan is accepted (a clerk cannot fix it) but flagged; originals are only ever served
    as downloads and pages are shown as rendered images, so nothing of it runs here."""
    found: set[str] = set()
    with path.open("rb") as fh:
        carry = b""
        while chunk := fh.read(1 << 20):
            data = _NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), carry + chunk)
            found.update(name.decode() for name in _ACTIVE_NAME.findall(data))
            carry = chunk[-32:]
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return sorted(found)
    try:
        if pdfium_c.FPDFDoc_GetJavaScriptActionCount(pdf.raw) > 0:
            found.add("JavaScript")
    finally:
        pdf.close()
    return sorted(found)


def _viewable_as_is(path: Path, kind: str) -> bool:
    """A one-page JPEG scan that browsers show as it is: greyscale or RGB, upright, not too
    large (its header says so; the reader has decoded it already)."""
    if kind != "jpeg":
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as image:
            return (
                image.mode in ("L", "RGB")
                and max(image.size) <= PAGE_LONG_SIDE
                and image.getexif().get(0x0112, 1) == 1
            )


def _write_page(page: Image.Image, out_dir: Path, number: int) -> None:
    page.save(out_dir / f"page-{number:04d}.jpg", "JPEG", quality=PAGE_QUALITY)
    if number == 1:
        _write_thumbnail(page, out_dir)


def _write_thumbnail(page: Image.Image, out_dir: Path) -> None:
    thumb = page.copy()  # the reader's pages are L or RGB already
    thumb.thumbnail(THUMB_BOX, reducing_gap=2.0)
    thumb.save(out_dir / "thumb.jpg", "JPEG", quality=THUMB_QUALITY)


def page_count(path: Path) -> int | None:
    """The number of pages of a scan without rendering them; None for a file the reader
    refuses (checking it says why)."""
    try:
        return ocr_pages.count_pages(path)
    except ocr_pages.PageError:
        return None
