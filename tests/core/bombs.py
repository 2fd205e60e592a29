"""Hostile and broken workbooks, generated on the spot (nothing binary is checked in).

Each returns the bytes of an .xlsx that a real Excel workbook was turned into: the header
row 姓名 / 公民身份号码 and one person, with one part replaced or patched."""

from __future__ import annotations

import io
import random
import string
import struct
import zipfile
from collections.abc import Iterable

from openpyxl import Workbook

HEADERS = ["姓名", "公民身份号码"]
ID = "11010519491231002X"
SST_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
STRINGS = "xl/sharedStrings.xml"
SHEET = "xl/worksheets/sheet1.xml"


def workbook(rows: list[list[object]] | None = None) -> bytes:
    wb = Workbook()
    for row in [HEADERS, ["张三", ID]] if rows is None else rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_part(name: str, chunks: Iterable[bytes], base: bytes | None = None) -> bytes:
    """The workbook with part `name` replaced by the streamed chunks (deflated)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base or workbook())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info))
        with dst.open(name, "w") as part:
            for chunk in chunks:
                part.write(chunk)
    return out.getvalue()


def with_strings(texts: list[str]) -> bytes:
    """The workbook with a shared-strings part holding these texts."""
    body = b"".join(f"<si><t>{t}</t></si>".encode() for t in texts)
    return with_part(STRINGS, [SST_HEAD, body, b"</sst>"])


def shared_strings_bomb(count: int = 10_000_000) -> bytes:
    """Ten million shared strings: ~170 MB of XML in a few hundred KB."""

    def chunks():
        yield SST_HEAD
        block = b"<si><t>a</t></si>" * 100_000
        for _ in range(count // 100_000):
            yield block
        yield b"</sst>"

    return with_part(STRINGS, chunks())


def huge_string_bomb(megabytes: int = 256) -> bytes:
    """One shared string of hundreds of MB."""

    def chunks():
        yield SST_HEAD + b"<si><t>"
        block = b"a" * (1024 * 1024)
        for _ in range(megabytes):
            yield block
        yield b"</t></si></sst>"

    return with_part(STRINGS, chunks())


def random_text(length: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters) for _ in range(length))


def long_text_part(length: int) -> bytes:
    """A shared string of `length` incompressible characters (passes the ratio check)."""
    text = random_text(length).encode()
    return with_part(STRINGS, [SST_HEAD, b"<si><t>", text, b"</t></si></sst>"])


def malformed_sheet() -> bytes:
    return with_part(
        SHEET,
        [b'<?xml version="1.0"?><worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c'],
    )


def entity_sheet() -> bytes:
    """Billion laughs: a DTD that expands one entity into gigabytes."""
    dtd = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    return with_part(SHEET, [dtd, b"]><worksheet><sheetData/></worksheet>"])


def patch_declared_size(data: bytes, name: str, size: int) -> bytes:
    """The same ZIP with the unpacked size of part `name` declared as `size` (a lie)."""
    buf = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x01\x02", 24, 28, 46),  # central directory
        (b"PK\x03\x04", 22, 26, 30),  # local header
    ):
        pos = buf.find(signature)
        while pos != -1:
            (name_len,) = struct.unpack_from("<H", buf, pos + name_len_at)
            if bytes(buf[pos + name_at : pos + name_at + name_len]) == encoded:
                struct.pack_into("<I", buf, pos + size_at, size)
            pos = buf.find(signature, pos + 4)
    return bytes(buf)
