"""Parsers for single spreadsheet / CSV / OCR cells.

Staff data arrives as whatever Excel, a CSV export or OCR produced: strings (possibly with
full-width digits), ints, floats, ``datetime``/``date`` objects from openpyxl, or ``None``.
Each parser accepts exactly the forms listed in ``spec/numbers.md`` and ``spec/formats.md``
and raises :class:`CellError` for anything else: a wrong value silently guessed into a
subsidy record is worse than a per-cell error the clerk can fix.

Empty cells: ``parse_date``, ``parse_expiry`` and ``parse_amount`` return ``None`` and
``parse_payee`` returns its default ``本人``; every other parser raises its own code with a
"为空" message. Whether a column is required is the importer's decision; it can test
:func:`is_blank` first.

Error codes (``CellError.code``):

``DATE_FORMAT``  not one of the accepted date forms
``DATE_INVALID`` an accepted form, but not a real calendar date (e.g. 2023-02-29)
``CATEGORY``     not a disability category (视力…多重, with or without 残疾, or 1–7)
``GRADE``        not a disability grade (一级…四级, 1–4, 壹…肆, Ⅰ…Ⅳ, with or without 级)
``YES_NO``       not 是/否, Y/N, 1/0, TRUE/FALSE
``MONTH``        not a month (``YYYY-MM``, ``YYYY年M月``) or not a real month
``FAMILY_TYPE``  not 低保 / 低保边缘 / 特困 / 一般
``SEX``          not 男 / 女
``PAYEE``        not 本人 / 儿童福利机构
``AMOUNT``       not a non-negative amount in 元 with at most 2 decimals
``DIVISION``     not a 6-, 9- or 12-digit administrative division code
"""

from __future__ import annotations

import enum
import math
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from core.numbers import CATEGORIES, GRADES, to_halfwidth

__all__ = [
    "CATEGORY_WORDS",
    "DIVISION_LENGTHS",
    "FAMILY_ALIASES",
    "FAMILY_TYPES",
    "GRADE_NUMERALS",
    "LONG_TERM",
    "LONG_TERM_WORDS",
    "PAYEES",
    "CellError",
    "Expiry",
    "LongTerm",
    "format_expiry",
    "is_blank",
    "parse_amount",
    "parse_category",
    "parse_date",
    "parse_division_code",
    "parse_expiry",
    "parse_family_type",
    "parse_grade",
    "parse_month",
    "parse_payee",
    "parse_sex",
    "parse_yes_no",
]


class CellError(ValueError):
    """A cell could not be parsed; ``code`` for machines, ``message`` (Chinese) for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the exception picklable (task queues ship exceptions between processes).
        return (type(self), (self.code, self.message))


class LongTerm(enum.Enum):
    """Marker type for an open-ended certificate (有效期至 "长期").

    An enum member rather than a magic date or string: it cannot be confused with an empty
    cell (``None``) nor compared with a date by accident, and type checkers see it.
    """

    LONG_TERM = "长期"

    def __str__(self) -> str:
        return self.value


LONG_TERM: Final = LongTerm.LONG_TERM

#: A certificate expiry: a date, ``LONG_TERM`` (never expires), or ``None`` (not known).
Expiry = date | Literal[LongTerm.LONG_TERM] | None

FAMILY_TYPES: tuple[str, ...] = ("低保", "低保边缘", "特困", "一般")
PAYEES: tuple[str, ...] = ("本人", "儿童福利机构")

_DATE_FORMS = "2030年05月01日、2030年5月1日、2030.05.01、2030-05-01、2030/5/1、20300501"
_DATE_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DATE_SEP = re.compile(r"(\d{4})([./-])(\d{1,2})\2(\d{1,2})")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTH_ISO = re.compile(r"(\d{4})-(\d{1,2})")
_MONTH_CN = re.compile(r"(\d{4})年(\d{1,2})月")
LONG_TERM_WORDS = frozenset({"长期", "长期有效"})
CATEGORY_WORDS: dict[str, int] = {
    name.removesuffix("残疾"): number for number, name in CATEGORIES.items()
}
GRADE_NUMERALS: dict[str, int] = {
    "1": 1, "一": 1, "壹": 1, "Ⅰ": 1, "I": 1,
    "2": 2, "二": 2, "贰": 2, "Ⅱ": 2, "II": 2,
    "3": 3, "三": 3, "叁": 3, "Ⅲ": 3, "III": 3,
    "4": 4, "四": 4, "肆": 4, "Ⅳ": 4, "IV": 4,
}  # fmt: skip
_YES = frozenset({"是", "Y", "1", "TRUE"})
_NO = frozenset({"否", "N", "0", "FALSE"})
FAMILY_ALIASES: dict[str, str] = {
    "低保": "低保",
    "低保家庭": "低保",
    "低保边缘": "低保边缘",
    "低保边缘家庭": "低保边缘",
    "特困": "特困",
    "特困人员": "特困",
    "一般": "一般",
    "一般家庭": "一般",
}
_SEXES: dict[str, str] = {"男": "男", "男性": "男", "女": "女", "女性": "女"}
_AMOUNT_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_AMOUNT_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_AMOUNT_UNITS = ("元/月", "元每月", "元")
#: Digits of a county, township and village code (户籍区划代码).
DIVISION_LENGTHS = (6, 9, 12)
_CENT = Decimal("0.01")


def _text(raw: object) -> str:
    """Cell value as trimmed half-width text (full-width digits are common in Chinese input)."""
    return to_halfwidth(str(raw)).strip()


def is_blank(raw: object) -> bool:
    """True for ``None`` and for strings that are empty after trimming (incl. full-width space)."""
    return raw is None or (isinstance(raw, str) and _text(raw) == "")


def _integral(raw: float | Decimal) -> int | None:
    """The int a numeric cell holds exactly (Excel gives ``3.0`` for 3), else ``None``."""
    if isinstance(raw, float) and not math.isfinite(raw):
        return None
    if isinstance(raw, Decimal) and not raw.is_finite():
        return None
    return int(raw) if raw == int(raw) else None


def _number_as_text(raw: object) -> str | None:
    """Digits of an int / integral float / Decimal cell; ``None`` if ``raw`` is not numeric."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float | Decimal):
        whole = _integral(raw)
        return None if whole is None else str(whole)
    return None


