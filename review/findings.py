"""Findings of a data comparison (比对发现) as plain data, and the diff between two runs.

Kept apart from the DuckDB engine so that the web side, the CLI and the verification workflow
can read, store and diff findings without importing DuckDB: a finding is the unit a person
verifies (核查), so its shape and its identity (:func:`finding_key`) are a public contract
(``docs/commands.md`` prints it as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.codes import ACTIONS, CODE_LABELS, CODES, Action, Subsidy

__all__ = [
    "ACTIONS",
    "CODES",
    "CODE_LABELS",
    "Evidence",
    "Finding",
    "FindingDiff",
    "diff_findings",
    "evidence_fingerprint",
    "finding_key",
]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a finding comes from: roster kind, row number, and the cells as read.

    ``roster`` is ``None`` when the evidence is the beneficiary record itself (e.g. a
    certificate number that contradicts the recorded grade); ``row`` is ``None`` when the
    evidence is an *absence* (no row for the person in ``cert_base``).
    """

    roster: str | None
    row: int | None
    values: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``docs/commands.md``."""
        return {"roster": self.roster, "row": self.row, "values": dict(self.values)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding about one beneficiary (or, for 应享未享, one certificate holder).

    ``county_code`` and ``enrolment_key`` identify the enrolment the finding acts on: a stop
    ends an enrolment, and an enrolment belongs to a county.  ``note`` carries remarks that
    are not findings themselves, such as a name spelt differently in the roster.
    """

    id_number: str
    name: str
    code: str
    subsidy: Subsidy | None
    action: Action
    event_date: date | None
    evidence: Evidence
    county_code: str
    enrolment_key: str | None = None
    note: str | None = None

    @property
    def key(self) -> str:
        """See :func:`finding_key`."""
        return finding_key(self)

    @property
    def label(self) -> str:
        """The Chinese name of the code, for reports."""
        return CODE_LABELS[self.code]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``docs/commands.md`` (plus ``county_code`` and ``note``)."""
        return {
            "id_number": self.id_number,
            "name": self.name,
            "code": self.code,
            "subsidy": self.subsidy,
            "action": self.action,
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "evidence": self.evidence.to_dict(),
            "county_code": self.county_code,
            "note": self.note,
        }


def finding_key(finding: Finding | Mapping[str, Any] | str) -> str:
    """A stable identity for a finding across runs: ``code|id|county|roster``.

    Row numbers and values are left out on purpose: next month's death list has the same
    person on another row, and that is the *same* finding, still open — not a resolved one
    plus a new one.  The subsidy is left out too, so a finding that narrows from ``both`` to
    ``living`` stays the same finding.  Accepts a :class:`Finding`, its JSON dict (as stored),
    or an already computed key.
    """
    if isinstance(finding, str):
        return finding
    if isinstance(finding, Finding):
        parts = (finding.code, finding.id_number, finding.county_code, finding.evidence.roster)
    else:
        evidence = finding.get("evidence") or {}
        parts = (
            finding["code"],
            finding["id_number"],
            finding.get("county_code") or "",
            evidence.get("roster"),
        )
    return "|".join(part or "" for part in parts)


def evidence_fingerprint(evidence: Mapping[str, Any] | None) -> str:
    """What a verdict was given on: the roster and the values quoted from it, not the row
    number (next month's list has the person on another row). A not-confirmed verdict is
    carried to the same finding in later runs only while this is unchanged, so new evidence
    (another death date, another certificate status) is verified afresh."""
    evidence = evidence or {}
    values = evidence.get("values") or {}
    return json.dumps(
        [evidence.get("roster"), sorted((str(k), str(v)) for k, v in values.items())],
        ensure_ascii=False,
    )


@dataclass
class FindingDiff:
    """How a run compares with the previous one for the same division."""

    new: list[Finding]
    still_open: list[Finding]
    resolved: list[str]  # keys of previous findings no longer raised


def diff_findings(
    previous: Iterable[Finding | Mapping[str, Any] | str], current: Iterable[Finding]
) -> FindingDiff:
    """Split ``current`` into new and still-open findings and list the resolved keys.

    Resolved means "not raised this time", which is only meaningful when both runs evaluated
    the same rule; callers compare runs of the same division with the same rosters.
    """
    before = {finding_key(item) for item in previous}
    new: list[Finding] = []
    still_open: list[Finding] = []
    seen: set[str] = set()
    for finding in current:
        key = finding_key(finding)
        seen.add(key)
        (still_open if key in before else new).append(finding)
    resolved = sorted(before - seen)
    return FindingDiff(new=new, still_open=still_open, resolved=resolved)
