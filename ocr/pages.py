"""A scanned file → its page images, recognised by content, never by file name.

Clerks upload whatever the scanner or phone produced, often with a wrong or missing
extension, so the type is sniffed from the first bytes: JPEG, PNG, TIFF (one page or many)
and PDF (rendered with PDFium).  Anything else is rejected with a reason a clerk can act on.

Uploads are untrusted: a small PNG can declare 100 000 × 100 000 pixels (a decompression
bomb) and a PDF page can be a square kilometre.  Sizes are checked against
:data:`MAX_IMAGE_PIXELS` *before* pixels are decoded, and page counts against
:data:`MAX_PAGES`, the one set of limits that upload (``archive/docs/scans.py``) and OCR
both apply, so a file accepted at upload is never refused by OCR. They can be changed with
the settings ``SCAN_MAX_IMAGE_PIXELS`` and ``SCAN_MAX_PAGES`` (and ``OCR_PDF_DPI``).

Pages are produced lazily (:func:`iter_pages`): a 50-page PDF rendered at 250 dpi is about
half a gigabyte of pixels, and the pipeline needs one page at a time.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps, ImageSequence

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

#: Largest page accepted, in pixels: an A3 page at 600 dpi is 70 million, so 100 million
#: leaves room for any honest scan while refusing a decompression bomb.
MAX_IMAGE_PIXELS = 100_000_000
#: Most pages in one file: a case-file document is a few pages, a whole bound case file
#: scanned at once a few hundred; beyond that it is a mistake (or an attack).
MAX_PAGES = 500
#: Resolution PDF pages are rendered at: enough for 9-point text on a photocopied card.
PDF_DPI = 250
# Rendering below this resolution would make text unreadable, so such a page is refused
# rather than shrunk to fit the pixel limit.
_MIN_PDF_DPI = 100

JPEG, PNG, TIFF, PDF = "jpeg", "png", "tiff", "pdf"
_PIL_FORMATS = {JPEG: {"JPEG", "MPO"}, PNG: {"PNG"}, TIFF: {"TIFF"}}
_FORMAT_NAMES = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF", PDF: "PDF"}

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


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | os.PathLike):
        try:
            return Path(source).read_bytes()
        except FileNotFoundError:
            raise PageError("UNREADABLE", f"找不到文件：{source}") from None
        except IsADirectoryError:
            raise PageError("UNREADABLE", f"不是文件：{source}") from None
        except OSError as error:
            raise PageError("UNREADABLE", f"无法读取文件：{error.strerror or error}") from None
    return source.read()


def _unsupported(head: bytes) -> PageError:
    hint = ""
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        hint = "（这是苹果手机的 HEIC 照片，请在手机上改用“兼容性最佳”格式或导出为 JPEG）"
    elif head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        hint = "（这是 Office 文档，请导出为 PDF 后上传）"
    return PageError(
        "UNSUPPORTED", f"不支持的文件类型{hint}，仅支持 JPEG、PNG、TIFF 图片和 PDF 文件"
    )


def _too_large(width: int, height: int, limit: int) -> PageError:
    return PageError(
        "TOO_LARGE",
        f"图像尺寸过大（{width}×{height}像素，超过{limit // 1_000_000}百万像素的上限），"
        "可能是异常文件，请以 300dpi 左右重新扫描",
    )


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


def _image_pages(data: bytes, kind: str, max_pixels: int, max_pages: int) -> Iterator[Image.Image]:
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; here any bomb is an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PageError("TOO_LARGE", "图像尺寸过大，可能是异常文件（解压炸弹），已拒绝") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise PageError(
            "UNREADABLE", f"{_FORMAT_NAMES[kind]} 图像已损坏，无法读取（{error}）"
        ) from None
    if image.format not in _PIL_FORMATS[kind]:
        raise PageError("UNREADABLE", f"文件头像 {_FORMAT_NAMES[kind]}，但内容无法按该格式读取")
    frames = getattr(image, "n_frames", 1)
    if kind == TIFF and frames > max_pages:
        raise PageError(
            "TOO_MANY_PAGES", f"TIFF 文件有{frames}页，超过上限{max_pages}页，请拆分后上传"
        )
    # A JPEG with extra frames (MPO from a phone) holds previews, not pages: read one.
    sequence = ImageSequence.Iterator(image) if kind == TIFF else [image]
    try:
        for frame in sequence:
            width, height = frame.size
            if width * height > max_pixels:
                raise _too_large(width, height, max_pixels)
            if width == 0 or height == 0:
                raise PageError("UNREADABLE", "图像尺寸为零，无法读取")
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                frame.load()
            yield _normalise(frame.copy())
    except PageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PageError("TOO_LARGE", "图像尺寸过大，可能是异常文件（解压炸弹），已拒绝") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise PageError(
            "UNREADABLE", f"{_FORMAT_NAMES[kind]} 图像已损坏或不完整，无法读取（{error}）"
        ) from None
    finally:
        image.close()


def _open_pdf(data: bytes) -> Any:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as error:
        if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise PageError(
                "ENCRYPTED",
                "PDF 文件已加密（设有打开密码或安全限制），无法识别，请上传未加密的文件",
            ) from None
        raise PageError("UNREADABLE", "PDF 文件已损坏或不是有效的 PDF，无法读取") from None


def _pdf_pages(data: bytes, max_pixels: int, max_pages: int, dpi: int) -> Iterator[Image.Image]:
    import pypdfium2

    pdf = _open_pdf(data)
    try:
        count = len(pdf)
        if count == 0:
            raise PageError("EMPTY", "PDF 文件没有页面")
        if count > max_pages:
            raise PageError(
                "TOO_MANY_PAGES", f"PDF 文件有{count}页，超过上限{max_pages}页，请拆分后上传"
            )
        for index in range(count):
            try:
                page = pdf[index]
                width_pt, height_pt = page.get_size()
                scale = dpi / 72
                pixels = width_pt * height_pt * scale * scale
                if pixels > max_pixels:
                    # A large page (A3, a poster-sized scan) is rendered at a lower resolution
                    # rather than refused, down to the point where text would be unreadable.
                    # 0.99: PDFium rounds the bitmap size up.
                    scale = 0.99 * (max_pixels / (width_pt * height_pt)) ** 0.5
                    if scale * 72 < _MIN_PDF_DPI:
                        raise _too_large(
                            round(width_pt * dpi / 72), round(height_pt * dpi / 72), max_pixels
                        )
                bitmap = page.render(scale=scale, grayscale=True)
                image = bitmap.to_pil()
                page.close()
            except pypdfium2.PdfiumError as error:
                raise PageError(
                    "UNREADABLE", f"PDF 第{index + 1}页已损坏，无法读取（{error}）"
                ) from None
            yield _normalise(image)
    finally:
        pdf.close()


def _inspect(source: Source) -> tuple[bytes, str]:
    data = _read_bytes(source)
    if not data:
        raise PageError("EMPTY", "文件为空")
    kind = sniff(data[:1024])
    if kind is None:
        raise _unsupported(data[:16])
    return data, kind


def iter_pages(
    source: Source,
    *,
    max_pixels: int | None = None,
    max_pages: int | None = None,
    dpi: int | None = None,
) -> Iterator[Image.Image]:
    """Yield the pages of ``source`` (a path, bytes or a binary file) as ``L``/``RGB`` images.

    Raises :class:`PageError` — for the file type and encryption before the first page, for
    a damaged page when that page is reached.
    """
    limit = max_pixels or max_image_pixels_setting()
    pages = max_pages or max_pages_setting()
    data, kind = _inspect(source)
    if kind == PDF:
        yield from _pdf_pages(data, limit, pages, dpi or int(setting("OCR_PDF_DPI", PDF_DPI)))
    else:
        yield from _image_pages(data, kind, limit, pages)


def load_pages(source: Source, **limits: int | None) -> list[Image.Image]:
    """All pages of ``source`` at once (small files, tests); see :func:`iter_pages`."""
    return list(iter_pages(source, **limits))


def count_pages(source: Source) -> int:
    """Number of pages without rendering them (for progress bars)."""
    data, kind = _inspect(source)
    if kind == PDF:
        pdf = _open_pdf(data)
        try:
            return len(pdf)
        finally:
            pdf.close()
    if kind == TIFF:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return int(getattr(image, "n_frames", 1))
        except (OSError, SyntaxError, ValueError):  # damaged: reported when pages are read
            return 1
    return 1
