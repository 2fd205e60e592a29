"""The counties a roster row may belong to, read once per file so validation needs no query."""

from __future__ import annotations

from dataclasses import dataclass

from archive.models import Division
from core.divisions import BUILT_IN, county_of, current_county


@dataclass(frozen=True)
class Counties:
    """The counties a roster row may belong to, and the successors of abolished ones.

    Passed into validation so that it needs no query; :func:`load_counties` reads it from the
    ``Division`` table, :meth:`built_in` from the shipped tree (for tests of the pure layer).
    """

    current: frozenset[str]
    successors: dict[str, str]

    @classmethod
    def built_in(cls) -> Counties:
        rows = [r for r in BUILT_IN if r.level == "county"]
        return cls(
            frozenset(r.code for r in rows if r.successor is None),
            {r.code: r.successor for r in rows if r.successor},
        )

    def resolve(self, code: str) -> str | None:
        """The current county of any division code (old or new), or ``None`` if unknown."""
        county = current_county(county_of(code), self.successors)
        return county if county in self.current else None


def load_counties() -> Counties:
    """Counties from the ``Division`` table (one query), including imported ones."""
    current: set[str] = set()
    successors: dict[str, str] = {}
    for code, successor in Division.objects.filter(level=Division.Level.COUNTY).values_list(
        "code", "successor_id"
    ):
        if successor:
            successors[code] = successor
        else:
            current.add(code)
    return Counties(frozenset(current), successors)
