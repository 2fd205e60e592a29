"""archive.pgcopy: ``insert_ignoring_conflicts`` stores what ``bulk_create(ignore_conflicts=True)``
stores, by COPY on PostgreSQL (the suite's database in CI and ``make test``); ``any_id`` selects
what an IN list selects, as one array there."""

from __future__ import annotations

import pytest
from django.utils import timezone

from archive import pgcopy
from archive.models import CaseFile
from tests.archive.conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.mark.skipif("not pgcopy.enabled()", reason="COPY exists on PostgreSQL only")
def test_a_row_breaking_a_unique_constraint_is_skipped_and_the_others_get_their_defaults(db):
    kept, fresh = make_person(1, subsidies=("living",)), make_person(2, subsidies=())
    before = CaseFile.objects.get(person=kept)
    now = timezone.now()
    pgcopy.insert_ignoring_conflicts(
        CaseFile,
        [
            {"person_id": kept.pk, "county_id": kept.county_id, "completeness": 7},
            {"person_id": fresh.pk, "county_id": fresh.county_id, "missing": ",id_card,"},
        ],
        now,
    )
    assert CaseFile.objects.get(person=kept).completeness == before.completeness
    opened = CaseFile.objects.get(person=fresh)
    assert (opened.completeness, opened.missing, opened.document_count) == (0, ",id_card,", 0)
    assert opened.created_at == opened.updated_at == now


def test_ids_as_one_array_select_what_an_in_list_of_them_selects(db):
    from archive.models import Enrolment, Person

    people = [make_person(i, subsidies=("living", "nursing")) for i in range(1, 5)]
    wanted = {people[0].pk, people[2].pk, 10**9}  # and an id no one has
    assert set(Person.objects.filter(pk__in=pgcopy.any_id(wanted))) == {people[0], people[2]}
    assert set(Enrolment.objects.filter(person_id__in=pgcopy.any_id(wanted))) == set(
        Enrolment.objects.filter(person_id__in=list(wanted))
    )
    assert not Person.objects.filter(pk__in=pgcopy.any_id(set())).exists()
