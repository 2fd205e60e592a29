"""The findings table ``f`` read back as :class:`~review.findings.Finding` objects, in report
order, with the evidence values and remarks (a name spelt differently in the roster)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb

from core.codes import CODES
from review.engine.rules import _record_values
from review.findings import (
    Evidence,
    Finding,
    Subsidy,
)
from review.rosters import (
    ROSTERS,
)


def _subsidy(living: bool, nursing: bool) -> Subsidy | None:
    if living and nursing:
        return "both"
    if living:
        return "living"
    if nursing:
        return "nursing"
    return None


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
