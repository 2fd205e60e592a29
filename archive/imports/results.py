"""What an import says: the modes, one rejected (:class:`RowError`) or flagged (:class:`RowFlag`)
cell, a valid row, the outcome of validation and of the whole import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from core.cells import Expiry
from core.codes import FLAG_LABELS
from core.numbers import CertificateNumber
from core.rows import RowError

KIND = "beneficiaries"
ATOMIC = "atomic"
SKIP_INVALID = "skip_invalid"
Mode = Literal["atomic", "skip_invalid"]

OUTCOME_LABELS: dict[str, str] = {
    "created": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "rejected": "拒绝",
}
#: The preview's filter of the rows kept with a flag (a row's outcome is still one of the above).
FLAGGED_LABEL = "有问题标记"

#: ``progress(stage, done, total)``; stage is ``"validate"`` or ``"write"``.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class RowFlag(RowError):
    """A problem of a row that is kept and flagged, not rejected (``docs/formats.md``): the
    code is one of :data:`core.codes.FLAG_CODES`.  ``subsidy`` names the enrolment a flag of
    a subsidy concerns (``living`` / ``nursing``); it is empty for a flag of the person."""

    subsidy: str = ""

    @property
    def label(self) -> str:
        return FLAG_LABELS[self.code]

    def __str__(self) -> str:
        return f"{RowError.__str__(self)}（{self.label}）"


@dataclass(slots=True)
class ValidRow:
    """A roster row that passed every rule, in normalised form.

    Optional text fields are ``""`` when the cell is empty; whether the *column* was in the
    file is recorded once in :attr:`Validation.columns`, not per row.
    """

    row: int
    id_number: str
    name: str
    sex: str
    birth_date: date
    hukou_code: str
    county: str
    family_type: str
    living: bool
    nursing: bool
    certificate: CertificateNumber | None = None
    #: 残疾类别 / 残疾等级 as the file records them (they may differ from the certificate
    #: number's digits: a ``CERT_CODE_MISMATCH`` flag, and the comparison's finding).
    category: int | None = None
    grade: int | None = None
    expiry: Expiry = None
    hukou_address: str = ""
    guardian: str = ""
    phone: str = ""
    living_amount: Decimal | None = None
    nursing_amount: Decimal | None = None
    payee: str = "本人"
    start_month: date | None = None


@dataclass
class Validation:
    """The outcome of the validation layer for one file."""

    rows: list[ValidRow]
    errors: list[RowError]
    notices: list[str]
    #: Canonical headers present in the file (absent optional columns leave data alone).
    columns: frozenset[str]
    #: Data rows read (valid and rejected).
    total: int
    #: The flags of the valid rows (a rejected row's flags are not reported: it is not kept).
    flags: list[RowFlag] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        """Numbers of the rejected rows, ascending (row 0, the file, excluded)."""
        return sorted({e.row for e in self.errors if e.row})


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    filename: str
    sha256: str
    mode: str
    dry_run: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    flags: list[RowFlag] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    #: row number → ``created`` / ``updated`` / ``unchanged`` (rejected rows are in errors).
    outcomes: dict[int, str] = field(default_factory=dict)
    #: The persisted record; ``None`` for dry runs and rejected imports.
    record_id: int | None = None
    #: Whether anything was written.
    written: bool = False

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors if e.row})

    @property
    def flagged_rows(self) -> list[int]:
        return sorted({f.row for f in self.flags})

    @property
    def rejected(self) -> bool:
        """True when the input as a whole was refused (atomic mode with errors)."""
        return self.mode == ATOMIC and bool(self.errors)

    def as_json(self) -> dict[str, Any]:
        """Exactly the ``docs/commands.md`` shape."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [e.as_dict() for e in self.errors],
            "flagged": [f.as_dict() for f in self.flags],
        }
