"""COPY on PostgreSQL, the project's one bulk writer: the roster import writes people, their
certificates and enrolments with it, a comparison run its findings.

COPY is an order of magnitude faster than the multi-row INSERTs the ORM builds (which
prepares every value of every object in Python); :func:`copy_rows` sends its rows in the
binary format, typed by the table's own columns. Callers keep ``bulk_create`` /
``bulk_update`` on other databases (SQLite for a single-user installation): :func:`enabled`
says which. No other statement may run on the connection while a COPY is open, so callers
that report progress or check for cancellation do so between two calls of :func:`copy_rows`.
The other way, :func:`copy_out` lets the database write a query's rows as CSV (a comparison's
beneficiaries).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import OperationalError, connection, models, transaction
from psycopg import ClientCursor, sql
from psycopg.types.json import Jsonb

logger = logging.getLogger(__name__)


def enabled() -> bool:
    """Whether the database is PostgreSQL, where rows are written by COPY."""
    return connection.vendor == "postgresql"


#: How :func:`rows_table` reads a column of each PostgreSQL type back from SQLite's JSON.
_SQLITE_CASTS = {"bigint": "INTEGER", "text": "TEXT"}


def rows_table(rows: Collection[Sequence[Any]], columns: Mapping[str, str]) -> tuple[str, list]:
    """``rows`` as a subquery with ``columns`` (name → PostgreSQL type, ``bigint`` or
    ``text``) that a statement can join, and its parameters: one array per column on
    PostgreSQL (``unnest``), one JSON text on SQLite (``json_each``). A hundred thousand
    (person, county) pairs are then two values: as IN lists of 2 000 placeholders, building and
    parsing them took 2.6 s of Django and psycopg in a first import (docs/benchmarks.md, the
    roster import rows)."""
    names = list(columns)
    if enabled():
        arrays = ", ".join(f"%s::{kind}[]" for kind in columns.values())
        query = f"SELECT * FROM unnest({arrays}) AS t({', '.join(names)})"  # noqa: S608 (callers' names)
        return query, [[row[i] for row in rows] for i in range(len(names))]
    cells = ", ".join(
        f"CAST(json_extract(value, '$[{i}]') AS {_SQLITE_CASTS[kind]}) AS {name}"
        for i, (name, kind) in enumerate(columns.items())
    )
    rows_json = json.dumps([list(row) for row in rows])
    return f"SELECT {cells} FROM json_each(%s)", [rows_json]  # noqa: S608 (callers' names)


def plain(value: Any) -> Any:
    """A value as COPY takes it: a choices enum (a str/int subclass) as its plain value, a
    dict or list for a JSON column as ``jsonb``."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list):
        return Jsonb(value)
    return value


def row_values(fields: Sequence[Any], now: datetime) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function giving the values COPY writes for ``fields`` of a row (attname → value):
    the row's own value, ``now`` for an ``auto_now``/``auto_now_add`` timestamp, else the
    field's default — what the ORM would have stored. What a field falls back to is worked out
    once per call here, not once per cell: at half a million rows a first import spent two
    seconds asking every field again (docs/benchmarks.md).

    Only a JSON column's values go through :func:`plain`: psycopg writes a choices member (a
    str or int subclass) as its value itself, and calling :func:`plain` on every cell was a
    fifth of a first import's COPY (docs/benchmarks.md, the roster import rows)."""
    fallbacks = [
        (
            f.attname,
            now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else plain(f.get_default()),
        )
        for f in fields
    ]

    json_columns = {f.attname for f in fields if isinstance(f, models.JSONField)}

    def values(row: Mapping[str, Any]) -> list[Any]:
        return [row.get(name, fallback) for name, fallback in fallbacks]

    def json_values(row: Mapping[str, Any]) -> list[Any]:
        return [
            plain(row[name]) if name in json_columns and name in row else row.get(name, fallback)
            for name, fallback in fallbacks
        ]

    return json_values if json_columns else values


