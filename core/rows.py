"""One rejected cell or row of a file someone brought (a beneficiary roster, a comparison
roster): where it is and why, as ``docs/formats.md`` words it. The importer
(`archive.imports`) and the comparison rosters (`review.rosters`) report the same thing, so
they share this one class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected cell or row: ``第N行，列名：reason``.  Row 0 is the file as a whole; an
    empty column is the row as a whole."""

    row: int
    column: str
    code: str
    message: str

    def __str__(self) -> str:
        where = f"第{self.row}行，" if self.row else ""
        column = f"{self.column}：" if self.column else ""
        return f"{where}{column}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``docs/commands.md``."""
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}
