"""The rejected rows as a workbook, to correct and import again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from archive.exports import xlsx_bytes
from archive.imports.results import RowError
from core.tabular import Row


def rejected_rows_xlsx(
    rows: Iterable[Row], errors: Iterable[RowError], headers: Sequence[str] | None = None
) -> bytes:
    """The rejected rows as an xlsx workbook: the original columns plus 错误原因.

    ``rows`` are the table's rows as read (e.g. ``read_table(...).rows``); only those named in
    ``errors`` are written, in file order, so that a clerk can correct the workbook and import
    it again.  Every cell is written as text or as the value read, never as a formula
    (:mod:`archive.exports`).
    """
    reasons: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        if error.row:
            column = f"{error.column}：" if error.column else ""
            reasons[error.row].append(f"{column}{error.message}")

    def export_rows():
        header_row: list[str] | None = list(headers) if headers is not None else None
        if header_row is not None:
            yield [*header_row, "错误原因"]
        for number, cells in rows:
            if number not in reasons:
                continue
            if header_row is None:
                header_row = list(cells)
                yield [*header_row, "错误原因"]
            yield [
                *(cells.get(h) for h in header_row),
                f"第{number}行 " + "；".join(reasons[number]),
            ]
        if header_row is None:
            yield ["错误原因"]

    return xlsx_bytes("被拒绝的行", export_rows())
