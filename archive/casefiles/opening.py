"""Which case file: one per beneficiary and county enrolment, opened when the person is
enrolled (`open_case_files`: import, demo, migration) — never by viewing a page."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product

from django.db import connection
from django.utils import timezone

from archive.casefiles.checklist import (
    FACT_COLUMNS,
    Pair,
    completeness_from,
    current_checklist,
    facts_from,
    facts_query,
    refresh,
)
from archive.models import (
    CaseFile,
    Enrolment,
    Person,
)

# --- Which case file ------------------------------------------------------------------------


def enrolment_counties(person: Person) -> list[str]:
    return sorted(set(person.enrolments.values_list("county_id", flat=True)))


def default_county(person: Person) -> str:
    """The county of a person's case file when the upload does not say: their enrolment
    county (their own county if enrolled in several), else their hukou county."""
    counties = enrolment_counties(person)
    if person.county_id in counties or not counties:
        return person.county_id
    return counties[0]


def open_case_files(pairs: Iterable[Pair]) -> int:
    """Opens (建档) the case file of each enrolment's person and county that has none yet, with
    its completeness; returns how many were opened.

    Every enrolled person has a case file from the moment they are enrolled — by import, the
    demo or a migration — so the case-file list, its completeness filters and search count
    everyone, and no page view ever writes (docs/archive.md). A new file has no documents, so
    its completeness depends on its facts alone (:data:`FACT_COLUMNS`, each 0 or 1): it is
    worked out here for each of their 64 combinations, and one ``INSERT … SELECT`` joins every
    file's facts (:func:`facts_query`) to it. The files of a 100 000-row import are never
    read into Python: fetching their facts and sending the rows back took 3.6 s of its 20 s
    (docs/benchmarks.md, the roster import rows).
    """
    wanted = set(pairs)
    if not wanted:
        return 0
    checklist = current_checklist()
    outcomes = []
    for values in product((0, 1), repeat=len(FACT_COLUMNS)):
        done = completeness_from(checklist, facts_from(values), {})
        outcomes.append((*values, done["completeness"], done["missing"]))
    facts, params = facts_query(wanted, without_case_file=True)
    columns = (*FACT_COLUMNS, "completeness", "missing")
    # A table of the outcomes as a UNION of one-row SELECTs: SQLite names no columns of a
    # VALUES list, and its driver counts no rows of a statement that begins WITH.
    named = "SELECT " + ", ".join(f"%s AS {c}" for c in columns)
    unnamed = " UNION ALL SELECT " + ", ".join(["%s"] * len(columns))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    statement = f"""
        INSERT INTO {CaseFile._meta.db_table} (person_id, county_id, completeness, missing,
            document_count, page_count, checklist_id, created_at, updated_at)
        SELECT f.person_id, f.county_id, o.completeness, o.missing, 0, 0, %s, %s, %s
        FROM ({facts}) AS f
        JOIN ({named}{unnamed * (len(outcomes) - 1)}) AS o
            ON {" AND ".join(f"o.{c} = f.{c}" for c in FACT_COLUMNS)}
        WHERE true
        ON CONFLICT DO NOTHING"""  # noqa: S608 (names from the models' meta, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [checklist.pk, now, now, *params, *(v for outcome in outcomes for v in outcome)],
        )
        return cursor.rowcount


def open_on_enrolment(sender, instance: Enrolment, created: bool, raw: bool = False, **kwargs):
    """``post_save`` of an enrolment: its person's case file in its county is opened with it,
    or, when it exists, its completeness recomputed (a new subsidy requires other documents)."""
    if created and not raw and not open_case_files([(instance.person_id, instance.county_id)]):
        existing = CaseFile.objects.select_related("person").get(
            person_id=instance.person_id, county_id=instance.county_id
        )
        refresh(existing)


def open_case_files_of(enrolments) -> int:
    """:func:`open_case_files` for the people and counties of an enrolment queryset."""
    return open_case_files(enrolments.values_list("person_id", "county_id").distinct())


def case_file_for(person: Person, county_id: str | None = None) -> CaseFile:
    """The person's case file in a county, created (with its completeness) if missing."""
    county_id = county_id or default_county(person)
    case_file, created = CaseFile.objects.get_or_create(person=person, county_id=county_id)
    if created:
        case_file.person = person
        refresh(case_file)
    return case_file
