"""A tiny PDF writer for Chinese text, used for demo training slides and in tests.

It writes one A4 page per list of lines in Adobe's standard ``STSong-Light`` font with the
``UniGB-UCS2-H`` encoding: the font is not embedded (readers substitute an installed CJK font)
and the text layer is exact, so pypdfium2 extracts the characters back. No dependency.
"""

from __future__ import annotations

__all__ = ["make_pdf"]

_FONT = (
    b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
    b"/DescendantFonts [%d 0 R] >>"
)
_CID_FONT = (
    b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
    b"/FontDescriptor %d 0 R /DW 1000 >>"
)
_DESCRIPTOR = (
    b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
    b"/FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120 "
    b"/CapHeight 880 /StemV 93 >>"
)


def _hex(text: str) -> str:
    # UCS-2: characters outside the BMP are replaced, which Chinese policy text never needs.
    return "".join(f"{ord(c):04X}" if ord(c) <= 0xFFFF else "FFFD" for c in text)


def make_pdf(pages: list[list[str]], *, title: str = "") -> bytes:
    """A PDF with one page per item of ``pages``, each a list of text lines."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"")
    cid_font = add(b"")
    descriptor = add(_DESCRIPTOR)
    objects[font - 1] = _FONT % cid_font
    objects[cid_font - 1] = _CID_FONT % descriptor
    kids = []
    for lines in pages or [[]]:
        ops = ["BT /F1 20 Tf 26 TL 60 780 Td"]
        for line in lines:
            ops.append(f"<{_hex(line)}> Tj T*")
        ops.append("ET")
        content = "\n".join(ops).encode("ascii")
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        page = add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (pages_obj, font, stream)
        )
        kids.append(page)
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    info = add(b"<< /Title <FEFF%s> >>" % _hex(title).encode("ascii")) if title else None

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
