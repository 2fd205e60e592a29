"""Calendar-month arithmetic, the one home for it: subsidies are paid, stopped and charted by
month, and stepping by a number of days (335, 32) lands in the wrong month in December or
after a 29 February. Everything that moves between months uses these functions."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` calendar months after (or, if negative, before) the
    month of ``day``."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def last_months(today: date, count: int = 12) -> list[date]:
    """The first days of the last ``count`` calendar months, oldest first, this one included."""
    return [add_months(today, offset) for offset in range(1 - count, 1)]