def analyze(models: Iterable[Any]) -> None:
    """Refresh the planner's statistics of the models' tables after a bulk write.

    A table filled by COPY keeps the statistics of when it was empty until autovacuum comes
    round (a minute or more): the first re-import right after a first import of 100 000 rows
    took 20 s instead of 9 s, its lookups planned for empty tables (docs/benchmarks.md).
    Inside the writing transaction ANALYZE counts that transaction's own rows."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(model._meta.db_table)))


def _columns(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def column_types(cursor: Any, table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of ``columns`` of ``table`` (a temporary table too), for
    :func:`copy_rows`."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    oids = dict(cursor.fetchall())
    return [oids[column] for column in columns]


def copy_rows(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[int] | None = None,
) -> None:
    """Write ``rows`` (values in the order of ``columns``, as :func:`plain` gives them) into
    ``table`` with one ``COPY … FROM STDIN``. ``cursor`` is a Django cursor; ``types`` are
    the columns' :func:`column_types`, asked for when not given (a caller writing one table in
    many batches asks once).

    The rows go in PostgreSQL's binary format: the server then parses no dates, numbers or
    text, and a first import's COPY took 2.6–2.8 s instead of 3.1–3.35 s (docs/benchmarks.md,
    the roster import rows). Each value must be of its column's Python type (a ``date`` for a
    date, a ``Decimal`` or ``int`` for a number), which the ORM's own values are."""
    if types is None:
        types = column_types(cursor, table, columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), _columns(columns)
    )
    with cursor.cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def copy_in(cursor: Any, table: str, columns: Sequence[str], path: Path) -> None:
    """The CSV file at ``path`` (a header, then ``columns`` in order; an empty cell NULL, a
    quoted empty one '') into ``table`` with one ``COPY … FROM STDIN``, sent as it is, in
    blocks: the file is never parsed in Python. The connection is busy until the end (no
    other query may run on it meanwhile)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER)").format(
        sql.Identifier(table), _columns(columns)
    )
    with cursor.cursor.copy(statement) as copy, open(path, "rb") as source:
        while block := source.read(1 << 20):
            copy.write(block)


def copy_out(query: str, params: Sequence[Any], path: Path) -> None:
    """The rows of ``query`` (SQL with ``%s`` parameters, as Django's cursors take it) as a
    CSV file with a header of its column names (``COPY … TO STDOUT``): NULL becomes an empty
    cell, ``''`` a quoted empty one. The query runs once, without JIT compilation: compiling a
    province's beneficiary query took longer than it saved (docs/benchmarks.md, "Storing
    findings")."""
    with transaction.atomic(), connection.cursor() as cursor, open(path, "wb") as out:
        cursor.execute("SET LOCAL jit = off")
        # COPY takes no parameters: bind them on the client, as Django's own cursors do.
        with ClientCursor(cursor.cursor.connection) as binder:
            inner = binder.mogrify(query, params)
        statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)")
        with cursor.cursor.copy(statement.format(sql.SQL(inner))) as copy:
            for block in copy:
                out.write(block)


