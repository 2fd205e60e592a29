"""archive.pgcopy: ``rows_table`` and ``any_id`` give a statement many rows or ids as one
parameter (an array on PostgreSQL, the suite's database in CI and ``make test``; JSON or the
values on SQLite) and select what the rows themselves would."""

from __future__ import annotations

import pytest
from django.db import connection

from archive import pgcopy
from tests.archive.conftest import make_person

pytestmark = pytest.mark.django_db


def test_rows_as_one_table_parameter_join_as_the_rows_themselves_with_their_types(db):
    rows = [(7, "140425"), (10**12, "1404"), (7, "14'04;--")]
    query, params = pgcopy.rows_table(rows, {"person_id": "bigint", "county_id": "text"})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id, county_id FROM ({query}) AS r", params)  # noqa: S608
        assert sorted(cursor.fetchall()) == sorted(rows)
    assert len(params) == (2 if pgcopy.enabled() else 1)


def test_ids_as_one_array_select_what_an_in_list_of_them_selects(db):
    from archive.models import Enrolment, Person

    people = [make_person(i, subsidies=("living", "nursing")) for i in range(1, 5)]
    wanted = {people[0].pk, people[2].pk, 10**9}  # and an id no one has
    assert set(Person.objects.filter(pk__in=pgcopy.any_id(wanted))) == {people[0], people[2]}
    assert set(Enrolment.objects.filter(person_id__in=pgcopy.any_id(wanted))) == set(
        Enrolment.objects.filter(person_id__in=list(wanted))
    )
    assert not Person.objects.filter(pk__in=pgcopy.any_id(set())).exists()
