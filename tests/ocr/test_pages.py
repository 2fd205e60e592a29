"""Loading files into page images (ocr.pages): type by content, multi-page TIFF and PDF,
EXIF orientation, and the rejections — unsupported, damaged, encrypted, bombs."""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ocr import pages, samples
from ocr.pages import PageError
from tests.ocr.helpers import one_page_pdf


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_type_is_sniffed_from_content_not_the_extension(tmp_path: Path):
    path = tmp_path / "scan.pdf"  # actually a PNG
    path.write_bytes(png_bytes(Image.new("L", (40, 30), 255)))
    [page] = pages.load_pages(path)
    assert page.size == (40, 30)


def test_jpeg_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(buffer, "JPEG", exif=exif.tobytes())
    [page] = pages.load_pages(buffer.getvalue())
    assert page.size == (20, 60)


def test_multi_page_tiff_gives_every_page_in_order(tmp_path: Path, person):
    first = Image.new("L", (50, 40), 255)
    second = Image.new("L", (70, 30), 0)
    path = samples.save_tiff([first, second, first], tmp_path / "scan.tif")
    loaded = pages.load_pages(path)
    assert [page.size for page in loaded] == [(50, 40), (70, 30), (50, 40)]
    assert pages.count_pages(path) == 3


def test_pdf_pages_are_rendered_at_the_configured_resolution(tmp_path: Path):
    images = [Image.new("L", (400, 200), 255), Image.new("L", (200, 400), 255)]
    path = samples.save_pdf(images, tmp_path / "scan.pdf", dpi=100)  # 4×2 in and 2×4 in
    loaded = pages.load_pages(path, dpi=150)
    assert [page.size for page in loaded] == [(600, 300), (300, 600)]
    assert all(page.mode == "L" for page in loaded)


def test_rgba_png_is_flattened_on_white():
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    [page] = pages.load_pages(png_bytes(image))
    assert page.mode == "RGB"
    assert page.getpixel((5, 5)) == (255, 255, 255)


def reason(source) -> PageError:
    with pytest.raises(PageError) as caught:
        pages.load_pages(source)
    return caught.value


def test_unsupported_type_is_rejected_with_the_accepted_types_named():
    error = reason(b"GIF89a" + b"\x00" * 100)
    assert error.code == "UNSUPPORTED"
    assert "JPEG、PNG、TIFF" in error.message


def test_heic_photo_gets_a_hint_about_the_phone_setting():
    error = reason(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100)
    assert error.code == "UNSUPPORTED"
    assert "HEIC" in error.message


def test_empty_file_is_rejected(tmp_path: Path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert reason(path).code == "EMPTY"


def test_truncated_jpeg_is_rejected_as_damaged():
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buffer, "JPEG")
    error = reason(buffer.getvalue()[:300])
    assert error.code == "UNREADABLE"
    assert "损坏" in error.message


def test_corrupt_pdf_is_rejected_as_damaged():
    error = reason(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    assert error.code == "UNREADABLE"
    assert "PDF" in error.message


def test_encrypted_pdf_is_rejected_with_a_clear_message():
    # A standard security handler whose user password is not empty: PDFium asks for it.
    encrypt = (
        "<< /Filter /Standard /V 1 /R 2 /O <" + "ab" * 32 + "> /U <" + "cd" * 32 + "> /P -4 >>"
    )
    data = one_page_pdf(
        trailer_extra="/Encrypt 4 0 R /ID [<" + "01" * 16 + "><" + "01" * 16 + ">]",
        extra=(encrypt,),
    )
    error = reason(data)
    assert error.code == "ENCRYPTED"
    assert "加密" in error.message


def test_png_declaring_a_huge_size_is_rejected_before_decoding():
    # A decompression bomb: a few bytes that declare 100 000 × 100 000 pixels.
    data = bytearray(png_bytes(Image.new("L", (1, 1), 255)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 100_000, 100_000)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    error = reason(bytes(data))
    assert error.code == "TOO_LARGE"
    assert "过大" in error.message


def test_image_over_the_configured_pixel_limit_is_rejected():
    with pytest.raises(PageError) as caught:
        pages.load_pages(png_bytes(Image.new("L", (300, 300), 255)), max_pixels=50_000)
    assert caught.value.code == "TOO_LARGE"


def test_giant_pdf_page_is_rejected_rather_than_rendered():
    error = reason(one_page_pdf(media_box="[0 0 200000 200000]"))
    assert error.code == "TOO_LARGE"


def test_large_pdf_page_is_rendered_at_a_lower_resolution_to_fit():
    # A3-ish page over a small limit: shrunk, not refused, while still readable (>=100 dpi).
    [page] = pages.load_pages(
        one_page_pdf(media_box="[0 0 842 1191]"), max_pixels=20_000_000, dpi=600
    )
    assert page.width * page.height <= 20_000_000
    assert page.width >= 842 * 100 / 72


def test_too_many_pages_are_rejected(tmp_path: Path):
    path = samples.save_tiff([Image.new("L", (10, 10), 255)] * 3, tmp_path / "many.tif")
    with pytest.raises(PageError) as caught:
        pages.load_pages(path, max_pages=2)
    assert caught.value.code == "TOO_MANY_PAGES"


def test_missing_file_is_reported():
    assert reason("/nonexistent/scan.jpg").code == "UNREADABLE"


def test_page_error_survives_pickling_for_task_queues():
    error = pickle.loads(pickle.dumps(PageError("ENCRYPTED", "已加密")))  # noqa: S301
    assert (error.code, error.message) == ("ENCRYPTED", "已加密")


def test_sixteen_bit_grayscale_scan_is_scaled_not_clipped_to_white():
    [page] = pages.load_pages(png_bytes(Image.new("I;16", (8, 8), 32768)))
    assert page.mode == "L"
    assert 120 <= page.getpixel((0, 0)) <= 135
