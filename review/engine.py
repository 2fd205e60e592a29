"""The data comparison (数据比对) of ``docs/rules.md``, vectorised in DuckDB.

A province-level comparison covers about a million beneficiaries against rosters of similar
size, so the heavy part — matching by ID number, "active on as_of", choosing the evidence row,
the policy-connection matrix — is set-based SQL in an embedded DuckDB, never a per-person loop
in Python.  Python only loads the inputs and formats the (comparatively few) findings.

Inputs
    *Beneficiaries*: an iterable of :class:`Beneficiary`, or the path of a CSV / Parquet file
    with the columns of :data:`BENEFICIARY_COLUMNS` (the Django side can stream a queryset's
    ``values_list`` through :func:`write_beneficiaries_csv`; nothing forces it to build a
    million objects).  *Rosters*: per kind, a :class:`~review.rosters.ParsedRoster` (in memory,
    for small files and tests) or a :class:`SpooledRoster` (normalised CSV on disk, produced by
    :func:`spool_roster` in bounded memory).

Every rule lives in :data:`RULES` with the rosters it needs: a rule whose roster was not
supplied is not evaluated and the result says so (absence of evidence is never a finding).
The interpretation choices where ``docs/rules.md`` leaves room are listed in
``docs/comparison.md``; the SQL below implements exactly those.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from core.cells import division_prefix
from core.codes import CODES, FINDING_CODES, FindingCode
from core.eligibility import ALLOWED, EXCLUDED, SHANXI_2023, SUSPENDED, RuleSet
from core.numbers import CATEGORIES, GRADES
from core.tabular import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, Table, read_table
from review.findings import (
    Evidence,
    Finding,
    FindingDiff,
    Subsidy,
    diff_findings,
    finding_key,
)
from review.rosters import (
    COMMON_FIELDS,
    KINDS,
    ROSTERS,
    ParsedRoster,
    RowError,
    header_spec,
    iter_roster,
)

__all__ = [
    "BENEFICIARY_COLUMNS",
    "RULES",
    "Beneficiary",
    "ComparisonResult",
    "EngineConfig",
    "Evidence",
    "Finding",
    "FindingDiff",
    "SpooledRoster",
    "compare",
    "diff_findings",
    "finding_key",
    "spool_roster",
    "spool_roster_files",
    "write_beneficiaries_csv",
]

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
    """A parsed roster written to a normalised CSV file, for inputs too big for memory."""

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
    roster_errors: dict[str, list[RowError]] = field(default_factory=dict)


#: Every row of the findings table (core/codes.py), in its order; the SQL of each is in
#: ``_RULE_SQL``, and this table drives what is evaluated.
RULES: tuple[FindingCode, ...] = FINDING_CODES
# The SQL below spells the policy-connection statuses literally (static SQL, no formatting).
assert (EXCLUDED, ALLOWED, SUSPENDED) == ("excluded", "allowed", "suspended")

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
    evidence = dict.fromkeys(_evidence_columns(kind), "VARCHAR")
    return {**COMMON_FIELDS, **ROSTERS[kind].fields, **evidence}


def _write_roster_csv(kind: str, rows: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Normalised rows to CSV: typed fields, then each evidence text in its own column.

    Evidence texts are separate columns rather than one JSON document per row: DuckDB builds
    the JSON (in C++) while loading, which is far cheaper than ``json.dumps`` per row here.
    """
    fields = list({**COMMON_FIELDS, **ROSTERS[kind].fields})
    headers = list(_evidence_columns(kind).values())
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
    """Parse a roster table straight to a normalised CSV at ``path``, in bounded memory.

    Invalid rows are collected as errors (they do not stop the comparison, ``docs/formats.md``).
    """
    errors: list[RowError] = []

    def valid() -> Iterator[dict[str, Any]]:
        for item in iter_roster(kind, table.rows):
            if isinstance(item, dict):
                yield item
            else:
                errors.extend(item)

    target = Path(path)
    count = _write_roster_csv(kind, valid(), target)
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
        kind: (kind, os.fspath(path), os.fspath(out_dir / f"{kind}.norm.csv"), max_bytes, max_rows)
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


_READ_ROSTER = (
    "SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns, "
    "nullstr = '', quote = '\"', escape = '\"', delim = ',')"
)
_READ_RELEVANT_ROSTER = (
    "SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns, "
    "nullstr = '', quote = '\"', escape = '\"', delim = ',') "
    "WHERE id_number IN (SELECT id_number FROM relevant)"
)


