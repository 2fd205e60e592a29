"""The beneficiaries the engine compares, from the database: **one** aggregated query over
the enrolments (joined in the database to the person, the current certificate and the current
family status), written into the CSV the engine reads — by the database itself on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from django.db.models import (
    Case,
    CharField,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf

from archive import pgcopy
from archive.models import Enrolment
from review.engine import write_beneficiaries_csv


def enrolment_key(person_id: int, county_code: str) -> str:
    return f"{person_id}:{county_code}"


def _parse_key(key: str | None) -> tuple[int, str] | None:
    if not key:
        return None
    person, _, county = key.partition(":")
    return int(person), county


#: The engine's columns (:data:`review.engine.BENEFICIARY_COLUMNS`, in that order) → the name
#: of each in :func:`beneficiary_queryset` (``start_month`` is a field of the model there).
COLUMNS = {
    "enrolment_key": "enrolment_key",
    "id_number": "id_number",
    "name": "name",
    "division_code": "division_code",
    "county_code": "county_code",
    "cert_number": "cert_number",
    "category": "category",
    "grade": "grade",
    "cert_expiry": "cert_expiry",
    "cert_long_term": "cert_long_term",
    "family_type": "family_type",
    "receives_living": "receives_living",
    "receives_nursing": "receives_nursing",
    "start_month": "first_month",
}


def beneficiary_queryset(prefix: str) -> QuerySet:
    """One row per enrolment county (person × county) with what the engine needs, every value
    computed by the database and named as :data:`COLUMNS` says.

    Stopped enrolments are left out (the person no longer receives that subsidy); suspended
    ones count as received, so that e.g. a death during a suspension is still found. The
    division's own enrolments come with those elsewhere of the people registered (户籍) in it,
    so that 应享未享 does not flag someone who is paid by another county. The 户籍 code is the
    division when it lies in the paying county, else the county itself.
    """

    def receives(subsidy: str) -> Max:
        return Max(
            Case(When(subsidy=subsidy, then=Value(1)), default=Value(0)),
            output_field=IntegerField(),
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
            enrolment_key=Concat(
                Cast("person_id", CharField()), Value(":"), "county_id", output_field=CharField()
            ),
            id_number=F("person__id_number"),
            name=F("person__name"),
            division_code=Case(
                When(person__hukou_code__startswith=F("county_id"), then="person__hukou_code"),
                default="county_id",
                output_field=CharField(),
            ),
            county_code=F("county_id"),
            cert_number=NullIf("cert__number", Value("")),
            category=F("cert__category"),
            grade=F("cert__grade"),
            cert_expiry=F("cert__expiry_date"),
            cert_long_term=Coalesce("cert__long_term", Value(False)),
            family_type=F("fam__family_type"),
        )
        .annotate(
            receives_living=receives("living"),
            receives_nursing=receives("nursing"),
            first_month=Min("start_month"),
        )
        .order_by()
    )


def write_beneficiaries(prefix: str, path: Path, *, copy: bool | None = None) -> None:
    """The engine's beneficiaries CSV of the division ``prefix``, written at ``path``.

    On PostgreSQL the database writes the file itself (``COPY … TO STDOUT``, a province's
    million rows in a few seconds, docs/benchmarks.md); elsewhere the rows are streamed through
    Python. Both write the same values: NULL as an empty cell, dates in ISO form, and booleans
    as DuckDB reads them (``t``/``f``, ``1``/``0``, ``True``/``False``). ``copy`` chooses the
    way (default: COPY where the database has it).
    """
    rows = beneficiary_queryset(prefix)
    if pgcopy.enabled() if copy is None else copy:
        pgcopy.copy_out(rows, COLUMNS, path)
    else:
        write_beneficiaries_csv(rows.values_list(*COLUMNS.values()).iterator(chunk_size=5000), path)
