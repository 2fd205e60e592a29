"""archive.pgcopy: ``rows_table`` gives a statement many rows as one parameter per column (an
array on PostgreSQL, the suite's database in CI and ``make test``; one JSON text on SQLite)
that selects what the rows themselves would; COPY's values."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from archive import pgcopy

pytestmark = pytest.mark.django_db


def test_rows_as_one_table_parameter_join_as_the_rows_themselves_with_their_types(db):
    rows = [(7, "140425"), (10**12, "1404"), (7, "14'04;--")]
    query, params = pgcopy.rows_table(rows, {"person_id": "bigint", "county_id": "text"})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id, county_id FROM ({query}) AS r", params)  # noqa: S608
        assert sorted(cursor.fetchall()) == sorted(rows)
    assert len(params) == (2 if pgcopy.enabled() else 1)


def test_copy_values_give_a_json_column_jsonb_and_leave_other_values_as_they_are():
    from psycopg.types.json import Jsonb

    from archive.models import DocumentVersion, Enrolment

    now = timezone.now()
    names = ("ocr_fields", "ocr_engine", "uploaded_at")
    values = pgcopy.row_values([DocumentVersion._meta.get_field(n) for n in names], now)
    ocr, engine, uploaded = values({"ocr_fields": {"name": "张三"}, "ocr_engine": "rapidocr"})
    assert isinstance(ocr, Jsonb) and ocr.obj == {"name": "张三"}
    assert (engine, uploaded) == ("rapidocr", now)
    default, *_ = values({})
    assert isinstance(default, Jsonb) and default.obj == {}
    status = pgcopy.row_values([Enrolment._meta.get_field("status")], now)
    assert status({"status": Enrolment.Status.STOPPED}) == [Enrolment.Status.STOPPED]


@pytest.mark.skipif("not pgcopy.enabled()", reason="COPY exists on PostgreSQL only")
def test_a_choices_member_is_copied_as_its_value(db):
    from archive.models import Enrolment

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE copied (status text)")
        pgcopy.copy_rows(cursor, "copied", ["status"], [[Enrolment.Status.STOPPED]])
        cursor.execute("SELECT status FROM copied")
        assert cursor.fetchall() == [("stopped",)]