def _load_roster(
    con: duckdb.DuckDBPyConnection, kind: str, path: Path, *, relevant_only: bool
) -> None:
    """Load a normalised roster file as table ``r_<kind>`` with a JSON ``raw`` column.

    With ``relevant_only`` only rows about people the run can concern are kept (table
    ``relevant``): departmental lists are mostly about other people, and dropping them on
    load keeps memory and every later join small.  The JSON is built with DuckDB's expression
    API from the constant header names of the roster spec, so no SQL text is assembled.
    """
    relation = con.sql(
        _READ_RELEVANT_ROSTER if relevant_only else _READ_ROSTER,
        params={"path": str(path), "columns": _roster_columns(kind)},
    )
    pairs: list[Any] = []
    for column, header in _evidence_columns(kind).items():
        pairs += [
            duckdb.ConstantExpression(header),
            duckdb.CoalesceOperator(duckdb.ColumnExpression(column), duckdb.ConstantExpression("")),
        ]
    fields = [duckdb.ColumnExpression(name) for name in {**COMMON_FIELDS, **ROSTERS[kind].fields}]
    raw = duckdb.FunctionExpression("json_object", *pairs).alias("raw")
    relation.project(*fields, raw).create(f"r_{kind}")


# --------------------------------------------------------------------------------------------
# The rules, as SQL.  Each inserts rows of one shape into table f.

_CREATE_F = """
CREATE TEMP TABLE f (
    idx BIGINT, id_number VARCHAR, name VARCHAR, county_code VARCHAR, enrolment_key VARCHAR,
    code VARCHAR, living BOOLEAN, nursing BOOLEAN, action VARCHAR, event_date DATE,
    roster VARCHAR, evidence_row INTEGER, vals VARCHAR, roster_name VARCHAR,
    rec_cert VARCHAR, rec_category INTEGER, rec_grade INTEGER, rec_expiry DATE,
    rec_division VARCHAR, kept_county VARCHAR
)
"""


# Preparation.  Big tables are never sorted whole: the certificate-base row per person is
# chosen by an aggregate over (id, row) only, and the other rosters are loaded only for the
# people the run can concern (table ``relevant``: the division's beneficiaries and the
# certificate holders registered in it), which in a real departmental list is a small part.
_PREPARE_BASE = (
    "CREATE TEMP VIEW bd AS SELECT * FROM b WHERE in_div",
    # The person's current certificate-base row: a person holds at most one current
    # certificate, so a 正常 row beats a 冻结 one, which beats a 注销 (old) one; then the latest.
    """
    CREATE TEMP TABLE cb AS
    SELECT * FROM r_cert_base
    WHERE "row" IN (
        SELECT arg_min(
            "row",
            CASE status WHEN '正常' THEN 0 WHEN '冻结' THEN 1 ELSE 2 END * 4294967296 - "row")
        FROM r_cert_base GROUP BY id_number)
    """,
    """
    CREATE TEMP TABLE relevant AS
    SELECT id_number FROM bd
    UNION
    SELECT id_number FROM cb WHERE starts_with(division_county, $prefix)
    """,
    # Rules read cb only; the whole base would just hold memory.
    "DROP TABLE r_cert_base",
)
_PREPARE = (
    # Current certificate facts: the cert_base row when there is one, else the record.  The
    # category and grade come from the certificate number (docs/numbers.md: the number wins).
    """
    CREATE TEMP VIEW cur AS
    SELECT b.idx,
           c."row" IS NOT NULL AS from_cb, c."row" AS cb_row, c.raw AS cb_raw, c.name AS cb_name,
           CASE WHEN c."row" IS NOT NULL THEN c.cert_category ELSE b.cert_category END AS category,
           CASE WHEN c."row" IS NOT NULL THEN c.cert_grade ELSE b.cert_grade END AS grade,
           CASE WHEN c."row" IS NOT NULL THEN c.expiry ELSE b.cert_expiry END AS expiry,
           CASE WHEN c."row" IS NOT NULL THEN c.expiry_long_term ELSE b.cert_long_term END
               AS long_term
    FROM bd b LEFT JOIN cb c ON c.id_number = b.id_number
    """,
    # The first death on or before as_of.
    """
    CREATE TEMP TABLE dead AS
    SELECT * FROM r_death
    WHERE event_date <= $as_of
    QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY event_date, "row") = 1
    """,
    # The latest move on or before as_of: it says where the household registration is now.
    """
    CREATE TEMP TABLE moved AS
    SELECT * FROM r_hukou_out
    WHERE event_date <= $as_of
    QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY event_date DESC, "row" DESC) = 1
    """,
    # Benefits active on as_of, one evidence row per person and benefit (the earliest start).
    """
    CREATE TEMP TABLE ben AS
    SELECT * FROM (
        SELECT 'assistance_tekun' AS benefit, 'assistance' AS roster, id_number, "row", start,
               raw, name
        FROM r_assistance
        WHERE benefit_type = '特困' AND start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
        UNION ALL
        SELECT 'work_injury_care', 'work_injury_care', id_number, "row", start, raw, name
        FROM r_work_injury_care WHERE start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
        UNION ALL
        SELECT 'orphan', 'orphan', id_number, "row", start, raw, name
        FROM r_orphan WHERE start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
        UNION ALL
        SELECT 'prison', 'prison', id_number, "row", start, raw, name
        FROM r_prison WHERE start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
    )
    QUALIFY row_number() OVER (PARTITION BY id_number, benefit ORDER BY start, "row") = 1
    """,
    # Who has an active 低保 / 低保边缘 (the configured living family types) entry.
    """
    CREATE TEMP TABLE living_ok AS
    SELECT DISTINCT id_number FROM r_assistance
    WHERE benefit_type IN (SELECT family_type FROM living_types)
      AND start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
    """,
    """
    CREATE TEMP TABLE receiving AS
    SELECT id_number, bool_or(rl) AS rl, bool_or(rn) AS rn FROM b GROUP BY id_number
    """,
)


