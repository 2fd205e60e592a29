"""Opening an uploaded ZIP of scans safely, and reading the filing rule from member names.

Refused whole (nothing stored, one clear reason): a Word, Excel, PowerPoint or OpenDocument
file (each is a ZIP inside, but a file to print or export to PDF, not scans to unpack), a
damaged ZIP, more than
``ARCHIVE_ZIP_MAX_ENTRIES`` entries (default 2 000), a member whose path leaves the ZIP
(``..``, absolute paths, drive letters), a ZIP inside the ZIP, or more than
``ARCHIVE_ZIP_MAX_BYTES`` (default 4 GB) once unpacked. Members are then read one by one,
each at most UPLOAD_MAX_BYTES whatever its header claims; a bad member is reported and the
others are filed.

Filing rule (docs/formats.md): ``<公民身份号码>_<anything>.<ext>``, or any folder named by the ID
number, files to that person's case file; the others go to the inbox.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

from archive.documents.scans import Rejected, sniff
from core.numbers import NumberError, parse_id

JUNK = {".ds_store", "thumbs.db", "desktop.ini"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_ID_PREFIX = re.compile(r"^([0-9]{17}[0-9Xx])(?:[_\-－—\s.]|$)")
#: Office Open XML parts by the folder of their main part (``[Content_Types].xml`` marks the
#: format), and OpenDocument (a ``mimetype`` member first).
OFFICE_PARTS = {"word/": "Word 文档", "xl/": "Excel 工作簿", "ppt/": "PowerPoint 演示文稿"}


def max_entries() -> int:
    return settings.ARCHIVE_ZIP_MAX_ENTRIES


def max_total_bytes() -> int:
    return settings.ARCHIVE_ZIP_MAX_BYTES


@dataclass
class Member:
    info: zipfile.ZipInfo
    name: str  # the decoded path inside the ZIP
    id_number: str | None  # from the file or folder name, validated

    @property
    def encrypted(self) -> bool:
        return bool(self.info.flag_bits & 0x1)


def _decoded(info: zipfile.ZipInfo) -> str:
    """Member names from Chinese Windows are GBK without the UTF-8 flag; zipfile reads them
    as CP437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("gbk")
    return name.replace("\\", "/")


def _traverses(name: str) -> bool:
    return name.startswith("/") or bool(_DRIVE.match(name)) or ".." in name.split("/")


def _is_junk(path: PurePosixPath) -> bool:
    return (
        "__MACOSX" in path.parts
        or path.name.lower() in JUNK
        or path.name.startswith("._")
        or not path.name
    )


def id_from_name(name: str) -> str | None:
    """The valid ID number a member's file name starts with (``<ID>_…``), or the nearest
    folder named by one."""
    path = PurePosixPath(name)
    candidates = []
    match = _ID_PREFIX.match(path.name)
    if match:
        candidates.append(match.group(1))
    candidates.extend(reversed(path.parts[:-1]))
    for candidate in candidates:
        try:
            return parse_id(candidate).value
        except NumberError:
            continue
    return None


def open_zip(path: Path) -> tuple[zipfile.ZipFile, list[Member]]:
    """Opens and checks a ZIP; returns it with the members to file (junk and folders left
    out). Raises `Rejected` for the whole ZIP."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Rejected("corrupt", "ZIP 文件已损坏，无法打开") from None
    try:
        infos = archive.infolist()
        office = _office_kind(infos)
        if office:
            raise Rejected(
                "office",
                f"这是{office}，不是扫描件的 ZIP 压缩包：档案只收扫描件（JPEG、PNG、TIFF、PDF），"
                "请将文件打印后扫描，或导出为 PDF 后上传",
            )
        if len(infos) > max_entries():
            raise Rejected(
                "zip_entries",
                f"ZIP 内有 {len(infos)} 个条目，超过上限 {max_entries()} 个：请分批打包",
            )
        members: list[Member] = []
        total = 0
        for info in infos:
            name = _decoded(info)
            if _traverses(name):
                raise Rejected(
                    "zip_traversal",
                    f"ZIP 内的路径“{name}”指向压缩包以外（路径穿越），整个 ZIP 已拒收",
                )
            if info.is_dir() or _is_junk(PurePosixPath(name)):
                continue
            total += info.file_size
            member = Member(info, name, id_from_name(name))
            if _is_nested(archive, member):
                raise Rejected(
                    "zip_nested", f"ZIP 内含压缩包“{name}”：不接受嵌套的 ZIP，请解开后重新打包"
                )
            members.append(member)
        if total > max_total_bytes():
            raise Rejected("zip_size", "ZIP 解压后总大小超过上限，请分批打包")
        if not members:
            raise Rejected("empty", "ZIP 内没有文件")
    except BaseException:
        archive.close()
        raise
    return archive, members


def _office_kind(infos: list[zipfile.ZipInfo]) -> str | None:
    """What kind of office document a ZIP is, or None for an ordinary ZIP."""
    names = {info.filename for info in infos}
    if infos and infos[0].filename == "mimetype" and "META-INF/manifest.xml" in names:
        return "OpenDocument 文档"
    if "[Content_Types].xml" not in names:
        return None
    for folder, kind in OFFICE_PARTS.items():
        if any(name.startswith(folder) for name in names):
            return kind
    return "Office 文档"


def _is_nested(archive: zipfile.ZipFile, member: Member) -> bool:
    if member.name.lower().endswith((".zip", ".jar", ".7z", ".rar")):
        return True
    if member.encrypted or member.info.file_size == 0:
        return False
    try:
        with archive.open(member.info) as fh:
            return sniff(fh.read(8)) == "zip"
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
        return False  # reported when the member itself is read
