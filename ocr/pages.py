"""The one scan reader: a scanned file → its page images, recognised by content, never by
file name. Upload (``archive/documents/scans.py``, page images for viewing) and OCR (page images
for Tesseract) both read through it, with the one set of limits of ``core/scans.py``, so a
file accepted at upload is never refused by OCR.

Clerks upload whatever the scanner or phone produced, often with a wrong or missing
extension, so the type is sniffed from the first bytes: JPEG, PNG, TIFF (one page or many)
and PDF (rendered with PDFium).  Anything else is rejected with a reason a clerk can act on.

Uploads are untrusted: a small PNG can declare 100 000 × 100 000 pixels (a decompression
bomb) and a PDF page can be a square kilometre.  Sizes are checked against the pixel limit
(``SCAN_MAX_IMAGE_PIXELS``) *before* pixels are decoded, page counts against
``SCAN_MAX_PAGES``; a file cut off in transfer (no end marker, or a JPEG libjpeg padded with
grey) and an encrypted PDF are refused.  A PDF page that would need more pixels than the
limit at ``OCR_PDF_DPI`` is rendered at a lower resolution, down to ``MIN_PDF_DPI``; below
that it is refused, whatever resolution the caller asked for.

Pages are produced lazily (:func:`iter_pages`): a 50-page PDF rendered at 250 dpi is about
half a gigabyte of pixels, and the pipeline needs one page at a time.  A path is read from
disk as it is needed, never loaded whole.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps, ImageSequence

from core.scans import MAX_IMAGE_PIXELS, MAX_PAGES, MIN_PDF_DPI, PDF_DPI
from ocr.options import setting

__all__ = [
    "MAX_IMAGE_PIXELS",
    "MAX_PAGES",
    "PDF_DPI",
    "PageError",
    "Source",
    "count_pages",
    "iter_pages",
    "load_pages",
    "sniff",
]

#: Viewing pages (``long_side`` given) are never rendered above this resolution.
VIEW_MAX_DPI = 300

JPEG, PNG, TIFF, PDF = "jpeg", "png", "tiff", "pdf"
_PIL_FORMATS = {JPEG: {"JPEG", "MPO"}, PNG: {"PNG"}, TIFF: {"TIFF"}}
_FORMAT_NAMES = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF", PDF: "PDF"}
#: What a complete file of the type ends with (within its last 2 KiB); PDF readers look for
#: %%EOF in the last 1 KiB.
_END_MARKERS = {JPEG: (b"\xff\xd9", 2048), PNG: (b"IEND", 2048), PDF: (b"%%EOF", 1024)}

Source = str | os.PathLike[str] | bytes | IO[bytes]


class PageError(Exception):
    """A file cannot be turned into pages; ``code`` for machines, ``message`` (Chinese) for people.

    Codes: ``UNSUPPORTED`` (not JPEG/PNG/TIFF/PDF), ``UNREADABLE`` (damaged or truncated),
    ``ENCRYPTED`` (PDF with a password), ``TOO_LARGE`` (page over the pixel limit),
    ``TOO_MANY_PAGES``, ``EMPTY`` (no pages, or an empty file).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message))


