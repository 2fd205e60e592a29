"""发文字号 (文号) of official documents, e.g. ``晋民发〔2023〕1号``.

A 文号 is 机关代字 + 〔年份〕 + 序号 + 号 (GB/T 9704-2012 §7.2.4: the year in hexagonal
brackets 〔〕, the sequence number without leading zeros). Staff type it with whatever brackets
their keyboard offers — ``[2023]``, ``［2023］``, ``(2023)``, ``（2023）``, ``【2023】`` or
``[ 2023 ]`` — and the seed itself writes ``长民发[2023]18号``; all of these are normalised to
〔〕. Anything else is rejected with a Chinese message a clerk can act on.

Pure functions, no Django, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["DocNumber", "DocNumberError", "normalize_doc_number", "parse_doc_number"]

MIN_YEAR = 1949
MAX_YEAR = 2099

# After NFKC, full-width ［］（） become []() and ﹝﹞ become 〔〕.
_OPENERS = "〔[(【〖"
_CLOSERS = "〕])】〗"
_PATTERN = re.compile(
    r"^(?P<agency>[\u3400-\u4dbf\u4e00-\u9fffA-Za-z]{1,20})"
    rf"(?P<open>[{re.escape(_OPENERS)}])(?P<year>\d{{4}})(?P<close>[{re.escape(_CLOSERS)}])"
    r"(?P<seq>\d{1,6})号?$"
)
EXAMPLE = "晋民发〔2023〕1号"


class DocNumberError(ValueError):
    """A 文号 that cannot be read. ``code`` is machine-readable, ``message`` is Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, order=True)
class DocNumber:
    """A parsed 文号. ``str()`` gives the canonical form with 〔〕 and no leading zeros."""

    agency_code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return f"{self.agency_code}〔{self.year}〕{self.seq}号"


def parse_doc_number(text: str) -> DocNumber:
    """Reads a 文号, accepting the bracket variants staff type; raises DocNumberError."""
    if text is None or not str(text).strip():
        raise DocNumberError("EMPTY", "请填写文号，例如 " + EXAMPLE + "。")
    value = unicodedata.normalize("NFKC", str(text))
    value = re.sub(r"\s+", "", value)
    match = _PATTERN.match(value)
    if not match:
        if not re.search(r"\d{4}", value):
            raise DocNumberError(
                "YEAR_MISSING",
                f"文号“{text}”缺少四位数字的年份：年份应写在〔〕内，例如 {EXAMPLE}。",
            )
        if not any(c in value for c in _OPENERS + _CLOSERS):
            raise DocNumberError(
                "BRACKETS",
                f"文号“{text}”的年份应使用六角括号〔〕括起，例如 {EXAMPLE}。",
            )
        raise DocNumberError(
            "FORMAT",
            f"文号“{text}”格式不正确：应为“机关代字〔年份〕序号号”，例如 {EXAMPLE}。",
        )
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DocNumberError("YEAR_RANGE", f"文号“{text}”中的年份 {year} 不在合理范围内。")
    seq = int(match["seq"])
    if seq == 0:
        raise DocNumberError("SEQ_ZERO", f"文号“{text}”的序号不能为 0。")
    return DocNumber(agency_code=match["agency"], year=year, seq=seq)


def normalize_doc_number(text: str) -> str:
    """The canonical form of a 文号 (``晋民发〔2023〕1号``); raises DocNumberError."""
    return str(parse_doc_number(text))
