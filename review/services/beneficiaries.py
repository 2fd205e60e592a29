"""The beneficiaries the engine compares, from the database: **one** aggregated query over
the enrolments (joined in the database to the person, the current certificate and the current
family status), written into the CSV the engine reads — by the database itself on PostgreSQL."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

from django.db import connection

from archive import pgcopy
from archive.models import Enrolment
from review.engine import write_beneficiaries_csv


def _parse_key(key: str | None) -> tuple[int, str] | None:
    """The person and county of an enrolment key, ``person:county`` (``_BENEFICIARIES``)."""
    if not key:
        return None
    person, _, county = key.partition(":")
    return int(person), county


# One row per enrolment county (person × county) with what the engine needs, named and
# ordered as review.engine.BENEFICIARY_COLUMNS, every value computed by the database. The
# enrolments are grouped first, on their own narrow rows, and only then joined to the person,
# the current certificate (one per person) and the open family status (one per person):
# grouping the joined rows by all eleven columns, as the ORM can only write it, sorted 1.25 M
# wide rows and took 2.6 s of a province run against 1.8–2.2 s (docs/benchmarks.md). Plain
# SQL that SQLite and PostgreSQL both run (tests/review/test_beneficiaries.py).
#
# Stopped enrolments are left out (the person no longer receives that subsidy); suspended
# ones count as received, so that e.g. a death during a suspension is still found. The
# division's own enrolments come with those elsewhere of the people registered (户籍) in it,
# so that 应享未享 does not flag someone who is paid by another county. The 户籍 code is the
# division when it lies in the paying county, else the county itself.
_BENEFICIARIES = """
SELECT CAST(e.person_id AS TEXT) || ':' || e.county_id AS enrolment_key,
       p.id_number AS id_number,
       p.name AS name,
       CASE WHEN substr(p.hukou_code, 1, length(e.county_id)) = e.county_id
            THEN p.hukou_code ELSE e.county_id END AS division_code,
       e.county_id AS county_code,
       NULLIF(c.number, '') AS cert_number,
       c.category AS category,
       c.grade AS grade,
       c.expiry_date AS cert_expiry,
       COALESCE(c.long_term, FALSE) AS cert_long_term,
       f.family_type AS family_type,
       e.receives_living AS receives_living,
       e.receives_nursing AS receives_nursing,
       e.start_month AS start_month
FROM (
    SELECT person_id, county_id,
           MAX(CASE WHEN subsidy = 'living' THEN 1 ELSE 0 END) AS receives_living,
           MAX(CASE WHEN subsidy = 'nursing' THEN 1 ELSE 0 END) AS receives_nursing,
           MIN(start_month) AS start_month
    FROM archive_enrolment
    WHERE status <> %s
    GROUP BY person_id, county_id
) AS e
JOIN archive_person AS p ON p.id = e.person_id
LEFT JOIN archive_certificate AS c ON c.person_id = p.id AND c.is_current
LEFT JOIN archive_familystatus AS f ON f.person_id = p.id AND f.end_date IS NULL
WHERE substr(e.county_id, 1, %s) = %s OR substr(p.county_id, 1, %s) = %s
"""


def write_beneficiaries(prefix: str, path: Path, *, copy: bool | None = None) -> None:
    """The engine's beneficiaries CSV of the division ``prefix``, written at ``path``.

    On PostgreSQL the database writes the file itself (``COPY … TO STDOUT``, a province's
    million rows in a few seconds, docs/benchmarks.md); elsewhere the rows are streamed through
    Python. Both write the same values: NULL as an empty cell, dates in ISO form, and booleans
    as DuckDB reads them (``t``/``f``, ``1``/``0``, ``True``/``False``). ``copy`` chooses the
    way (default: COPY where the database has it).
    """
    params = [Enrolment.Status.STOPPED.value, len(prefix), prefix, len(prefix), prefix]
    if pgcopy.enabled() if copy is None else copy:
        pgcopy.copy_out(_BENEFICIARIES, params, path)
        return
    with connection.cursor() as cursor:
        cursor.execute(_BENEFICIARIES, params)
        batches = iter(lambda: cursor.fetchmany(5000), [])
        write_beneficiaries_csv(chain.from_iterable(batches), path)
