"""Argument types shared by the commands that select case files (`find`, `spot_check`):
``--filter FIELD=VALUE`` against the fields a command offers, and positive counts. A bad
value is a usage error (exit 2, docs/commands.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection


def filter_type(fields: Collection[str]) -> Callable[[str], tuple[str, str]]:
    """An argparse type for FIELD=VALUE with FIELD among ``fields``."""

    def parse(text: str) -> tuple[str, str]:
        field, sep, value = text.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"应为 FIELD=VALUE：{text}")
        if field not in fields:
            raise argparse.ArgumentTypeError(f"未知的筛选字段 {field}；可用：{', '.join(fields)}")
        return field, value

    return parse


def positive_int(text: str) -> int:
    """A whole number of at least 1, in ASCII digits."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"应为正整数：{text}")
    return int(text)
