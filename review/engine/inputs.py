"""The engine's inputs: the beneficiary file and the rosters, parsed to Parquet (or CSV) and
loaded into DuckDB (only the rows the run can concern; see ``review.engine``)."""

from __future__ import annotations

import csv
import multiprocessing
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from core.tabular import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, Table, read_table
from review.findings import (
    Finding,
)
from review.rosters import (
    COMMON_FIELDS,
    KINDS,
    ROSTERS,
    RowError,
    derived_fields,
    evidence_fields,
    header_spec,
    parse_set,
)

#: Columns of a beneficiary file, in order, with their DuckDB types.  One row per enrolment
#: (person × county): the same person enrolled by two counties is two rows.
BENEFICIARY_COLUMNS: dict[str, str] = {
    "enrolment_key": "VARCHAR",  # the caller's id of the enrolment, echoed in findings
    "id_number": "VARCHAR",  # normalised 18-character 公民身份号码
    "name": "VARCHAR",
    "division_code": "VARCHAR",  # 户籍区划代码 as recorded: 6, 9 or 12 digits
    "county_code": "VARCHAR",  # its first 6 digits; derived when empty
    "cert_number": "VARCHAR",  # 残疾人证号 (stem, or with B suffix); empty: holds none
    "category": "INTEGER",  # recorded 残疾类别 1–7
    "grade": "INTEGER",  # recorded 残疾等级 1–4
    "cert_expiry": "DATE",  # 证件有效期至; empty when unknown or 长期
    "cert_long_term": "BOOLEAN",  # 证件有效期至 = 长期
    "family_type": "VARCHAR",  # 家庭类别; informative: the rules read the assistance roster
    "receives_living": "BOOLEAN",
    "receives_nursing": "BOOLEAN",
    "start_month": "DATE",  # 补贴起始年月 (first day of the month)
}

