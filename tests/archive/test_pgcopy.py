"""archive.pgcopy: ``rows_table`` gives a statement many rows as one parameter per column (an
array on PostgreSQL, the suite's database in CI and ``make test``; one JSON text on SQLite)
that selects what the rows themselves would; COPY's values."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from archive import pgcopy
from tests.helpers import foreign_keys

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


def _certificate(person_id: int) -> None:
    from archive.models import Certificate

    number = "14042519800101123843"
    Certificate.objects.create(person_id=person_id, number=number, stem=number, category=4, grade=3)


def _people_tables() -> list[str]:
    from archive.models import Certificate, Enrolment, EnrolmentChange, Person

    return [m._meta.db_table for m in (Person, Certificate, Enrolment, EnrolmentChange)]


@pytest.mark.skipif("not pgcopy.enabled()", reason="foreign keys are checked so on PostgreSQL")
def test_keys_between_loaded_tables_are_dropped_in_the_block_and_come_back_as_they_were(db):
    from tests.archive.conftest import make_person

    tables = _people_tables()
    before = foreign_keys(tables)
    with pgcopy.keys_checked_at_the_end(tables) as dropped:
        assert dropped
        left = foreign_keys(tables)
        # the keys to divisions and users stay; those between the tables go
        assert {(t, n) for t, n, _ in left} < {(t, n) for t, n, _ in before}
        assert all("archive_division" in d or "auth_user" in d for _, _, d in left)
        person = make_person()
        _certificate(person.pk)
    assert foreign_keys(tables) == before
    assert person.enrolments.count() == 2


@pytest.mark.skipif("not pgcopy.enabled()", reason="foreign keys are checked so on PostgreSQL")
def test_a_row_whose_key_points_nowhere_fails_the_load_when_the_keys_come_back(db):
    from django.db import IntegrityError, transaction

    from archive.models import Certificate

    tables = _people_tables()
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        pgcopy.keys_checked_at_the_end(tables) as dropped,
    ):
        assert dropped
        _certificate(987_654_321)
    assert not Certificate.objects.filter(person_id=987_654_321).exists()


@pytest.mark.skipif("not pgcopy.enabled()", reason="foreign keys are checked so on PostgreSQL")
def test_a_table_kept_in_use_elsewhere_is_given_up_and_its_keys_stay_checked_row_by_row(
    db, monkeypatch, caplog
):
    from django.db import IntegrityError, transaction

    from archive.models import Person
    from tests.helpers import row_locked

    monkeypatch.setattr(pgcopy, "LOCK_WAIT_MS", 100)
    caplog.set_level("INFO", logger="archive.pgcopy")
    tables = _people_tables()
    before = foreign_keys(tables)
    with row_locked(Person(pk=-1)), pgcopy.keys_checked_at_the_end(tables) as dropped:
        assert "tables in use by" in caplog.text
        assert not dropped
        assert foreign_keys(tables) == before
    with pytest.raises(IntegrityError), transaction.atomic():
        _certificate(987_654_321)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.skipif("not pgcopy.enabled()", reason="foreign keys are checked so on PostgreSQL")
def test_a_table_another_transaction_lets_go_of_soon_is_waited_for(db):
    import threading

    from archive.models import Person
    from tests.helpers import row_locked

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with row_locked(Person(pk=-1)):
            held.set()
            release.wait(0.3)  # a search index reading a case file, say

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    tables = _people_tables()
    with pgcopy.keys_checked_at_the_end(tables) as dropped:
        assert dropped
    holder.join()
    assert pgcopy.LOCK_WAIT_MS >= 1000  # far above the 0.3 s the other transaction took