_RULE_SQL: dict[str, tuple[str, ...]] = {
    "DECEASED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'DECEASED', b.rl, b.rn, 'STOP', d.event_date,
               'death', d."row", d.raw, d.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN dead d ON d.id_number = b.id_number
        WHERE (b.rl OR b.rn)
        """,
    ),
    "HUKOU_MOVED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'HUKOU_MOVED', b.rl, b.rn, 'STOP', m.event_date,
               'hukou_out', m."row", m.raw, m.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN moved m ON m.id_number = b.id_number
        WHERE (b.rl OR b.rn) AND m.destination_county <> b.county_code
        """,
    ),
    "CERT_CHANGED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_CHANGED', false, false, 'FIX_DATA', NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE substr(b.cert_number, 1, 20) IS DISTINCT FROM c.cert_stem
        """,
    ),
    "CERT_CANCELLED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_CANCELLED', b.rl, b.rn, 'STOP', NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE (b.rl OR b.rn) AND c.status = '注销'
        """,
    ),
    "CERT_FROZEN": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_FROZEN', b.rl, b.rn, 'WARN', NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE (b.rl OR b.rn) AND c.status = '冻结'
        """,
    ),
    "CERT_EXPIRED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_EXPIRED', b.rl, b.rn, 'STOP', u.expiry,
               CASE WHEN u.from_cb THEN 'cert_base' END, u.cb_row, u.cb_raw, u.cb_name, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b JOIN cur u ON u.idx = b.idx
        WHERE (b.rl OR b.rn) AND NOT coalesce(u.long_term, false) AND u.expiry < $as_of
        """,
    ),
    "CERT_EXPIRING": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_EXPIRING', b.rl, b.rn, 'WARN', u.expiry,
               CASE WHEN u.from_cb THEN 'cert_base' END, u.cb_row, u.cb_raw, u.cb_name, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b JOIN cur u ON u.idx = b.idx
        WHERE (b.rl OR b.rn) AND NOT coalesce(u.long_term, false)
              AND u.expiry >= $as_of AND u.expiry <= $expiring_until
        """,
    ),
    "GRADE_INSUFFICIENT": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'GRADE_INSUFFICIENT', false, true, 'STOP', NULL,
               CASE WHEN u.from_cb THEN 'cert_base' END, u.cb_row, u.cb_raw, u.cb_name, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b JOIN cur u ON u.idx = b.idx
        WHERE b.rn AND u.category IS NOT NULL AND u.grade IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM nursing_pairs p
                  WHERE p.category = u.category AND p.grade = u.grade)
        """,
    ),
    "LEFT_ASSISTANCE": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'LEFT_ASSISTANCE', true, false, 'STOP',
               CASE WHEN a."end" < $as_of THEN a."end" END,
               'assistance', a."row", a.raw, a.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM (
            SELECT * FROM bd
            WHERE rl AND id_number NOT IN (SELECT id_number FROM living_ok)
        ) b
        LEFT JOIN (
            SELECT * FROM r_assistance
            WHERE benefit_type IN (SELECT family_type FROM living_types)
              AND id_number IN (SELECT id_number FROM bd WHERE rl)
              AND id_number NOT IN (SELECT id_number FROM living_ok)
            QUALIFY row_number() OVER (
                PARTITION BY id_number
                ORDER BY coalesce("end", DATE '9999-12-31') DESC, start DESC, "row" DESC) = 1
        ) a ON a.id_number = b.id_number
        """,
    ),
    # One finding per person and evidence roster; the subsidies concerned are those received
    # that the rule set does not allow together with the benefit.
    "DUPLICATE_BENEFIT": (
        """
        INSERT INTO f
        SELECT idx, id_number, name, county_code, enrolment_key, 'DUPLICATE_BENEFIT',
               lv, nv,
               CASE WHEN (lv AND living_status = 'excluded')
                      OR (nv AND nursing_status = 'excluded') THEN 'STOP' ELSE 'SUSPEND' END,
               start, roster, "row", raw, roster_name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM (
            SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, n.start, n.roster, n."row", n.raw, n.name AS roster_name,
                   e.living_status, e.nursing_status,
                   b.rl AND e.living_status <> 'allowed' AS lv,
                   b.rn AND e.nursing_status <> 'allowed' AS nv
            FROM bd b
            JOIN ben n ON n.id_number = b.id_number AND n.benefit <> 'prison'
            JOIN exclusions e ON e.benefit = n.benefit
            WHERE n.roster IN (SELECT kind FROM supplied)
        )
        WHERE lv OR nv
        """,
    ),
    "IMPRISONED": (
        """
        INSERT INTO f
        SELECT idx, id_number, name, county_code, enrolment_key, 'IMPRISONED', lv, nv,
               'SUSPEND', start, 'prison', "row", raw, roster_name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM (
            SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, n.start, n."row", n.raw, n.name AS roster_name,
                   b.rl AND coalesce(e.living_status, 'suspended') <> 'allowed' AS lv,
                   b.rn AND coalesce(e.nursing_status, 'suspended') <> 'allowed' AS nv
            FROM bd b
            JOIN ben n ON n.id_number = b.id_number AND n.benefit = 'prison'
            LEFT JOIN exclusions e ON e.benefit = 'prison'
        )
        WHERE lv OR nv
        """,
    ),
    # The kept enrolment: the one in the county of the person's cert_base registration, else
    # the earliest 补贴起始年月, else the lowest county code.  Only enrolments that pay count.
    "DUPLICATE_ENROLMENT": (
        """
        INSERT INTO f
        SELECT idx, id_number, name, county_code, enrolment_key, 'DUPLICATE_ENROLMENT',
               rl, rn, 'STOP', NULL, NULL, NULL, NULL, NULL,
               cert_number, category, grade, cert_expiry, division_code, kept_county
        FROM (
            SELECT b.*,
                   first_value(b.county_code) OVER w AS kept_county,
                   min(b.county_code) OVER (PARTITION BY b.id_number) AS lo,
                   max(b.county_code) OVER (PARTITION BY b.id_number) AS hi
            FROM bd b LEFT JOIN cb c ON c.id_number = b.id_number
            WHERE (b.rl OR b.rn)
              AND b.id_number IN (
                  SELECT id_number FROM bd WHERE rl OR rn
                  GROUP BY id_number HAVING min(county_code) <> max(county_code))
            WINDOW w AS (
                PARTITION BY b.id_number
                ORDER BY (b.county_code = c.division_county) DESC NULLS LAST,
                         b.start_month ASC NULLS LAST, b.county_code, b.enrolment_key, b.idx
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
        WHERE lo <> hi AND county_code <> kept_county
        """,
    ),
    # Certificate holders of the division who would qualify and are not paid.  Computed on
    # narrow columns; the evidence row's text is fetched only for the hits.
    "ELIGIBLE_NOT_ENROLLED": (
        """
        INSERT INTO f
        WITH cand AS (
            SELECT c.id_number, c."row", c.division_county, c.cert_category, c.cert_grade
            FROM cb c
            WHERE c.status = '正常'
              AND (c.expiry_long_term OR c.expiry IS NULL OR c.expiry >= $as_of)
              AND starts_with(c.division_county, $prefix)
              AND c.id_number NOT IN (SELECT id_number FROM dead)
              AND NOT EXISTS (
                  SELECT 1 FROM moved m
                  WHERE m.id_number = c.id_number AND m.destination_county <> c.division_county)
              AND c.id_number NOT IN (SELECT id_number FROM ben WHERE benefit = 'prison')
        ),
        blocked AS (
            SELECT n.id_number,
                   bool_or(e.living_status <> 'allowed') AS living,
                   bool_or(e.nursing_status <> 'allowed') AS nursing
            FROM ben n JOIN exclusions e ON e.benefit = n.benefit
            GROUP BY n.id_number
        ),
        judged AS (
            SELECT c.id_number, c."row", c.division_county,
                   $with_assistance AND o.id_number IS NOT NULL
                       AND NOT coalesce(k.living, false) AND NOT coalesce(r.rl, false) AS lv,
                   p.category IS NOT NULL
                       AND NOT coalesce(k.nursing, false) AND NOT coalesce(r.rn, false) AS nv
            FROM cand c
            LEFT JOIN living_ok o ON o.id_number = c.id_number
            LEFT JOIN nursing_pairs p ON p.category = c.cert_category AND p.grade = c.cert_grade
            LEFT JOIN blocked k ON k.id_number = c.id_number
            LEFT JOIN receiving r ON r.id_number = c.id_number
        ),
        hits AS (SELECT * FROM judged WHERE lv OR nv),
        enrolment AS (
            SELECT b.* FROM bd b JOIN hits h ON h.id_number = b.id_number
            QUALIFY row_number() OVER (
                PARTITION BY b.id_number
                ORDER BY (b.county_code = h.division_county) DESC, (b.rl OR b.rn) DESC,
                         b.county_code, b.idx) = 1
        )
        SELECT e.idx, h.id_number, coalesce(e.name, c.name, ''),
               coalesce(e.county_code, h.division_county), e.enrolment_key,
               'ELIGIBLE_NOT_ENROLLED', h.lv, h.nv, 'NOTIFY', NULL,
               'cert_base', h."row", c.raw, c.name,
               NULL, NULL, NULL, NULL, NULL, NULL
        FROM hits h
        JOIN cb c ON c."row" = h."row"
        LEFT JOIN enrolment e ON e.id_number = h.id_number
        """,
    ),
    "CERT_ID_MISMATCH": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_ID_MISMATCH', false, false, 'FIX_DATA', NULL,
               NULL, NULL, NULL, NULL, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b
        WHERE b.cert_number IS NOT NULL AND substr(b.cert_number, 1, 18) <> b.id_number
        """,
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_ID_MISMATCH', false, false, 'FIX_DATA', NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE c.cert_id <> c.id_number
        """,
    ),
    "CERT_CODE_MISMATCH": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_CODE_MISMATCH', false, false, 'FIX_DATA', NULL,
               NULL, NULL, NULL, NULL, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b
        WHERE b.cert_category IS NOT NULL
          AND ((b.category IS NOT NULL AND b.category <> b.cert_category)
               OR (b.grade IS NOT NULL AND b.grade <> b.cert_grade))
        """,
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'CERT_CODE_MISMATCH', false, false, 'FIX_DATA', NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE c.category <> c.cert_category OR c.grade <> c.cert_grade
        """,
    ),
}

_NO_CERTIFICATE_WITH_BASE = """
    INSERT INTO f
    SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'NO_CERTIFICATE', b.rl, b.rn, 'STOP', NULL,
           'cert_base', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM bd b
    WHERE (b.rl OR b.rn) AND NOT EXISTS (SELECT 1 FROM cb c WHERE c.id_number = b.id_number)
"""
_NO_CERTIFICATE_WITHOUT_BASE = """
    INSERT INTO f
    SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, 'NO_CERTIFICATE', b.rl, b.rn, 'STOP', NULL,
           NULL, NULL, NULL, NULL, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
    FROM bd b
    WHERE (b.rl OR b.rn) AND b.cert_number IS NULL
"""


# --------------------------------------------------------------------------------------------
# Running


def _division_prefix(division: str) -> str:
    if not (division.isascii() and division.isdigit() and len(division) in (6, 9, 12)):
        raise ValueError(f"division must be a 6-, 9- or 12-digit code, not {division!r}")
    return division_prefix(division)


def _plan(supplied: set[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Which rules run, and which do not (or only in part) for want of which rosters."""
    evaluated: list[str] = []
    not_evaluated: list[tuple[str, list[str]]] = []
    for rule in RULES:
        missing = [kind for kind in rule.needs if kind not in supplied]
        if rule.any_of:
            if len(missing) < len(rule.needs):
                evaluated.append(rule.code)
            if missing:
                not_evaluated.append((rule.code, missing))
            continue
        if missing:
            not_evaluated.append((rule.code, missing))
        else:
            evaluated.append(rule.code)
            if rule.code == "ELIGIBLE_NOT_ENROLLED" and "assistance" not in supplied:
                # The nursing half runs; the living half needs the assistance roster.
                not_evaluated.append((rule.code, ["assistance"]))
    return evaluated, not_evaluated


def _setup_rule_tables(con: duckdb.DuckDBPyConnection, rules: RuleSet, supplied: set[str]) -> None:
    con.execute("CREATE TEMP TABLE nursing_pairs (category INTEGER, grade INTEGER)")
    con.executemany("INSERT INTO nursing_pairs VALUES (?, ?)", sorted(rules.nursing_pairs))
    con.execute("CREATE TEMP TABLE living_types (family_type VARCHAR)")
    con.executemany(
        "INSERT INTO living_types VALUES (?)", [(t,) for t in sorted(rules.living_family_types)]
    )
    con.execute(
        "CREATE TEMP TABLE exclusions "
        "(benefit VARCHAR, living_status VARCHAR, nursing_status VARCHAR)"
    )
    known = [
        (benefit, statuses["living"], statuses["nursing"])
        for benefit, statuses in rules.exclusions.items()
        if benefit in _BENEFIT_ROSTERS
    ]
    if known:
        con.executemany("INSERT INTO exclusions VALUES (?, ?, ?)", known)
    con.execute("CREATE TEMP TABLE supplied (kind VARCHAR)")
    if supplied:
        con.executemany("INSERT INTO supplied VALUES (?)", [(k,) for k in sorted(supplied)])


def compare(
    beneficiaries: Iterable[Beneficiary | Sequence[Any]] | str | os.PathLike[str],
    rosters: Mapping[str, ParsedRoster | SpooledRoster],
    *,
    as_of: date,
    division: str,
    rules: RuleSet = SHANXI_2023,
    config: EngineConfig | None = None,
) -> ComparisonResult:
    """Run the comparison of ``docs/rules.md`` for ``division`` on ``as_of``.

    ``beneficiaries`` may cover more than the division (e.g. the whole province); only those
    whose county lies in ``division`` are checked, but all of them count when deciding
    whether a certificate holder already receives a subsidy (应享未享).
    """
    unknown = set(rosters) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown roster kinds: {sorted(unknown)}")
    prefix = _division_prefix(division)
    config = config or EngineConfig()
    supplied = set(rosters)
    evaluated, not_evaluated = _plan(supplied)
    roster_errors = {kind: list(r.errors) for kind, r in rosters.items() if r.errors}

    with tempfile.TemporaryDirectory(prefix="compare-") as tmpdir:
        tmp = Path(tmpdir)
        con = _connect(config, tmp)
        try:
            params = {
                "as_of": as_of,
                "prefix": prefix,
                "expiring_until": as_of + timedelta(days=rules.expiring_days),
                "with_assistance": "assistance" in supplied,
            }
            _load_beneficiaries(con, beneficiaries, tmp, prefix)
            # cert_base first and whole: it defines, with the division's beneficiaries, whom
            # the run can concern; every other roster is then loaded for those people only.
            for kind in ("cert_base", *(k for k in KINDS if k != "cert_base")):
                roster = rosters.get(kind)
                if isinstance(roster, SpooledRoster):
                    path = roster.path
                else:
                    path = tmp / f"{kind}.csv"
                    _write_roster_csv(kind, roster.rows if roster else (), path)
                _load_roster(con, kind, path, relevant_only=kind != "cert_base")
                if kind == "cert_base":
                    for statement in _PREPARE_BASE:
                        con.execute(statement, _used(statement, params))
            _setup_rule_tables(con, rules, supplied)
            for statement in _PREPARE:
                con.execute(statement, _used(statement, params))
            con.execute(_CREATE_F)
            for code in evaluated:
                for statement in _rule_statements(code, supplied):
                    con.execute(statement, _used(statement, params))
            checked = _scalar(con, "SELECT count(*) FROM bd")
            findings = list(_fetch_findings(con))
        finally:
            con.close()
    return ComparisonResult(
        as_of=as_of,
        division=division,
        checked=checked,
        evaluated_rules=evaluated,
        not_evaluated=not_evaluated,
        findings=findings,
        roster_errors=roster_errors,
    )


def _rule_statements(code: str, supplied: set[str]) -> tuple[str, ...]:
    if code == "NO_CERTIFICATE":
        if "cert_base" in supplied:
            return (_NO_CERTIFICATE_WITH_BASE,)
        return (_NO_CERTIFICATE_WITHOUT_BASE,)
    return _RULE_SQL[code]


def _used(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DuckDB refuses named parameters a statement does not use; pass only those it does."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------------------------
# Formatting findings


def _subsidy(living: bool, nursing: bool) -> Subsidy | None:
    if living and nursing:
        return "both"
    if living:
        return "living"
    if nursing:
        return "nursing"
    return None


def _category_text(value: int | None) -> str:
    return CATEGORIES.get(value, "") if value is not None else ""


def _grade_text(value: int | None) -> str:
    return GRADES.get(value, "") if value is not None else ""


def _record_values(code: str, id_number: str, rec: Sequence[Any]) -> dict[str, str]:
    """Evidence values quoted from the beneficiary record, under its import headers."""
    cert, category, grade, expiry, division, kept = rec
    cert = cert or ""
    if code == "NO_CERTIFICATE":
        return {"残疾人证号": cert}
    if code in ("CERT_EXPIRED", "CERT_EXPIRING"):
        return {"残疾人证号": cert, "证件有效期至": expiry.isoformat() if expiry else ""}
    if code == "GRADE_INSUFFICIENT":
        digits = cert[18:20]
        cat = _category_text(int(digits[0])) if digits[:1].isdigit() else ""
        grd = _grade_text(int(digits[1])) if digits[1:2].isdigit() else ""
        return {"残疾人证号": cert, "残疾类别": cat, "残疾等级": grd}
    if code == "CERT_ID_MISMATCH":
        return {"公民身份号码": id_number, "残疾人证号": cert}
    if code == "CERT_CODE_MISMATCH":
        return {
            "残疾人证号": cert,
            "残疾类别": _category_text(category),
            "残疾等级": _grade_text(grade),
        }
    if code == "DUPLICATE_ENROLMENT":
        return {"户籍区划代码": division or "", "保留登记的户籍区划代码": kept or ""}
    return {}


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def _fetch_findings(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    con.execute("CREATE TEMP TABLE code_order (code VARCHAR, ord INTEGER)")
    con.executemany("INSERT INTO code_order VALUES (?, ?)", [(c, i) for i, c in enumerate(CODES)])
    cursor = con.execute(
        """
        SELECT f.id_number, f.name, f.county_code, f.enrolment_key, f.code, f.living, f.nursing,
               f.action, f.event_date, f.roster, f.evidence_row, f.vals, f.roster_name,
               f.rec_cert, f.rec_category, f.rec_grade, f.rec_expiry, f.rec_division,
               f.kept_county
        FROM f JOIN code_order o USING (code)
        ORDER BY f.county_code, f.id_number, o.ord, f.roster NULLS FIRST, f.enrolment_key
        """
    )
    while batch := cursor.fetchmany(20_000):
        for (
            id_number,
            name,
            county,
            enrolment,
            code,
            living,
            nursing,
            action,
            event_date,
            roster,
            row,
            vals,
            roster_name,
            *rec,
        ) in batch:
            if roster is not None and row is not None:
                values = json.loads(vals) if vals else {}
            elif roster is None:
                values = _record_values(code, id_number, rec)
            else:
                values = {}
            note = None
            if roster_name and name and not _same_name(roster_name, name):
                note = (
                    f"{ROSTERS[roster].label}中姓名为「{roster_name}」，与档案姓名「{name}」不一致"
                )
            yield Finding(
                id_number=id_number,
                name=name or "",
                code=code,
                subsidy=_subsidy(bool(living), bool(nursing)),
                action=action,
                event_date=event_date,
                evidence=Evidence(roster=roster, row=row, values=values),
                county_code=county,
                enrolment_key=enrolment,
                note=note,
            )
