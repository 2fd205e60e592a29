"""Writing a plan: COPY on PostgreSQL, bulk statements elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from typing import Any

from django.db import connection

from archive import casefiles, pgcopy
from archive.imports.plan import CHUNK, EnrolmentKey, PersonKey, _chunks, _member_of, _Plan
from archive.imports.results import Progress
from archive.models import (
    CaseFile,
    Certificate,
    DataFlag,
    Enrolment,
    EnrolmentChange,
    FamilyStatus,
    ImportRecord,
    Person,
)

#: Objects per INSERT / UPDATE statement.
WRITE_BATCH = 2000
UPDATE_BATCH = 1000
#: Rows written at which the written tables' statistics are refreshed (:func:`analyze`).
ANALYZE_AFTER = 10_000
#: New people from which an import that more than doubles the archive checks the keys
#: between the tables it writes once at the end (:func:`keys_checked_at_the_end`).
BULK_LOAD_AFTER = 20_000


#: The PostgreSQL advisory lock that serialises beneficiary imports (any constant of our own).
IMPORT_LOCK = 0x5EB51D1E


def _lock() -> None:
    """Serialise beneficiary imports on PostgreSQL for the length of the transaction.

    Two imports computing their plans at the same time would both decide to create the same
    person; the lock makes the second wait and then see the first one's rows.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])