def parse_date(raw: object) -> date | None:
    """Parse a date cell; empty → ``None``.

    Accepts ``date``/``datetime`` objects (openpyxl), an 8-digit number (a cell holding
    20300501), and the strings 2030年05月01日, 2030年5月1日, 2030.05.01, 2030-05-01, 2030/5/1,
    20300501. Whitespace anywhere is ignored because OCR inserts it between characters.
    """
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        raise CellError("DATE_FORMAT", f"无法识别的日期「{raw}」，可用格式：{_DATE_FORMS}")
    numeric = _number_as_text(raw)
    text = numeric if numeric is not None else "".join(_text(raw).split())
    if text in LONG_TERM_WORDS:
        raise CellError("DATE_FORMAT", "此栏须填写具体日期，不接受「长期」")
    for pattern in (_DATE_CN, _DATE_SEP, _DATE_COMPACT):
        match = pattern.fullmatch(text)
        if match:
            parts = [group for group in match.groups() if group.isdigit()]
            year, month, day = (int(part) for part in parts)
            try:
                return date(year, month, day)
            except ValueError:
                raise CellError("DATE_INVALID", f"「{text}」不是有效日期") from None
    raise CellError("DATE_FORMAT", f"无法识别的日期「{_text(raw)}」，可用格式：{_DATE_FORMS}")


def parse_expiry(raw: object) -> Expiry:
    """Parse a certificate expiry (有效期至): a date, ``LONG_TERM`` for 长期, or ``None`` if empty.

    长期 (also 长期有效) is a distinct value, not "no date": an open-ended certificate never
    expires, whereas an empty cell means the expiry is unknown.
    """
    if isinstance(raw, str) and "".join(_text(raw).split()) in LONG_TERM_WORDS:
        return LONG_TERM
    if raw is LONG_TERM:
        return LONG_TERM
    return parse_date(raw)


def format_expiry(expiry: Expiry) -> str:
    """Inverse of :func:`parse_expiry` for storage and JSON: ISO date, ``"长期"`` or ``""``."""
    if expiry is None:
        return ""
    if expiry is LONG_TERM:
        return LONG_TERM.value
    return expiry.isoformat()


def parse_category(raw: object) -> int:
    """Parse a disability category (视力…多重, with or without 残疾, or the digit) to 1–7."""
    if is_blank(raw):
        raise CellError("CATEGORY", "残疾类别为空")
    if isinstance(raw, bool):
        raise CellError("CATEGORY", f"无法识别的残疾类别「{raw}」")
    numeric = _number_as_text(raw)
    text = numeric if numeric is not None else _text(raw)
    number: int | None
    if text.isascii() and text.isdigit():
        number = int(text)
    else:
        number = CATEGORY_WORDS.get(text.removesuffix("残疾"))
    if number is None or number not in CATEGORIES:
        raise CellError(
            "CATEGORY",
            f"无法识别的残疾类别「{text}」，应为视力、听力、言语、肢体、智力、精神、多重"
            "（可带“残疾”二字）或数字1–7",
        )
    return number


def parse_grade(raw: object) -> int:
    """Parse a disability grade (三级, 3级, 3, 叁级, Ⅲ级, …) to 1–4."""
    if is_blank(raw):
        raise CellError("GRADE", "残疾等级为空")
    if isinstance(raw, bool):
        raise CellError("GRADE", f"无法识别的残疾等级「{raw}」")
    numeric = _number_as_text(raw)
    text = numeric if numeric is not None else _text(raw)
    number = GRADE_NUMERALS.get(text.removesuffix("级").strip())
    if number is None or number not in GRADES:
        raise CellError(
            "GRADE", f"无法识别的残疾等级「{text}」，应为一级至四级（或1–4、壹–肆、Ⅰ–Ⅳ）"
        )
    return number


