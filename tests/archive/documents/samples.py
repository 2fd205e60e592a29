"""Small synthetic scans for the document tests: images, PDFs (scanned, digital, encrypted),
TIFFs and ZIPs, all made in memory in milliseconds."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile

from PIL import Image, ImageDraw


def image(kind: str = "JPEG", size=(120, 170), seed: int = 0, mode: str = "RGB") -> bytes:
    """A distinct little "scan": the seed changes its content (and so its SHA-256)."""
    rng = random.Random(seed)
    picture = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(picture)
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle((x, y, x + 20, y + 4), fill="black")
    draw.text((5, 5), f"#{seed}", fill="black")
    out = io.BytesIO()
    picture.save(out, kind)
    return out.getvalue()


def jpeg(seed: int = 0, size=(120, 170)) -> bytes:
    return image("JPEG", size, seed)


def png(seed: int = 0) -> bytes:
    return image("PNG", seed=seed)


def tiff(pages: int = 3, seed: int = 0) -> bytes:
    frames = [Image.open(io.BytesIO(image("PNG", seed=seed + i))) for i in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    return out.getvalue()


def scanned_pdf(pages: int = 2, seed: int = 0) -> bytes:
    frames = [
        Image.open(io.BytesIO(image("PNG", seed=seed + i))).convert("RGB") for i in range(pages)
    ]
    out = io.BytesIO()
    frames[0].save(out, "PDF", save_all=True, append_images=frames[1:], resolution=72)
    return out.getvalue()


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer + b">>\n"
    return out + b"startxref\n%d\n%%%%EOF\n" % xref


_PAGES = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
]


def digital_pdf(text: str = "Digital 2026") -> bytes:
    """A born-digital one-page PDF with real text."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    return _pdf(
        [
            *_PAGES,
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def _rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def encrypted_pdf(user_password: bool = True) -> bytes:
    """An RC4-40 (R2) encrypted PDF: with a user password (cannot be opened), or with only an
    owner password (opens, but restricted)."""
    file_id = b"\xab" * 16
    owner = b"\x11" * 32
    permissions = -4
    if user_password:
        user = b"\x22" * 32  # matches no password: pdfium asks for one
    else:
        key = hashlib.md5(_PAD + owner + struct.pack("<i", permissions) + file_id).digest()[:5]  # noqa: S324
        user = _rc4(key, _PAD)  # the empty user password opens it
    encrypt = (
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + owner.hex().encode()
        + b"> /U <"
        + user.hex().encode()
        + b"> /P -4 >>"
    )
    return _pdf(
        [
            *_PAGES[:2],
            _PAGES[2]
            .replace(b" /Contents 4 0 R", b"")
            .replace(b"/Resources << /Font << /F1 5 0 R >> >> ", b""),
            encrypt,
        ],
        b"/Encrypt 4 0 R /ID [<"
        + file_id.hex().encode()
        + b"> <"
        + file_id.hex().encode()
        + b">] ",
    )


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG that claims to be width×height pixels (a decompression bomb)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    data = zlib.compress(row * 16, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def scripted_pdf(obfuscated: bool = False) -> bytes:
    """A one-page PDF that runs JavaScript when opened (/OpenAction → /JS), its names written
    with #-escapes when `obfuscated` (/Open#41ction, /J#53)."""
    action = (
        b"/Open#41ction << /S /JavaScript /J#53 (app.alert\\(1\\)) >>"
        if obfuscated
        else b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>"
    )
    stream = b"BT /F1 24 Tf 72 720 Td (Hello) Tj ET"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + action + b" >>",
            *_PAGES[1:],
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def truncated_jpeg_padded(seed: int = 3) -> bytes:
    """A JPEG cut off at 60 % of its bytes with an end-of-image marker appended: it looks
    whole, and libjpeg fills the missing part with mid-grey without a word."""
    data = jpeg(seed, size=(600, 800))
    return data[: int(len(data) * 0.6)] + b"\xff\xd9"
