"""Filters of the policy index (year, issuer, topic, validity) and the yearly training summary.

The parsing of query parameters is pure: unknown or malformed values are ignored rather than
answered with an error page, so a stale bookmarked URL still shows the list. Applying the
filters to a queryset lives in :mod:`cms.models`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from cms.visibility import VALIDITY_CHOICES

__all__ = [
    "SHANXI_CITIES",
    "PolicyFilters",
    "TrainingYear",
    "summarize_training_sessions",
]

_VALIDITY_CODES = {code for code, _ in VALIDITY_CHOICES}

# The eleven prefecture-level cities of Shanxi: the policy asks each city to train once a year.
SHANXI_CITIES = [
    "太原市",
    "大同市",
    "朔州市",
    "忻州市",
    "阳泉市",
    "吕梁市",
    "晋中市",
    "长治市",
    "晋城市",
    "临汾市",
    "运城市",
]


def _int_or_none(value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    value = str(value).strip()
    if not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


@dataclass(frozen=True)
class PolicyFilters:
    year: int | None = None
    issuer: int | None = None
    topic: int | None = None
    validity: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PolicyFilters:
        validity = (params.get("validity") or "").strip()
        return cls(
            year=_int_or_none(params.get("year"), 1949, 2099),
            issuer=_int_or_none(params.get("issuer"), 1, 2**62),
            topic=_int_or_none(params.get("topic"), 1, 2**62),
            validity=validity if validity in _VALIDITY_CODES else None,
        )

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.year, self.issuer, self.topic, self.validity))

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for pagination links)."""
        return {
            name: str(value)
            for name, value in (
                ("year", self.year),
                ("issuer", self.issuer),
                ("topic", self.topic),
                ("validity", self.validity),
            )
            if value is not None
        }


@dataclass
class TrainingYear:
    """Training sessions of one year: how many per city, and which cities have none yet."""

    year: int
    sessions: list = field(default_factory=list)
    per_city: dict[str, int] = field(default_factory=dict)
    cities_missing: list[str] = field(default_factory=list)

    @property
    def cities_done(self) -> int:
        return sum(1 for city in SHANXI_CITIES if self.per_city.get(city))


def summarize_training_sessions(
    sessions: Iterable, *, cities: list[str] = SHANXI_CITIES
) -> list[TrainingYear]:
    """Groups sessions (objects with ``held_on: date`` and ``city: str``) by year, newest first."""
    by_year: dict[int, list] = defaultdict(list)
    for session in sessions:
        held_on: date = session.held_on
        by_year[held_on.year].append(session)
    years = []
    for year in sorted(by_year, reverse=True):
        items = sorted(by_year[year], key=lambda s: (s.held_on, s.city))
        counts = Counter(s.city for s in items)
        years.append(
            TrainingYear(
                year=year,
                sessions=items,
                per_city=dict(counts),
                cities_missing=[c for c in cities if not counts.get(c)],
            )
        )
    return years