def parse_yes_no(raw: object) -> bool:
    """Parse a yes/no cell: 是/否, Y/N, 1/0, TRUE/FALSE (any case), or a bool / 0 / 1 number."""
    if isinstance(raw, bool):
        return raw
    if is_blank(raw):
        raise CellError("YES_NO", "是否栏为空，应填是或否")
    numeric = _number_as_text(raw)
    text = (numeric if numeric is not None else _text(raw)).upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError("YES_NO", f"无法识别的是否值「{_text(raw)}」，应为是/否、Y/N、1/0或TRUE/FALSE")


def parse_month(raw: object) -> date:
    """Parse a month (``YYYY-MM``, ``YYYY年M月``, or a date) to the first day of that month.

    Subsidies are paid per month, so a month is represented as the date of its first day.
    """
    if isinstance(raw, datetime):
        return raw.date().replace(day=1)
    if isinstance(raw, date):
        return raw.replace(day=1)
    if is_blank(raw):
        raise CellError("MONTH", "年月为空")
    text = "".join(_text(raw).split())
    for pattern in (_MONTH_ISO, _MONTH_CN):
        match = pattern.fullmatch(text)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12 and year >= 1:
                return date(year, month, 1)
            raise CellError("MONTH", f"「{text}」不是有效年月")
    raise CellError("MONTH", f"无法识别的年月「{text}」，可用格式：2026-05、2026年5月")


def parse_family_type(raw: object) -> str:
    """Parse 家庭类别 to one of 低保 / 低保边缘 / 特困 / 一般 (also accepts ``…家庭``, 特困人员)."""
    if is_blank(raw):
        raise CellError("FAMILY_TYPE", "家庭类别为空，应为低保、低保边缘、特困或一般")
    text = _text(raw)
    if text in FAMILY_ALIASES:
        return FAMILY_ALIASES[text]
    raise CellError("FAMILY_TYPE", f"无法识别的家庭类别「{text}」，应为低保、低保边缘、特困或一般")


def parse_sex(raw: object) -> str:
    """Parse 性别 to 男 / 女 (also 男性 / 女性)."""
    if is_blank(raw):
        raise CellError("SEX", "性别为空")
    text = _text(raw)
    if text in _SEXES:
        return _SEXES[text]
    raise CellError("SEX", f"无法识别的性别「{text}」，应为男或女")


def parse_payee(raw: object) -> str:
    """Parse 护理补贴发放对象: 本人 (also when empty, the default) or 儿童福利机构."""
    if is_blank(raw):
        return "本人"
    text = _text(raw)
    if text in PAYEES:
        return text
    raise CellError("PAYEE", f"无法识别的发放对象「{text}」，应为本人或儿童福利机构")


def parse_amount(raw: object) -> Decimal | None:
    """Parse an amount in 元/月 to a non-negative ``Decimal`` with 2 places; empty → ``None``.

    More than two decimals is rejected rather than rounded: money is never guessed.
    """
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        raise CellError("AMOUNT", f"无法识别的金额「{raw}」")
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        # repr() is the shortest string that round-trips, so 61.1 stays 61.1, not 61.0999…
        value = Decimal(repr(raw))
    else:
        text = "".join(_text(raw).split())
        for unit in _AMOUNT_UNITS:
            text = text.removesuffix(unit)
        if _AMOUNT_GROUPED.fullmatch(text):
            text = text.replace(",", "")
        if not _AMOUNT_PLAIN.fullmatch(text):
            raise CellError("AMOUNT", f"无法识别的金额「{_text(raw)}」，应为非负数，单位元/月")
        value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise CellError("AMOUNT", f"金额「{raw}」应为非负数")
    try:
        rounded = value.quantize(_CENT)
    except InvalidOperation:
        raise CellError("AMOUNT", f"金额「{raw}」过大") from None
    if rounded != value:
        raise CellError("AMOUNT", f"金额「{raw}」最多保留两位小数")
    return rounded


def parse_division_code(raw: object) -> str:
    """Parse a division code (户籍区划代码): 6 digits (county), 9 (township) or 12 (village).

    Returned as given (normalised to ASCII digits); use :func:`core.divisions.county_of` for the county.
    """
    if is_blank(raw) or isinstance(raw, bool):
        raise CellError("DIVISION", "区划代码为空")
    numeric = _number_as_text(raw)
    text = numeric if numeric is not None else "".join(_text(raw).split())
    if not (text.isascii() and text.isdigit() and len(text) in DIVISION_LENGTHS):
        raise CellError("DIVISION", f"区划代码「{text}」应为6位（县）、9位（乡镇）或12位（村）数字")
    return text
