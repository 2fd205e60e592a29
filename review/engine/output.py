"""The findings table ``f`` read back in report order, formatted once, in SQL, for both ways
out: as :class:`~review.findings.Finding` objects (:func:`_fetch_findings`: the CLI, the
tests, a run on SQLite) or as a CSV file of the rows a run stores (:func:`_write_findings`:
a province run on PostgreSQL copies that file into the database untouched by Python, which
spent ≈ 5 s of a 19 s run building and sending 190 000 findings: docs/benchmarks.md, "Storing
findings")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb

from core.codes import CODES
from core.numbers import CATEGORIES, GRADES
from review.findings import (
    Evidence,
    Finding,
)
from review.rosters import (
    ROSTERS,
)

#: What each rule whose evidence is the beneficiary record itself quotes from it (the shapes
#: of ``WHEN q.quote`` below), under the import headers (docs/formats.md), so the finding reads
#: like the roster the office keeps.
RECORD_QUOTES: dict[str, str] = {
    "NO_CERTIFICATE": "certificate",
    "CERT_EXPIRED": "expiry",
    "CERT_EXPIRING": "expiry",
    "GRADE_INSUFFICIENT": "grade_in_number",
    "CERT_ID_MISMATCH": "id_and_certificate",
    "CERT_CODE_MISMATCH": "recorded_category",
    "DUPLICATE_ENROLMENT": "enrolment_counties",
}

# One row per finding in report order (``ord``): the subsidy in the words of core/codes.py;
# the evidence values — the roster's cells as read, the record's quoted ones (category and
# grade in words from table ``word``: ``nc``/``ng`` those of the number's digits, ``rc``/``rg``
# the recorded ones), or none for an absence; and the note on a name spelt otherwise in the
# roster, compared without whitespace as Python's ``str.split()`` sees it (``张 叁`` is 张叁).
_FINDINGS_VIEW = r"""
CREATE TEMP VIEW findings_out AS
SELECT row_number() OVER (
           ORDER BY f.county_code, f.id_number, o.ord, f.roster NULLS FIRST, f.enrolment_key
       ) AS ord,
       f.id_number, coalesce(f.name, '') AS name, f.county_code, f.enrolment_key, f.code,
       CASE WHEN f.living AND f.nursing THEN 'both' WHEN f.living THEN 'living'
            WHEN f.nursing THEN 'nursing' END AS subsidy,
       f.action, f.event_date, f.roster, f.evidence_row AS "row",
       CAST(CASE
           WHEN f.roster IS NOT NULL AND f.evidence_row IS NOT NULL THEN coalesce(f.vals, '{}')
           WHEN f.roster IS NOT NULL THEN '{}'
           ELSE coalesce(CASE q.quote
               WHEN 'certificate' THEN json_object('残疾人证号', coalesce(f.rec_cert, ''))
               WHEN 'expiry' THEN json_object(
                   '残疾人证号', coalesce(f.rec_cert, ''),
                   '证件有效期至', coalesce(CAST(f.rec_expiry AS VARCHAR), ''))
               WHEN 'grade_in_number' THEN json_object(
                   '残疾人证号', coalesce(f.rec_cert, ''),
                   '残疾类别', coalesce(nc.label, ''), '残疾等级', coalesce(ng.label, ''))
               WHEN 'id_and_certificate' THEN json_object(
                   '公民身份号码', f.id_number, '残疾人证号', coalesce(f.rec_cert, ''))
               WHEN 'recorded_category' THEN json_object(
                   '残疾人证号', coalesce(f.rec_cert, ''),
                   '残疾类别', coalesce(rc.label, ''), '残疾等级', coalesce(rg.label, ''))
               WHEN 'enrolment_counties' THEN json_object(
                   '户籍区划代码', coalesce(f.rec_division, ''),
                   '保留登记的户籍区划代码', coalesce(f.kept_county, ''))
           END, '{}')
       END AS JSON) AS "values",
       CASE WHEN f.roster_name <> '' AND f.name <> ''
                 AND regexp_replace(f.roster_name, '[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]', '', 'g')
                     <> regexp_replace(f.name, '[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]', '', 'g')
            THEN l.label || '中姓名为「' || f.roster_name || '」，与档案姓名「' || f.name || '」不一致'
       END AS note