#: Which roster evidences each benefit of ``RuleSet.exclusions`` (特困 is the 保障类别 特困 of
#: ``assistance``); a benefit without a roster here cannot be evaluated and is ignored.
_BENEFIT_ROSTERS: dict[str, str] = {
    "assistance_tekun": "assistance",
    "work_injury_care": "work_injury_care",
    "orphan": "orphan",
    "prison": "prison",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Beneficiary:
    """One enrolment as the engine needs it (see :data:`BENEFICIARY_COLUMNS`)."""

    id_number: str
    name: str
    division_code: str
    receives_living: bool
    receives_nursing: bool
    cert_number: str | None = None
    category: int | None = None
    grade: int | None = None
    cert_expiry: date | None = None
    cert_long_term: bool = False
    family_type: str | None = None
    start_month: date | None = None
    enrolment_key: str | None = None
    county_code: str | None = None

    def as_row(self) -> tuple[Any, ...]:
        """The values in :data:`BENEFICIARY_COLUMNS` order."""
        return tuple(getattr(self, column) for column in BENEFICIARY_COLUMNS)


@dataclass
class SpooledRoster:
    """A parsed roster written to a Parquet file, for inputs too big for memory."""

    kind: str
    path: Path
    row_count: int
    errors: list[RowError] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EngineConfig:
    """DuckDB resources.  Defaults suit a 2-core machine sharing memory with a web server."""

    threads: int = 2
    memory_limit: str = "2GB"
    temp_directory: str | None = None


@dataclass
class ComparisonResult:
    """What a comparison found, and which rules it could not evaluate and why."""

    as_of: date
    division: str
    checked: int
    evaluated_rules: list[str]
    not_evaluated: list[tuple[str, list[str]]]
    findings: list[Finding]
    finding_count: int = 0  # len(findings), or the rows written to the findings file
    roster_errors: dict[str, list[RowError]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Writing inputs


def write_beneficiaries_csv(
    rows: Iterable[Beneficiary | Sequence[Any]], path: str | os.PathLike[str]
) -> int:
    """Write beneficiaries (objects, or tuples in column order) to a CSV the engine reads.

    Streaming: the Django side can pass ``queryset.values_list(...).iterator()``.
    Returns the number of rows written.
    """
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(BENEFICIARY_COLUMNS)
        for row in rows:
            # The csv module writes None as an empty cell, dates as ISO and booleans as
            # True/False, which is exactly what the typed reader expects.
            writer.writerow(row.as_row() if isinstance(row, Beneficiary) else row)
            count += 1
    return count


def _evidence_columns(kind: str) -> dict[str, str]:
    """``ev0``, ``ev1``, … → the roster header whose text each holds (ASCII column names)."""
    return {f"ev{i}": header for i, header in enumerate(ROSTERS[kind].evidence_headers)}


def _roster_columns(kind: str) -> dict[str, str]:
    """The columns of a parsed roster file: its fields but the derived ones (computed when it
    is loaded, ``review.rosters.derived_fields``), then the evidence texts."""
    evidence = dict.fromkeys(_evidence_columns(kind), "VARCHAR")
    derived = derived_fields(kind)
    fields = {name: type_ for name, type_ in ROSTERS[kind].fields.items() if name not in derived}
    return {**COMMON_FIELDS, **fields, **evidence}


def spool_is_current(path: str | os.PathLike[str], kind: str) -> bool:
    """Whether ``path`` holds a kind's parsed rows as this engine writes them: a Parquet file
    with the kind's columns and types, in order. A missing or unreadable file, or one written
    by an engine with other columns, is not (the roster is then parsed again)."""
    con = duckdb.connect()
    try:
        relation = con.sql(_READ_SPOOL, params={"path": os.fspath(path)})
        found = list(zip(relation.columns, map(str, relation.types), strict=True))
    except (duckdb.Error, OSError):
        return False
    finally:
        con.close()
    return found == list(_roster_columns(kind).items())


def _write_roster_csv(kind: str, rows: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Normalised rows to CSV: typed fields, then each evidence text in its own column.

    Evidence texts are separate columns rather than one JSON document per row: DuckDB builds
    the JSON (in C++) while loading, which is far cheaper than ``json.dumps`` per row here.
    """
    evidence = _evidence_columns(kind)
    fields = [name for name in _roster_columns(kind) if name not in evidence]
    headers = list(evidence.values())
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_roster_columns(kind))
        for row in rows:
            raw = row.get("raw") or {}
            writer.writerow([*map(row.get, fields), *map(raw.get, headers)])
            count += 1
    return count


def spool_roster(kind: str, table: Table, path: str | os.PathLike[str]) -> SpooledRoster:
    """Parse a roster table straight to a Parquet file at ``path``, set-wise in DuckDB.

    Invalid rows are collected as errors (they do not stop the comparison, ``docs/formats.md``).
    The rows are those of :func:`~review.rosters.iter_roster` (``review.rosters.parse_set``).
    """
    target = Path(path)
    with parse_set(kind, table) as parsed:
        count = parsed.copy_to(target, list(_roster_columns(kind)))
        errors = parsed.errors
    return SpooledRoster(
        kind=kind,
        path=target,
        row_count=count,
        errors=errors,
        unknown_headers=list(table.unknown_headers),
    )


def _spool_file(
    kind: str, source: str, target: str, max_bytes: int, max_rows: int
) -> SpooledRoster:
    """Worker: read, validate and parse one roster file (module level so it can be pickled)."""
    table = read_table(
        source, Path(source).name, spec=header_spec(kind), max_bytes=max_bytes, max_rows=max_rows
    )
    return spool_roster(kind, table, target)


def spool_roster_files(
    files: Mapping[str, str | os.PathLike[str]],
    directory: str | os.PathLike[str],
    *,
    workers: int = 2,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> dict[str, SpooledRoster]:
    """Read and parse several roster files, one process per file, ``workers`` at a time.

    Parsing cells is Python work bound to one core per process; with a roster per process a
    province-size comparison uses every core it is given.  Processes are spawned (not forked)
    so that this is safe to call from a threaded web or task server.  A
    :class:`~core.tabular.TableError` of any file is raised here, before anything is
    compared.
    """
    unknown = set(files) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown roster kinds: {sorted(unknown)}")
    out_dir = Path(directory)
    # Largest file first (longest-processing-time-first): the biggest roster should not be
    # the one left running alone at the end.
    ordered = sorted(files.items(), key=lambda item: -Path(item[1]).stat().st_size)
    jobs = {
        kind: (
            kind,
            os.fspath(path),
            os.fspath(out_dir / f"{kind}.parsed.parquet"),
            max_bytes,
            max_rows,
        )
        for kind, path in ordered
    }
    if workers <= 1 or len(jobs) <= 1:
        return {kind: _spool_file(*args) for kind, args in jobs.items()}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {kind: pool.submit(_spool_file, *args) for kind, args in jobs.items()}
        return {kind: futures[kind].result() for kind in files}


# --------------------------------------------------------------------------------------------
# Loading into DuckDB


def _connect(config: EngineConfig, tmp: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        ":memory:",
        config={
            "threads": config.threads,
            "memory_limit": config.memory_limit,
            "temp_directory": config.temp_directory or str(tmp / "duckdb-spill"),
            # Output order is imposed explicitly; insertion order only costs memory.
            "preserve_insertion_order": False,
        },
    )


def _load_beneficiaries(
    con: duckdb.DuckDBPyConnection,
    source: Iterable[Beneficiary | Sequence[Any]] | str | os.PathLike[str],
    tmp: Path,
    prefix: str,
) -> None:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
    else:
        path = tmp / "beneficiaries.csv"
        write_beneficiaries_csv(source, path)
    if path.suffix.lower() == ".parquet":
        relation = con.sql("SELECT * FROM read_parquet($path)", params={"path": str(path)})
    else:
        relation = con.sql(
            "SELECT * FROM read_csv($path, header = true, auto_detect = false, "
            "columns = $columns, nullstr = '', quote = '\"', escape = '\"', delim = ',')",
            params={"path": str(path), "columns": BENEFICIARY_COLUMNS},
        )
    relation.create_view("b_src")
    con.execute(
        """
        CREATE TABLE b AS
        SELECT row_number() OVER () AS idx,
               enrolment_key, id_number, name, division_code,
               coalesce(county_code, substr(division_code, 1, 6)) AS county_code,
               cert_number,
               TRY_CAST(substr(cert_number, 19, 1) AS INTEGER) AS cert_category,
               TRY_CAST(substr(cert_number, 20, 1) AS INTEGER) AS cert_grade,
               category, grade, cert_expiry,
               coalesce(cert_long_term, false) AS cert_long_term,
               coalesce(receives_living, false) AS rl,
               coalesce(receives_nursing, false) AS rn,
               start_month,
               starts_with(coalesce(county_code, substr(division_code, 1, 6)), $prefix) AS in_div
        FROM b_src
        """,
        {"prefix": prefix},
    )


# A spooled roster is Parquet (spool_roster, typed: read back in half the time of CSV); a
# roster given in memory is written to CSV by _write_roster_csv and read with its types.
_READ_ROSTER = (
    "SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns, "
    "nullstr = '', quote = '\"', escape = '\"', delim = ',')"
)
_READ_RELEVANT_ROSTER = (
    "SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns, "
    "nullstr = '', quote = '\"', escape = '\"', delim = ',') "
    "WHERE id_number IN (SELECT id_number FROM relevant)"
)
_READ_SPOOL = "SELECT * FROM read_parquet($path)"
_READ_RELEVANT_SPOOL = (
    "SELECT * FROM read_parquet($path) WHERE id_number IN (SELECT id_number FROM relevant)"
)


def _load_roster(
    con: duckdb.DuckDBPyConnection, kind: str, path: Path, *, relevant_only: bool
) -> None:
    """Load a parsed roster file (Parquet, or CSV) as table ``r_<kind>`` with a JSON ``raw``
    column.

    With ``relevant_only`` only rows about people the run can concern are kept (table
    ``relevant``): departmental lists are mostly about other people, and dropping them on
    load keeps memory and every later join small.  The JSON is built with DuckDB's expression
    API from the constant header names of the roster spec; the only SQL text is that of the
    derived fields, constants of ``review.rosters`` (a ``substr`` costs less here than a
    stored column costs in the file).
    """
    if path.suffix == ".parquet":
        relation = con.sql(
            _READ_RELEVANT_SPOOL if relevant_only else _READ_SPOOL, params={"path": str(path)}
        )
    else:
        relation = con.sql(
            _READ_RELEVANT_ROSTER if relevant_only else _READ_ROSTER,
            params={"path": str(path), "columns": _roster_columns(kind)},
        )
    texts = evidence_fields(kind)
    pairs: list[Any] = []
    for column, header in _evidence_columns(kind).items():
        given = [duckdb.ColumnExpression(column)]
        if column in texts:  # NULL where it equals that field (review.rosters.STORED)
            given.append(duckdb.ColumnExpression(texts[column]))
        pairs += [
            duckdb.ConstantExpression(header),
            duckdb.CoalesceOperator(*given, duckdb.ConstantExpression("")),
        ]
    derived = derived_fields(kind)
    fields = [
        duckdb.SQLExpression(derived[name]).alias(name)
        if name in derived
        else duckdb.ColumnExpression(name)
        for name in {**COMMON_FIELDS, **ROSTERS[kind].fields}
    ]
    raw = duckdb.FunctionExpression("json_object", *pairs).alias("raw")
    relation.project(*fields, raw).create(f"r_{kind}")