class _Writer:
    """Inserts and updates plain rows: COPY on PostgreSQL, bulk statements elsewhere.

    PostgreSQL's COPY is an order of magnitude faster than multi-row INSERTs built by the ORM
    (which prepares every value of every object in Python); primary keys are taken from the
    table's sequence beforehand so that rows referring to new rows can be written too.  Other
    databases (SQLite for a single-user installation) use ``bulk_create``/``bulk_update``.
    """

    def __init__(self, now: datetime, progress: Progress | None, total: int) -> None:
        self.now = now
        self.progress = progress
        self.total = total
        self.done = 0
        self.postgres = pgcopy.enabled()

    def _step(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress("write", self.done, self.total)

    def insert(self, model: Any, rows: Sequence[dict[str, Any]], *, ids: bool) -> list[int]:
        """Insert ``rows`` (field attname → value); return the new pks if ``ids``."""
        if not rows:
            return []
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        if not self.postgres:
            return self._bulk_create(model, rows, fields, ids)
        table = model._meta.db_table
        pks: list[int] = []
        with connection.cursor() as cursor:
            if ids:
                pks = pgcopy.next_ids(cursor, table, model._meta.pk.column, len(rows))
            names = ([model._meta.pk.column] if ids else []) + [f.column for f in fields]
            types = pgcopy.column_types(cursor, table, names)
            values = pgcopy.row_values(fields, self.now)

            def batch(start: int) -> Iterable[list[Any]]:
                for index in range(start, min(start + WRITE_BATCH, len(rows))):
                    row = values(rows[index])
                    yield [pks[index], *row] if ids else row

            # One COPY per batch, progress between them: a progress report queries the job
            # (cancelled?), and no other statement may run on the connection inside a COPY.
            for start in range(0, len(rows), WRITE_BATCH):
                pgcopy.copy_rows(cursor, table, names, batch(start), types)
                self._step(min(WRITE_BATCH, len(rows) - start))
        return pks

    def _bulk_create(
        self, model: Any, rows: Sequence[dict[str, Any]], fields: list[Any], ids: bool
    ) -> list[int]:
        pks: list[int] = []
        values = pgcopy.row_values(fields, self.now)
        names = [f.attname for f in fields]
        for chunk in _chunks(rows, WRITE_BATCH):
            objects = [model(**dict(zip(names, values(row), strict=True))) for row in chunk]
            model.objects.bulk_create(objects)
            if ids:
                pks.extend(obj.pk for obj in objects)
            self._step(len(chunk))
        return pks

    def update(self, model: Any, rows: Mapping[int, dict[str, Any]], names: Iterable[str]) -> None:
        """Set ``names`` (attnames) of the rows keyed by pk."""
        if not rows:
            return
        attnames = sorted(names)
        fields = [model._meta.get_field(n.removesuffix("_id")) for n in attnames]
        if not self.postgres:
            for chunk in _chunks(list(rows.items()), UPDATE_BATCH):
                objects = []
                for pk, row in chunk:
                    obj = model(pk=pk)
                    for name in attnames:
                        setattr(obj, name, row[name])
                    objects.append(obj)
                model.objects.bulk_update(objects, [f.name for f in fields])
                self._step(len(chunk))
            return
        table = model._meta.db_table
        pk = model._meta.pk.column
        columns = [f.column for f in fields]
        with connection.cursor() as cursor:
            # A temporary copy of the columns, filled by COPY, then one UPDATE … FROM.
            pgcopy.temporary_copy_of(cursor, "import_update", table, [pk, *columns])
            pgcopy.copy_rows(
                cursor,
                "import_update",
                [pk, *columns],
                ([key, *(row[name] for name in attnames)] for key, row in rows.items()),
            )
            pgcopy.update_from(cursor, table, "import_update", pk, columns)
            cursor.execute("DROP TABLE import_update")
        self._step(len(rows))

    def close(self, model: Any, pks: Sequence[int], **values: Any) -> None:
        """Set the same ``values`` on the rows ``pks`` (closing history rows)."""
        for chunk in _chunks(pks, CHUNK):
            model.objects.filter(_member_of("pk", chunk)).update(**values)
            self._step(len(chunk))


def _write(
    plan: _Plan, record: ImportRecord, *, today: date, now: datetime, progress: Progress | None
) -> tuple[dict[PersonKey, int], dict[EnrolmentKey, int]]:
    """Write the plan in dependency order; return the pks of every person and enrolment of
    the file (new and existing), by key.

    Closing rows comes before creating their successors because of the partial unique
    constraints (one current certificate, one open family status per person).
    """
    writer = _Writer(now, progress, plan.writes)
    pks = writer.insert(Person, plan.new_people, ids=True)
    person_pk = {row["id_number"]: pk for row, pk in zip(plan.new_people, pks, strict=True)}
    writer.update(Person, plan.changed_people, plan.person_fields)

    person_pk.update(plan.person_pks)
    owner_pk = person_pk.__getitem__

    writer.close(Certificate, plan.closed_certificates, is_current=False, superseded_at=now)
    writer.insert(
        Certificate,
        [
            {**values, "person_id": owner_pk(key), "is_current": True}
            for key, values in plan.new_certificates
        ],
        ids=False,
    )
    writer.close(FamilyStatus, plan.closed_statuses, end_date=today)
    writer.insert(
        FamilyStatus,
        [{**values, "person_id": owner_pk(key)} for key, values in plan.new_statuses],
        ids=False,
    )
    new_enrolments = [
        {**values, "person_id": owner_pk(key[0])} for key, values in plan.new_enrolments
    ]
    enrolment_pks = writer.insert(Enrolment, new_enrolments, ids=True)
    enrolment_pk = {
        key: pk for (key, _), pk in zip(plan.new_enrolments, enrolment_pks, strict=True)
    }
    writer.update(Enrolment, plan.changed_enrolments, plan.enrolment_fields)
    source = f"导入 #{record.pk}"
    writer.insert(
        EnrolmentChange,
        [
            {
                **values,
                "enrolment_id": ref if isinstance(ref, int) else enrolment_pk[ref],
                "source": source,
            }
            for ref, values in plan.changes
        ],
        ids=False,
    )
    # Every enrolled person has a case file from the moment they are enrolled (bulk writes
    # send no post_save, so the import opens them, set-wise, in its own transaction). Their
    # query joins the tables just written: it must be planned for the rows now in them.
    analyze(plan.writes, PEOPLE_TABLES)
    casefiles.open_case_files(
        (row["person_id"], row["county_id"]) for row in new_enrolments if row.get("county_id")
    )
    return person_pk, {**plan.enrolment_pks, **enrolment_pk}


#: The tables of people and their enrolments, and those written after them.
PEOPLE_TABLES = (Person, Certificate, FamilyStatus, Enrolment, EnrolmentChange)
LATER_TABLES = (CaseFile, DataFlag)


def keys_checked_at_the_end(new_people: int) -> AbstractContextManager[bool]:
    """For a load of ``new_people`` larger than the archive it joins (a first import, above
    all), the foreign keys between the tables the import writes checked once each at the end
    instead of row by row (:func:`pgcopy.keys_checked_at_the_end`, which says what it costs
    and saves). The tables are then locked for the rest of the import, which no one minds
    while they hold fewer people than the file brings."""
    if pgcopy.enabled() and new_people >= BULK_LOAD_AFTER and new_people >= Person.objects.count():
        tables = [model._meta.db_table for model in (*PEOPLE_TABLES, *LATER_TABLES)]
        return pgcopy.keys_checked_at_the_end(tables)
    return nullcontext(False)


def analyze(writes: int, models: Iterable[Any]) -> None:
    """After a large import on PostgreSQL, the statistics of the tables it wrote
    (:func:`pgcopy.analyze`), so that the statements after it are planned for the rows now
    there: opening the case files, and the next import's lookups. A first import into tables
    that autovacuum had just found empty joined 100 000 case files to them by nested loops
    and took three minutes instead of one second (docs/benchmarks.md, the roster import rows)."""
    if pgcopy.enabled() and writes >= ANALYZE_AFTER:
        pgcopy.analyze(models)
