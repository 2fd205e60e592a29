"""The roster's headers (``docs/formats.md``) and how a file's headers are matched onto them."""

from __future__ import annotations

from collections.abc import Sequence

from core.numbers import to_halfwidth
from core.tabular import TableError

NAME = "姓名"
ID = "公民身份号码"
SEX = "性别"
CERT = "残疾人证号"
CATEGORY = "残疾类别"
GRADE = "残疾等级"
EXPIRY = "证件有效期至"
HUKOU = "户籍区划代码"
ADDRESS = "户籍地址"
FAMILY = "家庭类别"
LIVING = "享受生活补贴"
LIVING_AMOUNT = "生活补贴标准"
NURSING = "享受护理补贴"
NURSING_AMOUNT = "护理补贴标准"
PAYEE = "护理补贴发放对象"
START = "补贴起始年月"
GUARDIAN = "监护人"
PHONE = "联系电话"

#: Every header of the roster, in the order of ``docs/formats.md``.
ALL_HEADERS: tuple[str, ...] = (
    NAME, ID, SEX, CERT, CATEGORY, GRADE, EXPIRY, HUKOU, ADDRESS, FAMILY,
    LIVING, LIVING_AMOUNT, NURSING, NURSING_AMOUNT, PAYEE, START, GUARDIAN, PHONE,
)  # fmt: skip
REQUIRED_HEADERS: tuple[str, ...] = (NAME, ID, HUKOU, FAMILY, LIVING, NURSING)


def _squash(header: str) -> str:
    """Header text without any whitespace, in half-width form.

    Chinese spreadsheets pad two-character headers to align them (``姓　名``) and carry stray
    spaces around them; both denote the same column.
    """
    return "".join(to_halfwidth(str(header)).split())


def match_headers(headers: Sequence[str], filename: str = "") -> tuple[dict[str, str], list[str]]:
    """Map the file's headers onto the roster's: ``{canonical: as written}`` and the unknowns.

    :func:`core.tabular.read_table` already strips surrounding spaces; here spaces *inside*
    a header are ignored too.  Missing required headers (all of them listed) and two headers
    that mean the same column are whole-file errors, raised as :class:`TableError` like every
    other whole-file problem.
    """
    label = f"文件「{filename}」" if filename else "文件"
    known = set(ALL_HEADERS)
    found: dict[str, str] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for header in headers:
        key = _squash(header)
        if key not in known:
            unknown.append(header)
        elif key in found:
            duplicates.append(f"「{found[key]}」与「{header}」")
        else:
            found[key] = header
    if duplicates:
        raise TableError(
            "TABLE_DUPLICATE_HEADER",
            f"{label}的表头重复：{'、'.join(duplicates)}。",
            duplicates,
        )
    missing = [h for h in REQUIRED_HEADERS if h not in found]
    if missing:
        raise TableError(
            "TABLE_MISSING_HEADERS",
            f"{label}缺少必需的列：{'、'.join(missing)}（表头须在第一行）。",
            missing,
        )
    return found, unknown
