"""The beneficiaries the engine compares, from the database: **one** aggregated query over
the enrolments (joined in the database to the person, the current certificate and the current
family status), streamed with a server-side cursor into the CSV the engine reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Case, FilteredRelation, IntegerField, Max, Min, Q, Value, When

from archive.models import Enrolment


def enrolment_key(person_id: int, county_code: str) -> str:
    return f"{person_id}:{county_code}"


def _parse_key(key: str | None) -> tuple[int, str] | None:
    if not key:
        return None
    person, _, county = key.partition(":")
    return int(person), county


def beneficiary_queryset(prefix: str):
    """One row per enrolment county (person × county) with what the engine needs.

    Stopped enrolments are left out (the person no longer receives that subsidy); suspended
    ones count as received, so that e.g. a death during a suspension is still found. The
    division's own enrolments come with those elsewhere of the people registered (户籍) in it,
    so that 应享未享 does not flag someone who is paid by another county.
    """
    living = Case(
        When(subsidy="living", then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    nursing = Case(
        When(subsidy="nursing", then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    within = Q(county__code__startswith=prefix) | Q(person__county__code__startswith=prefix)
    return (
        Enrolment.objects.exclude(status=Enrolment.Status.STOPPED)
        .filter(within)
        .annotate(
            cert=FilteredRelation(
                "person__certificates", condition=Q(person__certificates__is_current=True)
            ),
            fam=FilteredRelation(
                "person__family_statuses",
                condition=Q(person__family_statuses__end_date__isnull=True),
            ),
        )
        .values(
            "person_id",
            "county_id",
            "person__id_number",
            "person__name",
            "person__hukou_code",
            "cert__number",
            "cert__category",
            "cert__grade",
            "cert__expiry_date",
            "cert__long_term",
            "fam__family_type",
        )
        .annotate(living=Max(living), nursing=Max(nursing), start=Min("start_month"))
        .order_by()
    )


def beneficiary_rows(prefix: str) -> Iterator[tuple[Any, ...]]:
    """The rows of :data:`review.engine.BENEFICIARY_COLUMNS`, streamed."""
    for row in beneficiary_queryset(prefix).iterator(chunk_size=5000):
        county = row["county_id"]
        hukou = row["person__hukou_code"] or ""
        division_code = hukou if hukou.startswith(county) else county
        yield (
            enrolment_key(row["person_id"], county),
            row["person__id_number"],
            row["person__name"],
            division_code,
            county,
            row["cert__number"] or None,
            row["cert__category"],
            row["cert__grade"],
            row["cert__expiry_date"],
            bool(row["cert__long_term"]),
            row["fam__family_type"],
            bool(row["living"]),
            bool(row["nursing"]),
            row["start"],
        )