def max_image_pixels_setting() -> int:
    """The configured largest page, in pixels (``SCAN_MAX_IMAGE_PIXELS``)."""
    return int(setting("SCAN_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS))


def max_pages_setting() -> int:
    """The configured most pages in one file (``SCAN_MAX_PAGES``)."""
    return int(setting("SCAN_MAX_PAGES", MAX_PAGES))


def sniff(head: bytes) -> str | None:
    """The file type from its first bytes (at least 1 KiB for PDF), or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    # PDF readers accept the header anywhere in the first 1024 bytes (ISO 32000 tolerance).
    if b"%PDF-" in head[:1024]:
        return PDF
    return None


class _File:
    """A source opened for reading: a path stays on disk, anything else is held as bytes."""

    def __init__(self, source: Source) -> None:
        self.path: Path | None = None
        self.data: bytes | None = None
        if isinstance(source, bytes):
            self.data = source
        elif isinstance(source, str | os.PathLike):
            self.path = Path(source)
            try:
                self.size = self.path.stat().st_size
            except FileNotFoundError:
                raise PageError("UNREADABLE", f"找不到文件：{source}") from None
            except OSError as error:
                raise PageError("UNREADABLE", f"无法读取文件：{error.strerror or error}") from None
            if not self.path.is_file():
                raise PageError("UNREADABLE", f"不是文件：{source}")
            return
        else:
            self.data = source.read()
        self.size = len(self.data)

    def head(self, size: int = 1024) -> bytes:
        if self.data is not None:
            return self.data[:size]
        with self.path.open("rb") as fh:
            return fh.read(size)

    def tail(self, size: int) -> bytes:
        if self.data is not None:
            return self.data[-size:]
        with self.path.open("rb") as fh:
            fh.seek(max(0, self.size - size))
            return fh.read()

    def for_pil(self) -> Any:
        return io.BytesIO(self.data) if self.data is not None else self.path

    def for_pdfium(self) -> Any:
        return self.data if self.data is not None else str(self.path)


def _unsupported(head: bytes) -> PageError:
    hint = ""
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        hint = "（这是苹果手机的 HEIC 照片，请在手机上改用“兼容性最佳”格式或导出为 JPEG）"
    elif head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        hint = "（这是 Office 文档，请导出为 PDF 后上传）"
    return PageError(
        "UNSUPPORTED", f"不支持的文件类型{hint}，仅支持 JPEG、PNG、TIFF 图片和 PDF 文件"
    )


def _too_large(limit: int, width: int = 0, height: int = 0) -> PageError:
    size = f"（{width}×{height}像素）" if width else ""
    return PageError(
        "TOO_LARGE",
        f"图像像素过多{size}，超过上限 {limit // 1_000_000} 百万像素：尺寸过大，可能是异常文件，"
        "请以 300 dpi 左右重新扫描",
    )


def _too_many_pages(count: int, limit: int) -> PageError:
    return PageError("TOO_MANY_PAGES", f"文件有 {count} 页，超过上限 {limit} 页：请拆分后上传")


def _truncated(kind: str) -> PageError:
    return PageError(
        "UNREADABLE",
        f"{_FORMAT_NAMES[kind]} 文件不完整或已损坏（可能上传或扫描中断），请重新扫描或上传",
    )


def _encrypted() -> PageError:
    return PageError("ENCRYPTED", "PDF 已加密（设有密码或权限限制）：请上传未加密的文件")


def _normalise(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation applied) and in mode ``L`` or ``RGB``."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("L", "RGB"):
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit scans: scale to 8 bits (a plain convert would clip everything to white).
        wide = image.convert("I") if image.mode.startswith("I;16") else image
        top = 65535 if image.mode.startswith("I;16") else max(1, wide.getextrema()[1])
        return wide.point(lambda v: v * 255 / top).convert("L")
    if image.mode == "1":
        return image.convert("L")
    if "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    return image.convert("RGB")


def _grey_filled(image: Image.Image) -> bool:
    """libjpeg fills what is missing of a cut-off JPEG with mid-grey (every sample 128) and
    says nothing, so a truncated scan padded with an end marker decodes "fine". Its last row
    is then exactly that grey from edge to edge, which no scanned page is."""
    width, height = image.size
    extrema = image.crop((0, height - 1, width, height)).getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    return all(low == high == 128 for low, high in bands)


def _image_pages(
    file: _File, kind: str, max_pixels: int, max_pages: int, long_side: int | None
) -> Iterator[Image.Image]:
    with warnings.catch_warnings():
        # Pillow's own bomb warning and corrupt-EXIF warnings: the pixel limit is judged below.
        warnings.simplefilter("ignore")
        try:
            image = Image.open(file.for_pil())
        except Image.DecompressionBombError:
            raise _too_large(max_pixels) from None
        except (OSError, SyntaxError, ValueError) as error:
            raise PageError(
                "UNREADABLE", f"{_FORMAT_NAMES[kind]} 图像已损坏，无法读取（{error}）"
            ) from None
    try:
        if image.format not in _PIL_FORMATS[kind]:
            raise PageError("UNREADABLE", f"文件头像 {_FORMAT_NAMES[kind]}，但内容无法按该格式读取")
        frames = getattr(image, "n_frames", 1)
        if kind == TIFF and frames > max_pages:
            raise _too_many_pages(frames, max_pages)
        # A JPEG with extra frames (MPO from a phone) holds previews, not pages: read one.
        sequence = ImageSequence.Iterator(image) if kind == TIFF else [image]
        for frame in sequence:
            width, height = frame.size
            if width * height > max_pixels:
                raise _too_large(max_pixels, width, height)
            if width == 0 or height == 0:
                raise PageError("UNREADABLE", "图像尺寸为零，无法读取")
            yield _decode(frame, kind, long_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise PageError(
            "UNREADABLE", f"{_FORMAT_NAMES[kind]} 图像已损坏或不完整，无法读取（{error}）"
        ) from None
    finally:
        image.close()


def _decode(frame: Image.Image, kind: str, long_side: int | None) -> Image.Image:
    """One frame decoded completely (raising on truncated data), upright, in ``L``/``RGB``;
    for viewing (``long_side``) reduced to fit, a JPEG decoded at a reduced scale directly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == JPEG and long_side and max(frame.size) > long_side:
            frame.draft("RGB" if frame.mode in ("RGB", "CMYK", "YCbCr") else None, (long_side,) * 2)
        frame.load()
    if kind == JPEG and _grey_filled(frame):
        raise _truncated(kind)
    page = _normalise(frame.copy())
    if long_side:
        page.thumbnail((long_side, long_side), reducing_gap=2.0)
    return page


def _open_pdf(file: _File) -> Any:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pypdfium2.PdfDocument(file.for_pdfium())
    except pypdfium2.PdfiumError as error:
        if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise _encrypted() from None
        raise PageError("UNREADABLE", "PDF 文件已损坏或不是有效的 PDF，无法读取") from None
    if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:  # owner password only
        pdf.close()
        raise _encrypted()
    return pdf


def _pdf_scale(
    width_pt: float, height_pt: float, max_pixels: int, dpi: int | None, long_side: int | None
) -> float:
    """The scale a PDF page is rendered at, or TOO_LARGE. A page is refused when it cannot be
    rendered at ``MIN_PDF_DPI`` within the pixel limit (its text would be unreadable), whatever
    it is rendered for; a large page (A3, a poster-sized scan) is otherwise rendered at a
    lower resolution than asked, to fit. 0.99: PDFium rounds the bitmap size up."""
    fit = 0.99 * (max_pixels / (width_pt * height_pt)) ** 0.5
    if fit * 72 < MIN_PDF_DPI:
        shown = dpi or int(setting("OCR_PDF_DPI", PDF_DPI))
        raise _too_large(max_pixels, round(width_pt * shown / 72), round(height_pt * shown / 72))
    if long_side:
        return min(long_side / max(width_pt, height_pt), VIEW_MAX_DPI / 72, fit)
    scale = (dpi or int(setting("OCR_PDF_DPI", PDF_DPI))) / 72
    return scale if width_pt * height_pt * scale * scale <= max_pixels else fit


def _pdf_pages(
    file: _File, max_pixels: int, max_pages: int, dpi: int | None, long_side: int | None
) -> Iterator[Image.Image]:
    import pypdfium2

    pdf = _open_pdf(file)
    try:
        count = len(pdf)
        if count == 0:
            raise PageError("EMPTY", "PDF 文件没有页面")
        if count > max_pages:
            raise _too_many_pages(count, max_pages)
        for index in range(count):
            try:
                page = pdf[index]
                width_pt, height_pt = page.get_size()
                if width_pt <= 0 or height_pt <= 0:
                    raise PageError("UNREADABLE", f"PDF 第{index + 1}页尺寸无效")
                scale = _pdf_scale(width_pt, height_pt, max_pixels, dpi, long_side)
                bitmap = page.render(
                    scale=scale, grayscale=not long_side, may_draw_forms=not long_side
                )
                image = bitmap.to_pil()
                page.close()
            except pypdfium2.PdfiumError as error:
                raise PageError(
                    "UNREADABLE", f"PDF 第{index + 1}页已损坏，无法读取（{error}）"
                ) from None
            yield _normalise(image)
    finally:
        pdf.close()


def _inspect(source: Source) -> tuple[_File, str]:
    file = _File(source)
    if not file.size:
        raise PageError("EMPTY", "文件为空")
    head = file.head()
    kind = sniff(head)
    if kind is None:
        raise _unsupported(head[:16])
    return file, kind


def iter_pages(
    source: Source,
    *,
    max_pixels: int | None = None,
    max_pages: int | None = None,
    dpi: int | None = None,
    long_side: int | None = None,
) -> Iterator[Image.Image]:
    """Yield the pages of ``source`` (a path, bytes or a binary file) as ``L``/``RGB`` images.

    For OCR (the default) PDF pages are rendered in grey at ``dpi`` (``OCR_PDF_DPI``); for
    viewing (``long_side``) every page is reduced to at most that many pixels a side, PDF
    pages in colour. What is accepted is the same either way.

    Raises :class:`PageError` — for the file type, truncation and encryption before the first
    page, for a damaged page when that page is reached.
    """
    limit = max_pixels or max_image_pixels_setting()
    pages = max_pages or max_pages_setting()
    file, kind = _inspect(source)
    marker, span = _END_MARKERS.get(kind, (b"", 0))
    if marker and marker not in file.tail(span):
        raise _truncated(kind)
    if kind == PDF:
        yield from _pdf_pages(file, limit, pages, dpi, long_side)
    else:
        yield from _image_pages(file, kind, limit, pages, long_side)


def load_pages(source: Source, **options: int | None) -> list[Image.Image]:
    """All pages of ``source`` at once (small files, tests); see :func:`iter_pages`."""
    return list(iter_pages(source, **options))


def count_pages(source: Source) -> int:
    """Number of pages without rendering them (for progress bars)."""
    file, kind = _inspect(source)
    if kind == PDF:
        pdf = _open_pdf(file)
        try:
            return len(pdf)
        finally:
            pdf.close()
    if kind == TIFF:
        try:
            with Image.open(file.for_pil()) as image:
                return int(getattr(image, "n_frames", 1))
        except (OSError, SyntaxError, ValueError):  # damaged: reported when pages are read
            return 1
    return 1
