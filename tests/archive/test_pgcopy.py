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


@pytest.mark.skipif("not pgcopy.enabled()", reason="COPY exists on PostgreSQL only")
def test_rows_copied_in_binary_read_back_as_written_in_every_column_type(db):
    from datetime import date
    from decimal import Decimal

    from psycopg.types.json import Jsonb

    from archive.models import Enrolment

    now = timezone.now()
    row = [
        7,
        10**12,
        "张三's \\ \t 行",
        date(2031, 2, 28),
        now,
        True,
        Decimal("812.50"),
        Jsonb({"a": [1]}),
    ]
    columns = ["small", "big", "name", "day", "at", "yes", "amount", "extra"]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE typed (small smallint, big bigint, name varchar(64), day date,"
            " at timestamptz, yes boolean, amount numeric(8, 2), extra jsonb, status varchar(16))"
        )
        assert pgcopy.column_types(cursor, "typed", ["day", "extra"]) == [1082, 3802]
        pgcopy.copy_rows(cursor, "typed", [*columns, "status"], [[*row, Enrolment.Status.STOPPED]])
        pgcopy.copy_rows(cursor, "typed", columns, [[None] * len(columns)])
        cursor.execute(f"SELECT {', '.join(columns)}, status FROM typed ORDER BY small")  # noqa: S608
        written, empty = cursor.fetchall()
    # Django reads jsonb as its text, for JSONField to decode
    assert written == (*row[:-1], '{"a": [1]}', "stopped")
    assert empty == (None,) * (len(columns) + 1)


@pytest.mark.skipif("not pgcopy.enabled()", reason="sequences are drawn from on PostgreSQL only")
def test_keys_drawn_ahead_are_distinct_and_never_given_to_a_later_row(db):
    from archive.models import ImportRecord

    table, column = ImportRecord._meta.db_table, ImportRecord._meta.pk.column
    with connection.cursor() as cursor:
        drawn = pgcopy.next_ids(cursor, table, column, 500)
        assert pgcopy.next_ids(cursor, table, column, 0) == []
    assert len(set(drawn)) == 500
    later = ImportRecord.objects.create(filename="后来.csv", sha256="0" * 64, mode="atomic")
    assert later.pk > max(drawn)
