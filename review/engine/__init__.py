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
    for small files and tests) or a :class:`SpooledRoster` (typed Parquet on disk, produced by
    :func:`spool_roster` in bounded memory).

Every rule lives in :data:`RULES` with the rosters it needs: a rule whose roster was not
supplied is not evaluated and the result says so (absence of evidence is never a finding).
The interpretation choices where ``docs/rules.md`` leaves room are listed in
``docs/comparison.md``; the SQL below implements exactly those.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from core.divisions import division_prefix
from core.eligibility import SHANXI_2023, RuleSet
from review.engine.inputs import (
    BENEFICIARY_COLUMNS,
    Beneficiary,
    ComparisonResult,
    EngineConfig,
    SpooledRoster,
    _connect,
    _load_beneficiaries,
    _load_roster,
    _write_roster_csv,
    spool_is_current,
    spool_roster,
    spool_roster_files,
    write_beneficiaries_csv,
)
from review.engine.output import FINDING_FILE_COLUMNS, _fetch_findings, _write_findings
from review.engine.rules import (
    _CREATE_F,
    _PREPARE,
    _PREPARE_BASE,
    RULES,
    _plan,
    _rule_statements,
    _setup_rule_tables,
    rule_params,
)
from review.findings import Evidence, Finding, FindingDiff, diff_findings, finding_key
from review.rosters import KINDS, ParsedRoster

__all__ = [
    "BENEFICIARY_COLUMNS",
    "FINDING_FILE_COLUMNS",
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
    "spool_is_current",
    "spool_roster",
    "spool_roster_files",
    "write_beneficiaries_csv",
]


def _division_prefix(division: str) -> str:
    if not (division.isascii() and division.isdigit() and len(division) in (6, 9, 12)):
        raise ValueError(f"division must be a 6-, 9- or 12-digit code, not {division!r}")
    return division_prefix(division)


def compare(
    beneficiaries: Iterable[Beneficiary | Sequence[Any]] | str | os.PathLike[str],
    rosters: Mapping[str, ParsedRoster | SpooledRoster],
    *,
    as_of: date,
    division: str,
    rules: RuleSet = SHANXI_2023,
    config: EngineConfig | None = None,
    findings_file: str | os.PathLike[str] | None = None,
) -> ComparisonResult:
    """Run the comparison of ``docs/rules.md`` for ``division`` on ``as_of``.

    ``beneficiaries`` may cover more than the division (e.g. the whole province); only those
    whose county lies in ``division`` are checked, but all of them count when deciding
    whether a certificate holder already receives a subsidy (应享未享).

    The findings come back as objects, or, with ``findings_file``, are written to that CSV
    file (:data:`FINDING_FILE_COLUMNS`, the rows a run stores) and not listed: a province's
    190 000 findings need never be Python objects (``review/services/runs.py``).
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
                bound = params | rule_params(code)
                for statement in _rule_statements(code, supplied):
                    con.execute(statement, _used(statement, bound))
            checked = _scalar(con, "SELECT count(*) FROM bd")
            if findings_file is None:
                findings = list(_fetch_findings(con))
                count = len(findings)
            else:
                findings = []
                count = _write_findings(con, Path(findings_file))
        finally:
            con.close()
    return ComparisonResult(
        as_of=as_of,
        division=division,
        checked=checked,
        evaluated_rules=evaluated,
        not_evaluated=not_evaluated,
        findings=findings,
        finding_count=count,
        roster_errors=roster_errors,
    )


def _used(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DuckDB refuses named parameters a statement does not use; pass only those it does."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------------------------
# Formatting findings
