"""Month arithmetic (core/months.py) on every month of a year and around 29 February."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from core.months import add_months, last_months, month_end


@pytest.mark.parametrize("month", range(1, 13))
def test_last_months_are_the_twelve_calendar_months_ending_with_this_one(month: int) -> None:
    today = date(2026, month, 15)
    months = last_months(today)
    assert len(months) == 12
    assert months[-1] == date(2026, month, 1)
    assert months[0] == add_months(today, -11)
    assert len({(m.year, m.month) for m in months}) == 12
    assert all(later == add_months(earlier, 1) for earlier, later in itertools.pairwise(months))


@pytest.mark.parametrize("day", [date(2024, 2, 29), date(2028, 2, 29), date(2026, 12, 31)])
def test_last_months_on_month_ends_and_leap_days(day: date) -> None:
    months = last_months(day)
    assert months[-1] == day.replace(day=1)
    assert months[0] == date(day.year - 1 + (day.month == 12), (day.month % 12) + 1, 1)


def test_add_months_crosses_year_ends_both_ways() -> None:
    assert add_months(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert add_months(date(2027, 1, 1), -1) == date(2026, 12, 1)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 1)
    assert add_months(date(2026, 5, 20), 0) == date(2026, 5, 1)


def test_month_end_knows_leap_years() -> None:
    assert month_end(2024, 2) == date(2024, 2, 29)
    assert month_end(2026, 2) == date(2026, 2, 28)
    assert month_end(2026, 12) == date(2026, 12, 31)
