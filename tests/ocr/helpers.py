"""Helpers for the OCR tests: hand-built PDFs for the cases Pillow cannot write."""

from __future__ import annotations


def build_pdf(objects: list[str], trailer_extra: str = "") -> bytes:
    """A minimal PDF with a correct cross-reference table, from object bodies (1-based)."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer_extra} >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def one_page_pdf(
    media_box: str = "[0 0 200 200]", trailer_extra: str = "", extra: tuple = ()
) -> bytes:
    return build_pdf(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            f"<< /Type /Page /Parent 2 0 R /MediaBox {media_box} >>",
            *extra,
        ],
        trailer_extra,
    )