def next_ids(cursor: Any, table: str, column: str, count: int) -> list[int]:
    """``count`` primary keys taken from the sequence of ``table.column``, so that rows
    referring to rows not written yet can be written in the same pass.

    The sequence is looked up once: ``nextval(pg_get_serial_sequence(…))`` looks it up in the
    catalogue for every key, and 225 000 keys took 0.45 s instead of 0.07 s
    (docs/benchmarks.md, the roster import rows)."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
    (sequence,) = cursor.fetchone()
    cursor.execute(
        "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, count]
    )
    return cursor.fetchone()[0] or []


def temporary_copy_of(cursor: Any, name: str, table: str, columns: Sequence[str]) -> None:
    """A temporary table ``name`` with ``columns`` of ``table`` and no row, dropped at the
    end of the transaction."""
    cursor.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
        ).format(sql.Identifier(name), _columns(columns), sql.Identifier(table))
    )


def update_from(cursor: Any, table: str, source: str, key: str, columns: Sequence[str]) -> None:
    """``UPDATE table SET columns = source.columns`` for the rows of ``source`` with the
    same ``key``."""
    cursor.execute(
        sql.SQL("UPDATE {} AS t SET {} FROM {} AS u WHERE t.{} = u.{}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(
                sql.SQL("{} = u.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns
            ),
            sql.Identifier(source),
            sql.Identifier(key),
            sql.Identifier(key),
        )
    )


@contextmanager
def keys_checked_at_the_end(tables: Sequence[str]) -> Iterator[bool]:
    """Inside the block, the foreign keys among ``tables`` (from one of them to another)
    are dropped; on the way out they are added again, with their own names and definitions,
    and the database checks every row against them in one query per key. Yields whether it
    did: it does not when another transaction keeps using one of the tables (it waits
    :data:`LOCK_WAIT_MS` at most) or when the database user does not own them, and the keys
    are then checked row by row at ``COMMIT``, as always.

    This is PostgreSQL's own advice for loading a table ("Populating a Database": remove
    foreign key constraints). A first import of 100 000 people spent 3.8 s of its 11 s in
    ``COMMIT``, checking every enrolment's, certificate's and case file's person one row at a
    time; with the keys between its tables checked at once (under 0.05 s each) it takes
    9.2–10.4 s (docs/benchmarks.md, the roster import rows). The price is that the tables are
    locked for reading too until the transaction ends, so callers use it only for a load
    larger than what the tables already hold. Keys to tables outside ``tables`` (divisions,
    users) are left alone: dropping one would lock its table, which every page reads.
    Must be called inside a transaction, before the block writes any of ``tables``; when the
    block fails, the transaction's rollback brings the keys back with everything else.
    """
    with connection.cursor() as cursor:
        keys = _keys_between(cursor, tables)
        locked = bool(keys) and _locked(cursor, tables)
        for table, name, _definition in keys if locked else ():
            cursor.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
    yield locked
    if not locked:
        return
    with connection.cursor() as cursor:
        # A table with row checks still queued (its keys to other tables) cannot be altered:
        # run them now, as COMMIT would have.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, definition in keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )


def _keys_between(cursor: Any, tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the foreign keys from one of ``tables`` to another."""
    cursor.execute(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f'"
        " AND c.conrelid = ANY(%s::regclass[]) AND c.confrelid = ANY(%s::regclass[])"
        " ORDER BY 1, 2",
        [list(tables), list(tables)],
    )
    return cursor.fetchall()


#: How long :func:`keys_checked_at_the_end` waits for other transactions to let go of the
#: tables (a search index reading a case file takes milliseconds) before it gives up and the
#: keys are checked row by row.
LOCK_WAIT_MS = 2000


def _locked(cursor: Any, tables: Sequence[str]) -> bool:
    """Whether the user owns ``tables`` and now holds them exclusively (waiting at most
    :data:`LOCK_WAIT_MS`)."""
    cursor.execute(
        "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class"
        " WHERE oid = ANY(%s::regclass[])",
        [list(tables)],
    )
    if not cursor.fetchone()[0]:
        logger.info("foreign keys checked row by row: the database user does not own the tables")
        return False
    # Row checks queued earlier in the transaction would forbid dropping a key: run them.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{LOCK_WAIT_MS}ms"])
            cursor.execute(
                sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(map(sql.Identifier, tables))
                )
            )
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    except OperationalError:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT DISTINCT l.pid, l.relation::regclass::text, l.mode, a.state"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.relation = ANY(%s::regclass[]) AND l.pid <> pg_backend_pid()",
            [list(tables)],
        )
        logger.info("foreign keys checked row by row: tables in use by %s", cursor.fetchall())
        return False
    return True
