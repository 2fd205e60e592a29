"""Page ranges as archivists write them ("1-2", "第3～5页", "６"), for splitting one scan into
several documents (archive/documents/operations.py ``split``).

A split must account for every page exactly once, in parts of at least one page, so that the
withdrawn source loses nothing: :func:`check_cover` says in Chinese what is missing or doubled.
"""

from __future__ import annotations

import re
import unicodedata

_RANGE = re.compile(r"^第?(\d+)(?:页)?(?:\s*[-–—~～至到]\s*第?(\d+))?页?$")


class PageRangeError(ValueError):
    """A page range that cannot be used; the message says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_range(text: str, page_count: int) -> tuple[int, int]:
    """``(first, last)`` of one written range, within 1..page_count."""
    cleaned = unicodedata.normalize("NFKC", text).replace(" ", "").strip()
    match = _RANGE.match(cleaned)
    if not match:
        raise PageRangeError(f"页码“{text}”无法识别：请写成 3 或 3-5")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first > last:
        raise PageRangeError(f"页码“{text}”起始页大于结束页")
    if first < 1 or last > page_count:
        raise PageRangeError(f"页码“{text}”超出范围：该文件共 {page_count} 页")
    return first, last


def check_cover(ranges: list[tuple[int, int]], page_count: int) -> None:
    """Every page in exactly one range, and at least two ranges (one range is no split)."""
    if len(ranges) < 2:
        raise PageRangeError("拆分至少要分成两份")
    seen: dict[int, int] = {}
    for first, last in ranges:
        for page in range(first, last + 1):
            if page in seen:
                raise PageRangeError(f"第 {page} 页被分到了两份中")
            seen[page] = first
    missing = [page for page in range(1, page_count + 1) if page not in seen]
    if missing:
        listed = "、".join(str(p) for p in missing[:10])
        raise PageRangeError(f"第 {listed} 页没有分到任何一份：每一页都须分入一份")


def label(first: int, last: int) -> str:
    return f"第{first}页" if first == last else f"第{first}-{last}页"
