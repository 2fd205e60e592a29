"""Which case file: one per beneficiary and county enrolment, opened when the person is
enrolled (`open_case_files`: import, demo, migration) — never by viewing a page."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from archive import pgcopy
from archive.casefiles.checklist import (
    Pair,
    completeness_from,
    current_checklist,
    facts_of,
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


OPEN_BATCH = 2000


def open_case_files(pairs: Iterable[Pair]) -> int:
    """Opens (建档) the case file of each enrolment's person and county that has none yet, with
    its completeness; returns how many were opened.

    Every enrolled person has a case file from the moment they are enrolled — by import, the
    demo or a migration — so the case-file list, its completeness filters and search count
    everyone, and no page view ever writes (docs/archive.md). Set-wise: a new file has no
    documents, so its completeness needs only the enrolment facts, three queries per batch.
    """
    checklist = current_checklist()
    wanted = sorted(set(pairs))
    opened = 0
    for start in range(0, len(wanted), OPEN_BATCH):
        batch = wanted[start : start + OPEN_BATCH]
        existing = set(
            CaseFile.objects.filter(
                person_id__in=pgcopy.any_id({p for p, _c in batch})
            ).values_list("person_id", "county_id")
        )
        fresh = [pair for pair in batch if pair not in existing]
        facts = facts_of(fresh)
        rows = (
            {
                "person_id": person,
                "county_id": county,
                **completeness_from(checklist, facts[(person, county)], {}),
            }
            for person, county in fresh
        )
        if pgcopy.enabled():
            pgcopy.insert_ignoring_conflicts(CaseFile, rows, timezone.now())
        else:
            CaseFile.objects.bulk_create((CaseFile(**row) for row in rows), ignore_conflicts=True)
        opened += len(fresh)
    return opened


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
