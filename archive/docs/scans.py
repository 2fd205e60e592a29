"""Checking an uploaded scan and deriving its page images and thumbnail.

The type is recognised from the content (magic bytes), never from the file name. A scan is
accepted only if every page decodes completely; decoding is also what produces the page
images, so a file is read once. Limits (settings, with these defaults):

    UPLOAD_MAX_BYTES           200 MB    largest file
    SCAN_MAX_IMAGE_PIXELS      100 MP    largest page (A3 at 600 dpi is 70 MP): decompression bombs
    SCAN_MAX_PAGES             500       most pages in one file
    (the same limits OCR applies: ocr/pages.py holds them)

Page images are JPEGs of at most ``PAGE_LONG_SIDE`` pixels (about 200 dpi for A4: a
certificate number reads clearly on screen, zoomed in); PDF pages are rendered by pdfium.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.conf import settings
from PIL import Image, ImageOps

from ocr import pages as ocr_pages

PAGE_LONG_SIDE = 2400
PAGE_QUALITY = 82
THUMB_BOX = (240, 340)
THUMB_QUALITY = 75
PDF_MAX_SCALE = 300 / 72  # never render a small PDF page above 300 dpi

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


def max_pixels() -> int:
    return ocr_pages.max_image_pixels_setting()


def max_pages() -> int:
    return ocr_pages.max_pages_setting()


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


def check_and_derive(path: Path, kind: str, out_dir: Path) -> Derived:
    """Checks a scan completely and writes ``page-NNNN.jpg`` and ``thumb.jpg`` into
    ``out_dir``. Raises `Rejected` with the reason."""
    if kind == "pdf":
        pages = _pdf(path, out_dir)
    elif kind in ("jpeg", "png", "tiff"):
        pages = _image(path, kind, out_dir)
    else:
        raise Rejected("type", "不支持的文件类型：只接受 JPEG、PNG、TIFF、PDF 或 ZIP")
    return Derived(kind, pages)


def _tail(path: Path, size: int = 2048) -> bytes:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        length = fh.tell()
        fh.seek(max(0, length - size))
        return fh.read()


def _truncated() -> Rejected:
    return Rejected("truncated", "文件不完整（可能上传或扫描中断），请重新扫描或上传")


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


def _image(path: Path, kind: str, out_dir: Path) -> int:
    tail = _tail(path)
    if kind == "jpeg" and b"\xff\xd9" not in tail:
        raise _truncated()
    if kind == "png" and b"IEND" not in tail:
        raise _truncated()
    limit = max_pixels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DecompressionBombWarning, corrupt EXIF: judged below
        try:
            image = Image.open(path)
        except Image.DecompressionBombError:
            raise _bomb(limit) from None
        except (OSError, SyntaxError, ValueError):
            raise Rejected("corrupt", "图像文件已损坏，无法读取") from None
        with image:
            frames = getattr(image, "n_frames", 1) if kind == "tiff" else 1
            if frames > max_pages():
                raise _too_many_pages(frames)
            for index in range(frames):
                if frames > 1:
                    image.seek(index)
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise Rejected("corrupt", "图像尺寸无效")
                if width * height > limit:
                    raise _bomb(limit, width, height)
                as_is = frames == 1 and _viewable_as_is(image, kind)
                try:
                    page = _prepare(image, kind, draft=not as_is)
                except Image.DecompressionBombError:
                    raise _bomb(limit) from None
                except (OSError, SyntaxError, ValueError, EOFError):
                    raise _truncated() from None
                if as_is:  # the original is already a fine page image: copy, don't re-encode
                    shutil.copyfile(path, out_dir / "page-0001.jpg")
                    _write_thumbnail(page, out_dir)
                else:
                    _write_page(page, out_dir, index + 1)
    return frames


def _viewable_as_is(image: Image.Image, kind: str) -> bool:
    """A JPEG scan that browsers show as it is: greyscale or RGB, upright, not too large."""
    return (
        kind == "jpeg"
        and image.mode in ("L", "RGB")
        and max(image.size) <= PAGE_LONG_SIDE
        and image.getexif().get(0x0112, 1) == 1
    )


def _prepare(image: Image.Image, kind: str, draft: bool = True) -> Image.Image:
    """Decodes the current frame fully (raising on truncated data), upright, reduced to the
    viewing size, in a mode JPEG can hold."""
    if kind == "jpeg" and draft:
        image.draft(
            "RGB" if image.mode in ("RGB", "CMYK", "YCbCr") else None, (PAGE_LONG_SIDE,) * 2
        )
    image.load()
    if kind == "jpeg" and _grey_filled(image):
        raise _truncated()
    page = ImageOps.exif_transpose(image) if kind == "jpeg" else image.copy()
    page.thumbnail((PAGE_LONG_SIDE, PAGE_LONG_SIDE), reducing_gap=2.0)
    return _jpeg_mode(page)


def _grey_filled(image: Image.Image) -> bool:
    """libjpeg fills what is missing of a cut-off JPEG with mid-grey (every sample 128) and
    says nothing, so a truncated scan padded with an end marker decodes "fine". Its last row
    is then exactly that grey from edge to edge, which no scanned page is."""
    width, height = image.size
    extrema = image.crop((0, height - 1, width, height)).getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    return all(low == high == 128 for low, high in bands)


def _jpeg_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("1", "I;16", "I;16B", "I;16L", "I", "F"):
        return image.convert("L") if image.mode == "1" else ImageOps.autocontrast(_to_l(image))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _to_l(image: Image.Image) -> Image.Image:
    """16-bit and float greyscale to 8 bits."""
    return image.point(lambda v: v / 256).convert("L") if image.mode != "F" else image.convert("L")


def _write_page(page: Image.Image, out_dir: Path, number: int) -> None:
    page.save(out_dir / f"page-{number:04d}.jpg", "JPEG", quality=PAGE_QUALITY)
    if number == 1:
        _write_thumbnail(page, out_dir)


def _write_thumbnail(page: Image.Image, out_dir: Path) -> None:
    thumb = page.copy() if page.mode in ("L", "RGB") else _jpeg_mode(page)
    thumb.thumbnail(THUMB_BOX, reducing_gap=2.0)
    thumb.save(out_dir / "thumb.jpg", "JPEG", quality=THUMB_QUALITY)


def _bomb(limit: int, width: int = 0, height: int = 0) -> Rejected:
    size = f"（{width}×{height}）" if width else ""
    return Rejected(
        "pixels",
        f"图像像素过多{size}，超过上限 {limit // 1_000_000} 百万像素：请降低扫描分辨率（300 dpi 即可）",
    )


def _too_many_pages(count: int) -> Rejected:
    return Rejected("pages", f"文件有 {count} 页，超过上限 {max_pages()} 页：请拆分后上传")


def _pdf(path: Path, out_dir: Path) -> int:
    if b"%%EOF" not in _tail(path, 1024):
        raise _truncated()
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise _encrypted() from None
        raise Rejected("corrupt", "PDF 文件已损坏，无法打开") from None
    try:
        if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
            raise _encrypted()
        count = len(pdf)
        if count == 0:
            raise Rejected("corrupt", "PDF 文件没有页面")
        if count > max_pages():
            raise _too_many_pages(count)
        limit = max_pixels()
        for index in range(count):
            page = pdf[index]
            try:
                width, height = page.get_size()
                if width <= 0 or height <= 0:
                    raise Rejected("corrupt", f"PDF 第 {index + 1} 页尺寸无效")
                scale = min(PAGE_LONG_SIDE / max(width, height), PDF_MAX_SCALE)
                if width * height * scale * scale > limit:
                    raise _bomb(limit)
                bitmap = page.render(scale=scale, may_draw_forms=False)
                image = bitmap.to_pil()
                _write_page(_jpeg_mode(image), out_dir, index + 1)
                bitmap.close()
            except pdfium.PdfiumError:
                raise Rejected(
                    "corrupt", f"PDF 第 {index + 1} 页无法显示，文件可能已损坏"
                ) from None
            finally:
                page.close()
        return count
    finally:
        pdf.close()


def _encrypted() -> Rejected:
    return Rejected("encrypted", "PDF 已加密（设有密码或权限限制）：请上传未加密的文件")