FROM f
JOIN code_order o USING (code)
LEFT JOIN roster_label l ON l.kind = f.roster
LEFT JOIN record_quote q ON q.code = f.code
LEFT JOIN word nc
    ON nc.field = 'category' AND nc.value = TRY_CAST(substr(f.rec_cert, 19, 1) AS INTEGER)
LEFT JOIN word ng
    ON ng.field = 'grade' AND ng.value = TRY_CAST(substr(f.rec_cert, 20, 1) AS INTEGER)
LEFT JOIN word rc ON rc.field = 'category' AND rc.value = f.rec_category
LEFT JOIN word rg ON rg.field = 'grade' AND rg.value = f.rec_grade
"""

# The columns of a stored finding that the engine knows, in the file's order; ``key`` is
# review.findings.finding_key in SQL (``concat`` reads NULL as '').
_FILE_SELECT = """
SELECT ord, id_number, name, county_code, enrolment_key, code, subsidy, action, event_date,
       json_object('roster', roster, 'row', "row", 'values', "values") AS evidence, note,
       concat(code, '|', id_number, '|', county_code, '|', roster) AS key
FROM findings_out
"""

#: The header of the file :func:`_write_findings` writes.
FINDING_FILE_COLUMNS = (
    "ord",
    "id_number",
    "name",
    "county_code",
    "enrolment_key",
    "code",
    "subsidy",
    "action",
    "event_date",
    "evidence",
    "note",
    "key",
)


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE code_order (code VARCHAR, ord INTEGER)")
    con.executemany("INSERT INTO code_order VALUES (?, ?)", [(c, i) for i, c in enumerate(CODES)])
    con.execute("CREATE TEMP TABLE roster_label (kind VARCHAR, label VARCHAR)")
    con.executemany(
        "INSERT INTO roster_label VALUES (?, ?)", [(k, s.label) for k, s in ROSTERS.items()]
    )
    con.execute("CREATE TEMP TABLE word (field VARCHAR, value INTEGER, label VARCHAR)")
    con.executemany(
        "INSERT INTO word VALUES (?, ?, ?)",
        [("category", value, label) for value, label in sorted(CATEGORIES.items())]
        + [("grade", value, label) for value, label in sorted(GRADES.items())],
    )
    con.execute("CREATE TEMP TABLE record_quote (code VARCHAR, quote VARCHAR)")
    con.executemany("INSERT INTO record_quote VALUES (?, ?)", sorted(RECORD_QUOTES.items()))
    con.execute(_FINDINGS_VIEW)


def _fetch_findings(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    _prepare(con)
    cursor = con.execute(
        """
        SELECT id_number, name, code, subsidy, action, event_date, roster, "row", "values",
               county_code, enrolment_key, note
        FROM findings_out ORDER BY ord
        """
    )
    while batch := cursor.fetchmany(20_000):
        for (
            id_number,
            name,
            code,
            subsidy,
            action,
            event_date,
            roster,
            row,
            values,
            county,
            enrolment,
            note,
        ) in batch:
            yield Finding(
                id_number=id_number,
                name=name,
                code=code,
                subsidy=subsidy,
                action=action,
                event_date=event_date,
                evidence=Evidence(roster=roster, row=row, values=json.loads(values)),
                county_code=county,
                enrolment_key=enrolment,
                note=note,
            )


def _write_findings(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The findings as a CSV file with a header (:data:`FINDING_FILE_COLUMNS`): NULL an empty
    cell, '' a quoted empty one, dates in ISO form, the evidence as JSON; rows in no order
    (``ord`` gives it). Returns how many."""
    _prepare(con)
    con.sql(_FILE_SELECT).write_csv(str(path), header=True)
    row = con.execute("SELECT count(*) FROM f").fetchone()
    return int(row[0]) if row else 0
