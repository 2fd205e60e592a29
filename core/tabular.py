"""The one reader for every spreadsheet people bring to the system.

Staff live in spreadsheets (``docs/formats.md``): the beneficiary roster and the seven comparison
rosters all arrive as ``.xlsx`` or ``.csv``, from Excel on Chinese Windows as often as from
anything else.  Every import goes through :func:`read_table` so that the same file is judged
the same way everywhere:

* the type is decided by the *content*, never by the extension — a PDF renamed ``.xlsx`` or an
  old ``.xls`` saved under a new name is refused with a message a clerk can act on;
* CSV is UTF-8 (with or without BOM) or, when that does not decode, GB18030 (the superset of
  GBK that Excel writes on Chinese Windows);
* xlsx is opened with openpyxl in read-only mode and *without* cached values, so that formula
  cells are seen as formulas and refused: a formula's cached value may be stale or absent
  (files written by other tools often carry none), and importing it would silently store a
  guess.  A workbook whose worksheets hold no formula and no error cell (what the bomb
  checks below find on the way) is read by python-calamine instead, whole, in Rust, its
  values given as openpyxl gives them;
* an xlsx is a ZIP of XML parts, and a small one can unpack into gigabytes (a "bomb": ten
  million shared strings in 419 KB, or one 1 GB string). Before openpyxl sees it, every part
  is streamed once (:func:`_check_xlsx_parts`): the declared and the actual unpacked sizes are
  capped, as is the ratio of unpacked to packed bytes (Apache POI's 1:100 rule), the number
  of shared strings and the length of any text between two tags; a DTD (entity expansion) is
  refused. openpyxl then only ever parses what passed. Any parse failure of the workbook is
  a :class:`TableError` with a Chinese message, never an exception of the XML library;
* every structural problem (empty file, no header row, missing required headers, duplicate
  headers, oversize, too many rows, formula cells, undecodable text, bombs, malformed XML,
  cells longer than Excel allows) is a :class:`TableError`
  raised by :func:`read_table` itself, i.e. *before* the caller has seen a single row and so
  before anything can have been written.

To honour the last point while still streaming (a 1e6-row CSV must not be held in memory),
:func:`read_table` makes one validating pass over the data and :attr:`Table.rows` re-reads the
source lazily each time it is iterated.  Both passes are streaming; memory stays bounded by one
row.  The module deliberately knows nothing about Django or about what the columns mean: cells
are handed back raw (strings from CSV; str/int/float/datetime/bool from xlsx) for the
per-column parsers to judge.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal

__all__ = [
    "BLANK_CHARS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_MAX_SHARED_STRINGS",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "MAX_CELL_CHARS",
    "CsvLayout",
    "HeaderSpec",
    "Row",
    "Table",
    "TableError",
    "column_letter",
    "read_table",
]

#: Default upper bound on the file size.  Large enough for a province-wide CSV roster
#: (1e6 rows of ~120 bytes), small enough that a mistaken upload of a scan archive is refused
#: at once instead of being decoded.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Default upper bound on data rows; Excel itself stops at 1 048 576 rows per sheet.
DEFAULT_MAX_ROWS = 2_000_000

#: Upper bound on the unpacked size of all parts of an xlsx together, declared or actual. A
#: province-wide roster of 1e6 rows unpacks to a few hundred MB of sheet XML.
DEFAULT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
#: Upper bound on the shared strings of an xlsx: openpyxl keeps them all in memory. A roster
#: of 1e6 people has at most a few million distinct texts (names, numbers, addresses).
DEFAULT_MAX_SHARED_STRINGS = 5_000_000
#: Excel's own limit on the characters of one cell.
MAX_CELL_CHARS = 32_767
#: Most unpacked bytes per packed byte of a part (Apache POI's default): real sheet XML packs
#: 5–30 times; a bomb thousands of times. Parts smaller than the grace size are not judged.
_MAX_RATIO = 100
_RATIO_GRACE_BYTES = 1024 * 1024
_MAX_PARTS = 10_000
#: Longest run of bytes between two tags. openpyxl silently cuts a longer cell to Excel's
#: limit, so a longer text is refused instead; roster cells are short, so counting bytes
#: (three per Chinese character) rather than characters loses nothing real.
_MAX_TEXT_RUN_BYTES = MAX_CELL_CHARS
_SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
#: What only openpyxl reads as the rest of this module expects, in a worksheet part: a
#: formula element (``<f>``, ``<f t="shared" …/>``, ``<x:f>``) or an error cell (``t="e"``,
#: whose text, e.g. ``#N/A``, calamine does not give).
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]|\st=[\"']e[\"']")
_CHUNK = 1024 * 1024

#: Characters stripped around header text: ordinary whitespace plus the ideographic space,
#: no-break space and a stray BOM, all of which Chinese spreadsheets routinely carry.
BLANK_CHARS = " \t\r\n\u3000\u00a0\ufeff"
_SNIFF_BYTES = 64 * 1024
#: A record is blank when nothing but these is left of its cells joined by NUL.
_BLANK_OR_SEPARATOR = BLANK_CHARS + "\x00"
_MAX_FORMULA_REPORTS = 10

SourceType = str | os.PathLike[str] | bytes | bytearray | IO[bytes]
Row = tuple[int, dict[str, Any]]


class TableError(ValueError):
    """A file that cannot be read as a table at all, with a code and a Chinese message.

    Raised for whole-file problems only; a bad *cell* is the business of the per-column
    parsers and is reported per row.  ``details`` carries machine-readable extras (the missing
    headers, the offending cells) so that the web and CLI front ends can format them.
    """

    def __init__(self, code: str, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = list(details)

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable with its fields, so that a worker process can report it to its parent.
        return (type(self), (self.code, self.message, self.details))


@dataclass(frozen=True)
class HeaderSpec:
    """The headers an import expects: which are required and which are merely known.

    Headers outside ``required`` and ``optional`` are *unknown*: they are ignored and reported
    once (``docs/formats.md``), because a clerk who added a notes column should not be blocked, but
    a clerk who misspelt ``公民身份号码`` should see that the column was not used.
    """

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> frozenset[str]:
        """Every header the import understands."""
        return frozenset(self.required) | frozenset(self.optional)


@dataclass(frozen=True)
class CsvLayout:
    """What the validation pass learnt about a CSV file, for a reader other than Python's.

    A set-wise parser (``review.rosters``) may hand the file itself to a vectorised CSV reader
    instead of iterating :attr:`Table.rows`, but only when that reader must see the same
    records with the same numbers: ``simple`` holds when the header is the first record, no
    record spans lines, and no empty line lies between the header and the last data row.
    ``data_rows``, ``last_row`` and ``chars`` (the characters of every cell of every non-blank
    record) let it check that it did.  ``path`` or ``data`` is the source; ``columns`` maps
    each header to its 0-based column, ``width`` is the header record's number of fields.
    """

    path: Path | None
    data: bytes | None
    encoding: str
    delimiter: str
    header_row: int
    width: int
    columns: dict[str, int]
    simple: bool
    data_rows: int
    last_row: int
    chars: int


@dataclass
class Table:
    """A validated spreadsheet: its headers, and its rows read lazily from the source.

    ``rows`` is re-read from the source each time it is iterated (see the module docstring):
    keep the ``Table`` only as long as the source is available.  Each row is
    ``(row_number, {header: raw cell})`` where ``row_number`` is the number a person sees in
    Excel (the header row included), blank rows are skipped, and empty cells are ``None``.
    """

    format: Literal["xlsx", "csv"]
    headers: list[str]
    unknown_headers: list[str]
    row_count: int
    encoding: str | None = None
    _reopen: Any = field(default=None, repr=False)
    #: Set for CSV read from a path or bytes (see :class:`CsvLayout`); ``None`` for xlsx.
    csv_layout: CsvLayout | None = field(default=None, repr=False)

    @property
    def rows(self) -> Iterator[Row]:
        """A fresh streaming iterator over the data rows."""
        return self._reopen()

    def __iter__(self) -> Iterator[Row]:
        return self._reopen()

    def __len__(self) -> int:
        return self.row_count


def column_letter(index: int) -> str:
    """Excel column letters for a 0-based column index, to name a cell the way Excel does."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


# --------------------------------------------------------------------------------------------
# Source handling


class _Source:
    """Uniform, re-openable access to a path, a bytes object or a seekable binary file."""

    def __init__(self, source: SourceType) -> None:
        self._path: Path | None = None
        self._data: bytes | None = None
        self._file: IO[bytes] | None = None
        if isinstance(source, (bytes, bytearray)):
            self._data = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            self._path = Path(source)
        else:
            self._file = source

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def data(self) -> bytes | None:
        return self._data

    def size(self) -> int:
        if self._data is not None:
            return len(self._data)
        if self._path is not None:
            return self._path.stat().st_size
        assert self._file is not None
        pos = self._file.tell()
        self._file.seek(0, io.SEEK_END)
        end = self._file.tell()
        self._file.seek(pos)
        return end

    def open(self) -> IO[bytes]:
        """A binary stream positioned at the start; the caller closes it."""
        if self._data is not None:
            return io.BytesIO(self._data)
        if self._path is not None:
            return self._path.open("rb")
        assert self._file is not None
        self._file.seek(0)
        return _NonClosing(self._file)


class _NonClosing(io.RawIOBase):
    """Wraps a caller-owned file so that closing our reader does not close theirs."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --------------------------------------------------------------------------------------------
# Entry point


def read_table(
    source: SourceType,
    filename: str = "",
    *,
    spec: HeaderSpec | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    max_shared_strings: int = DEFAULT_MAX_SHARED_STRINGS,
) -> Table:
    """Open and validate a spreadsheet; raise :class:`TableError` for any whole-file problem.

    ``filename`` is used only in messages: the type is detected from the content.  With a
    ``spec``, missing required headers are an error (all of them are listed) and
    ``unknown_headers`` lists the headers the import will ignore.
    """
    src = _Source(source)
    label = f"文件「{filename}」" if filename else "文件"
    size = src.size()
    if size == 0:
        raise TableError("TABLE_EMPTY", f"{label}是空的。")
    if size > max_bytes:
        raise TableError(
            "TABLE_TOO_LARGE",
            f"{label}大小 {size} 字节，超过上限 {max_bytes} 字节，请拆分后分别导入。",
        )
    with src.open() as fh:
        head = fh.read(_SNIFF_BYTES)
    kind = _detect(head, label, src)
    if kind == "xlsx":
        formulas = _check_xlsx_parts(src, label, max_unpacked_bytes, max_shared_strings)
        return _read_xlsx(src, label, spec, max_rows, plain=not formulas)
    return _read_csv(src, head, label, spec, max_rows)


def _detect(head: bytes, label: str, src: _Source) -> Literal["xlsx", "csv"]:
    """Decide xlsx or CSV from the bytes; refuse everything else with a useful hint."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with src.open() as fh, zipfile.ZipFile(fh) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile as exc:
            raise TableError(
                "TABLE_CORRUPT", f"{label}不是完整的 xlsx 工作簿（压缩包已损坏）。"
            ) from exc
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise TableError(
            "TABLE_FORMAT",
            f"{label}是压缩包或其他办公文档，不是 xlsx 工作簿；请用 Excel 另存为 .xlsx 或 CSV。",
        )
    if head.startswith(b"%PDF"):
        raise TableError(
            "TABLE_FORMAT", f"{label}实际是 PDF 文档，不是表格；请上传 .xlsx 或 CSV 文件。"
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError(
            "TABLE_FORMAT",
            f"{label}是旧版 Excel（.xls）或其他 OLE 文档；请在 Excel 中另存为 .xlsx 或 CSV 后导入。",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TableError(
            "TABLE_ENCODING",
            f"{label}是 UTF-16 编码（Excel“Unicode 文本”）；请另存为“CSV UTF-8（逗号分隔）”。",
        )
    if b"\x00" in head:
        raise TableError("TABLE_FORMAT", f"{label}不是文本表格，也不是 xlsx 工作簿。")
    return "csv"


def _clean_header(value: Any) -> str:
    return "" if value is None else str(value).strip(BLANK_CHARS)


def _clean_cell(value: Any) -> Any:
    """Empty strings become ``None`` so that 'empty' means one thing for every parser."""
    if isinstance(value, str) and not value.strip(BLANK_CHARS):
        return None
    return value


def _is_blank(values: Iterable[Any]) -> bool:
    return all(_clean_cell(v) is None for v in values)


def _check_headers(
    raw: Sequence[Any], label: str, spec: HeaderSpec | None
) -> tuple[list[str], list[int], list[str]]:
    """Validate the header row; return headers, the column indexes they sit in, and unknowns.

    Columns with an empty header are ignored: Excel often keeps formatted but empty columns
    to the right of the data.  Duplicates are refused because we could not tell which of the
    two columns a clerk meant.
    """
    headers: list[str] = []
    indexes: list[int] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for i, value in enumerate(raw):
        name = _clean_header(value)
        if not name:
            continue
        if name in seen:
            duplicates.append(name)
            continue
        seen.add(name)
        headers.append(name)
        indexes.append(i)
    if not headers:
        raise TableError("TABLE_NO_HEADER", f"{label}没有表头行。")
    if duplicates:
        raise TableError(
            "TABLE_DUPLICATE_HEADER",
            f"{label}的表头重复：{'、'.join(duplicates)}。",
            duplicates,
        )
    unknown: list[str] = []
    if spec is not None:
        missing = [h for h in spec.required if h not in seen]
        if missing:
            raise TableError(
                "TABLE_MISSING_HEADERS",
                f"{label}缺少必需的列：{'、'.join(missing)}（表头须在第一行）。",
                missing,
            )
        known = spec.known
        unknown = [h for h in headers if h not in known]
    return headers, indexes, unknown


def _formula_error(label: str, cells: list[str]) -> TableError:
    shown = "；".join(cells)
    return TableError(
        "TABLE_FORMULA",
        f"{label}含公式单元格：{shown}。公式的值可能已过期或缺失，"
        "请将这些单元格复制后“选择性粘贴为数值”再导入。",
        cells,
    )


def _too_many_rows(label: str, max_rows: int) -> TableError:
    return TableError(
        "TABLE_TOO_MANY_ROWS", f"{label}数据超过 {max_rows} 行上限，请拆分后分别导入。"
    )


# --------------------------------------------------------------------------------------------
# CSV


def _choose_encoding(src: _Source) -> str:
    """UTF-8 (BOM optional) when the whole file decodes as such, else GB18030.

    The whole file is checked incrementally because a GBK file can start with pure ASCII
    headers-and-digits for thousands of lines before its first Chinese name.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with src.open() as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _sniff_delimiter(first_line: str) -> str:
    """Comma unless the header line is clearly tab- or semicolon-separated."""
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_records(src: _Source, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(record number, fields); the record number counts CSV records, as Excel shows them."""
    with src.open() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            reader = csv.reader(text, delimiter=delimiter)
            yield from enumerate(reader, start=1)
        finally:
            text.detach()


#: Characters a line of a plain CSV may consist of and still be blank: what
#: :data:`BLANK_CHARS` strips, but the line breaks (a line never holds one).
_LINE_BLANK = BLANK_CHARS.replace("\r", "").replace("\n", "")
#: Python's ``csv`` refuses a longer field (``csv.field_size_limit()``'s default).
_CSV_FIELD_LIMIT = 131_072
_PLAIN_BLOCK = 1 << 20


def _has_long_line(block: str) -> bool:
    """Whether a line of ``block`` is longer than ``csv`` accepts. A line that long spans a
    whole window of half the limit, so only blocks with such a window are split into lines."""
    step = _CSV_FIELD_LIMIT // 2
    if all(block.find("\n", i, i + step) >= 0 for i in range(0, len(block) - step, step)):
        return False
    return max(map(len, block.split("\n"))) > _CSV_FIELD_LIMIT


def _plain_csv_facts(src: _Source, delimiter: str) -> tuple[int, int, int, bool] | None:
    """The facts the validation pass gathers (data rows, last row number, characters of
    the non-blank records, ``simple``) for a UTF-8 CSV whose header is its first line,
    computed with whole-text string operations instead of Python's ``csv`` — or ``None``
    when the file holds anything that makes a record other than one line split at the
    delimiter: a quote, a lone carriage return, a NUL, a ``=`` (a possible formula, whose
    cell the full pass must name) or a line longer than ``csv`` accepts. Then the full pass
    runs and says what is wrong, if anything.

    Python's ``csv`` was a third of the CPU of parsing a 1 000 000-row roster (docs/
    benchmarks.md, "Roster parsing"); this pass reads the file in 1 MB blocks of whole lines,
    so its memory stays bounded whatever the file's size. ``tests/core/test_tabular.py``
    holds both passes to the same facts.
    """
    # A blank line after its line break: the search jumps from line break to line break.
    blank = re.compile(f"\n([{re.escape(_LINE_BLANK + delimiter)}]*)\r?(?=\n|\\Z)")
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    count = chars = last = 0
    first_empty = 0  # the number of the first empty line after the header, if any
    base = 1  # the number of the block's first line
    carry = ""
    with src.open() as fh:
        while True:
            data = fh.read(_PLAIN_BLOCK)
            text = carry + decoder.decode(data, final=not data)
            if data:
                cut = text.rfind("\n")
                if cut < 0:
                    carry = text
                    continue
                block, carry = text[:cut].removesuffix("\r"), text[cut + 1 :]
            else:
                block, carry = text, ""
            crlf = block.count("\r\n")
            if block.count("\r") != crlf or any(c in block for c in '"\x00='):
                return None
            if _has_long_line(block):
                return None
            lines = block.count("\n") + 1
            empty: list[int] = []
            blank_chars = 0
            index = position = 0
            scan = "\n" + block
            for match in blank.finditer(scan):
                index += scan.count("\n", position, match.start())
                position = match.start()
                empty.append(index)
                line = match.group(1)
                blank_chars += len(line) - line.count(delimiter)
                if not line and not first_empty and base + index > 1:
                    first_empty = base + index
            kept = lines - len(empty)
            block_chars = len(block) - (lines - 1) - crlf - block.count(delimiter) - blank_chars
            if base == 1:  # the header: not a data row
                header = block.split("\n", 1)[0].removesuffix("\r")
                kept -= 1
                block_chars -= len(header) - header.count(delimiter)
            if kept > 0:
                skipped = set(empty)
                final = lines - 1
                while final in skipped:
                    final -= 1
                last = max(last, base + final)
            count += kept
            chars += block_chars
            base += lines
            if not data:
                break
    simple = not (first_empty and first_empty < last)
    return count, last, chars, simple


class _NotUtf8(Exception):
    """The file read as UTF-8 held a byte sequence that is not UTF-8."""


def _read_csv(
    src: _Source, head: bytes, label: str, spec: HeaderSpec | None, max_rows: int
) -> Table:
    """The file read as UTF-8 first, on the chance (most files) that it is: a validation
    pass that reaches the end without a decoding error has decoded the whole file, which is
    what :func:`_choose_encoding` would do again before saying UTF-8.  So that pass runs
    only when the first one fails — to tell a decoding error from any other whole-file
    error, which must be the one the file's own encoding gives (docs/benchmarks.md,
    "Roster parsing, 2026-12-07": a tenth of ``read_table`` on a 1 000 000-row roster).
    """
    try:
        return _read_csv_as(src, head, label, spec, max_rows, "utf-8-sig")
    except _NotUtf8:
        pass
    except TableError:
        if _choose_encoding(src) == "utf-8-sig":
            raise
    return _read_csv_as(src, head, label, spec, max_rows, "gb18030")


def _read_csv_as(
    src: _Source, head: bytes, label: str, spec: HeaderSpec | None, max_rows: int, encoding: str
) -> Table:
    try:
        sample = head.decode(encoding, errors="ignore")
    except LookupError:  # pragma: no cover - both codecs are built in
        sample = ""
    if not sample.strip(BLANK_CHARS):
        raise TableError("TABLE_EMPTY", f"{label}是空的。")
    delimiter = _sniff_delimiter(sample.lstrip(BLANK_CHARS).split("\n", 1)[0])

    def records() -> Iterator[tuple[int, list[str]]]:
        return _csv_records(src, encoding, delimiter)

    header_number = 0
    header: list[str] = []
    indexes: list[int] = []
    unknown: list[str] = []
    count = 0
    formulas: list[str] = []
    width = 0
    # Facts for CsvLayout: characters of the non-blank records, the last one's number, and
    # whether an empty record or a record spanning lines came before it.
    chars = last = 0
    simple = True
    empty_seen = False
    try:
        stream = records()
        for number, record in stream:
            if not _is_blank(record):
                header_number = number
                width = len(record)
                header, indexes, unknown = _check_headers(record, label, spec)
                break
        plain = None
        if header_number == 1 and encoding == "utf-8-sig":
            stream.close()
            plain = _plain_csv_facts(src, delimiter)
            if plain is None:
                stream = records()
                next(stream)  # the header again
            else:
                count, last, chars, simple = plain
                if count > max_rows:
                    raise _too_many_rows(label, max_rows)
        for number, record in () if plain is not None else stream:
            # Whole-record string operations first: they run in C, and the per-cell loop only
            # runs for the rare record that can hold a formula.
            joined = "\x00".join(record)
            if not joined.strip(_BLANK_OR_SEPARATOR):
                empty_seen = empty_seen or not record
                continue
            count += 1
            if count > max_rows:
                raise _too_many_rows(label, max_rows)
            chars += len(joined) - len(record) + 1
            last = number
            if simple and (empty_seen or "\n" in joined or "\r" in joined):
                simple = False
            if "=" not in joined:
                continue
            for name, i in zip(header, indexes, strict=True):
                is_formula = i < len(record) and record[i].lstrip().startswith("=")
                if is_formula and len(formulas) < _MAX_FORMULA_REPORTS:
                    formulas.append(f"{column_letter(i)}{number}（{name}）")
    except UnicodeDecodeError as exc:
        if encoding == "utf-8-sig":
            raise _NotUtf8 from exc
        raise TableError(
            "TABLE_ENCODING", f"{label}的文字编码无法识别；请另存为“CSV UTF-8（逗号分隔）”。"
        ) from exc
    except csv.Error as exc:
        raise TableError("TABLE_CORRUPT", f"{label}不是有效的 CSV：{exc}。") from exc
    if not header_number:
        raise TableError("TABLE_EMPTY", f"{label}是空的。")
    if formulas:
        raise _formula_error(label, formulas)

    pairs = list(zip(header, indexes, strict=True))
    width = max(indexes) + 1

    def rows() -> Iterator[Row]:
        started = False
        strip = BLANK_CHARS
        for number, record in records():
            if not started:
                started = number == header_number
                continue
            if not "".join(record).strip(strip):
                continue
            if len(record) < width:  # a short record: pad it rather than index past its end
                record = record + [""] * (width - len(record))
            # ``v.strip(...) and v or None``: the cell as written, or None when blank.
            yield (
                number,
                {name: (record[i].strip(strip) and record[i]) or None for name, i in pairs},
            )

    layout = None
    if src.path is not None or src.data is not None:
        layout = CsvLayout(
            path=src.path,
            data=src.data,
            encoding="utf-8" if encoding == "utf-8-sig" else encoding,
            delimiter=delimiter,
            header_row=header_number,
            width=width,
            columns=dict(pairs),
            simple=simple and header_number == 1,
            data_rows=count,
            last_row=last,
            chars=chars,
        )
    return Table(
        format="csv",
        headers=header,
        unknown_headers=unknown,
        row_count=count,
        encoding="utf-8" if encoding == "utf-8-sig" else encoding,
        _reopen=rows,
        csv_layout=layout,
    )


# --------------------------------------------------------------------------------------------
# xlsx


def _bomb(label: str, why: str) -> TableError:
    return TableError(
        "TABLE_XLSX_BOMB",
        f"{label}解压后{why}，不像正常的花名册，已拒绝读取。"
        "请在 Excel 中打开后另存为 .xlsx，或导出为 CSV 再上传。",
    )


def _corrupt_xlsx(label: str) -> TableError:
    return TableError(
        "TABLE_CORRUPT",
        f"{label}无法作为 xlsx 工作簿读取（内容已损坏或不是 Excel 可识别的格式）。"
        "请在 Excel 中打开后另存为 .xlsx，或导出为 CSV 再上传。",
    )


def _too_long_cell(label: str) -> TableError:
    return TableError(
        "TABLE_CELL_TOO_LONG",
        f"{label}有单元格内容过长（超过 Excel 单元格上限 {MAX_CELL_CHARS} 个字符），请检查后重新上传。",
    )


def _check_xlsx_parts(src: _Source, label: str, max_unpacked: int, max_strings: int) -> bool:
    """Streams every part of the ZIP once, in bounded memory, and refuses bombs before any
    XML parser runs: declared sizes first (nothing unpacked), then while unpacking the actual
    bytes (never beyond what was declared, the CRC checked at the end), the packing ratio,
    the shared-strings count, the longest text between tags and any DTD.  Returns whether a
    worksheet may hold a formula or an error cell (then only openpyxl, which sees them,
    reads it)."""
    formulas = [False]
    try:
        with src.open() as fh, zipfile.ZipFile(fh) as zf:
            parts = zf.infolist()
            if len(parts) > _MAX_PARTS:
                raise _bomb(label, f"有 {len(parts)} 个部件")
            if sum(p.file_size for p in parts) > max_unpacked:
                raise _bomb(label, f"超过 {max_unpacked // (1024 * 1024)} MB")
            total = 0
            for part in parts:
                total = _check_part(zf, part, label, total, max_unpacked, max_strings, formulas)
    except (TableError, MemoryError):  # a job's memory ceiling (jobs.limits) is not damage
        raise
    except Exception:  # BadZipFile (CRC), zlib.error, EOFError…: a damaged archive
        raise _corrupt_xlsx(label) from None
    return formulas[0]


def _check_part(
    zf: zipfile.ZipFile,
    part: zipfile.ZipInfo,
    label: str,
    total: int,
    max_unpacked: int,
    max_strings: int,
    formulas: list[bool],
) -> int:
    """Unpacks one part chunk by chunk; returns the unpacked total so far.  Sets
    ``formulas[0]`` when a worksheet part holds a formula or an error cell."""
    if part.is_dir():
        return total
    is_strings = part.filename.lower().endswith("sharedstrings.xml")
    is_xml = part.filename.lower().endswith((".xml", ".rels"))
    is_sheet = is_xml and "worksheets/" in part.filename.lower()
    size = strings = run = 0
    tail = b""
    packed = max(part.compress_size, 1)
    with zf.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            total += len(chunk)
            if size > part.file_size or total > max_unpacked:
                raise _bomb(label, f"超过 {max_unpacked // (1024 * 1024)} MB")
            if size > _RATIO_GRACE_BYTES and size > packed * _MAX_RATIO:
                raise _bomb(label, f"是压缩前的 {size // packed} 倍以上")
            if not is_xml:
                continue
            if _DTD.search(chunk):
                raise _bomb(label, "含有文档类型定义（DTD）")
            if is_sheet and not formulas[0]:
                # The tail of the previous chunk, so that a tag cut in two is still seen.
                formulas[0] = _FORMULA.search(tail + chunk) is not None
                tail = chunk[-64:]
            pieces = chunk.split(b"<")
            if len(pieces) == 1:
                run += len(chunk)
            else:
                run = max(run + len(pieces[0]), max(map(len, pieces[1:-1]), default=0))
                if run > _MAX_TEXT_RUN_BYTES:
                    raise _too_long_cell(label)
                run = len(pieces[-1])
            if run > _MAX_TEXT_RUN_BYTES:
                raise _too_long_cell(label)
            if is_strings:
                strings += len(_SHARED_STRING.findall(chunk))
                if strings > max_strings:
                    raise _bomb(label, f"有超过 {max_strings} 个不同的文字")
    return total


def _xlsx_rows(src: _Source) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, cells) of the first worksheet, streamed through openpyxl read-only mode.

    The first worksheet, not the active one: the active sheet is whatever the last person
    happened to click, the first is what a template puts first.
    """
    from openpyxl import load_workbook  # imported lazily: CSV-only callers need not pay for it

    with src.open() as fh:
        workbook = load_workbook(fh, read_only=True, data_only=False)
        try:
            sheet = workbook.worksheets[0]
            # Writers other than Excel often record a wrong <dimension>; trusting it would
            # silently cut rows or columns off, so let the rows speak for themselves.
            sheet.reset_dimensions()
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                yield number, tuple(cells)
        finally:
            workbook.close()


def _is_formula(cell: Any) -> bool:
    """An openpyxl cell holding a formula, or a text (a cell or a calamine value) that
    starts with ``=``."""
    if isinstance(cell, str):
        return cell.startswith("=")
    if getattr(cell, "data_type", None) == "f":
        return True
    value = getattr(cell, "value", None)
    return isinstance(value, str) and value.startswith("=")


def _calamine() -> Any:
    """The python-calamine module, or ``None`` when it is not installed."""
    try:
        import python_calamine  # imported lazily: CSV-only callers need not pay for it
    except ImportError:  # pragma: no cover - a pinned requirement
        return None
    return python_calamine


def _as_openpyxl(value: Any) -> Any:
    """A calamine cell value as openpyxl gives it: blank text ``None``, a number written
    without decimals (below 10^15, which Excel writes in full) ``int``, a date ``datetime``."""
    kind = value.__class__
    if kind is str:
        return value or None
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if kind is date:
        return datetime(value.year, value.month, value.day)
    return value


def _calamine_rows(src: _Source, module: Any) -> Iterator[tuple[int, list[Any]]]:
    """(row number, values) of the first worksheet, read by calamine (Rust) in one go."""
    with src.open() as fh:
        workbook = module.CalamineWorkbook.from_filelike(fh)
    try:
        sheets = [
            m.name for m in workbook.sheets_metadata if m.typ == module.SheetTypeEnum.WorkSheet
        ]
        sheet = workbook.get_sheet_by_name(sheets[0])
        # Rows come from the first row of the sheet, columns from its first used column.
        pad = [None] * (sheet.start or (0, 0))[1]
        for number, values in enumerate(sheet.iter_rows(), start=1):
            yield number, [*pad, *map(_as_openpyxl, values)]
    finally:
        workbook.close()


def _xlsx_values(src: _Source, plain: bool) -> Iterator[tuple[int, list[Any], Sequence[Any]]]:
    """(row number, values, cells) of the first worksheet.

    ``plain`` (no formula nor error cell in any worksheet, :func:`_check_xlsx_parts`): read by
    calamine when installed, ``cells`` then being the values; otherwise by openpyxl, whose
    cells say which are formulas.
    """
    module = _calamine() if plain else None
    if module is not None:
        for number, values in _calamine_rows(src, module):
            yield number, values, values
        return
    for number, cells in _xlsx_rows(src):
        yield number, [getattr(c, "value", None) for c in cells], cells


def _read_xlsx(
    src: _Source, label: str, spec: HeaderSpec | None, max_rows: int, *, plain: bool = False
) -> Table:
    header_number = 0
    header: list[str] = []
    indexes: list[int] = []
    unknown: list[str] = []
    count = 0
    formulas: list[str] = []
    try:
        for number, values, cells in _xlsx_values(src, plain):
            if not header_number:
                if _is_blank(values):
                    continue
                header_number = number
                header, indexes, unknown = _check_headers(values, label, spec)
                bad = [i for i, c in enumerate(cells) if _is_formula(c)]
                if bad:
                    raise _formula_error(
                        label, [_cell_name(cells[i], number, cells, index=i) for i in bad]
                    )
                continue
            if _is_blank(values):
                continue
            count += 1
            if count > max_rows:
                raise _too_many_rows(label, max_rows)
            for i, cell in enumerate(cells):
                if _is_formula(cell) and len(formulas) < _MAX_FORMULA_REPORTS:
                    formulas.append(_cell_name(cell, number, cells, header, indexes, i))
    except (TableError, MemoryError):
        raise
    except Exception:
        # Malformed XML, a part missing, a value openpyxl cannot convert: whatever the XML
        # library raises, the clerk gets one Chinese message (never its text, nor a path).
        raise _corrupt_xlsx(label) from None
    if not header_number:
        raise TableError("TABLE_EMPTY", f"{label}没有任何内容。")
    if formulas:
        raise _formula_error(label, formulas)

    def rows() -> Iterator[Row]:
        for number, values, _ in _xlsx_values(src, plain):
            if number <= header_number:
                continue
            if _is_blank(values):
                continue
            yield (
                number,
                {
                    name: _clean_cell(values[i]) if i < len(values) else None
                    for name, i in zip(header, indexes, strict=True)
                },
            )

    return Table(
        format="xlsx",
        headers=header,
        unknown_headers=unknown,
        row_count=count,
        _reopen=rows,
    )


def _cell_name(
    cell: Any,
    number: int,
    cells: Sequence[Any],
    header: Sequence[str] = (),
    indexes: Sequence[int] = (),
    index: int | None = None,
) -> str:
    """Name a cell as Excel does (``C5``), with its column header when known."""
    coordinate = getattr(cell, "coordinate", None)
    if not coordinate:
        position = index if index is not None else list(cells).index(cell)
        coordinate = f"{column_letter(position)}{number}"
    if index is not None and index in indexes:
        return f"{coordinate}（{header[list(indexes).index(index)]}）"
    return str(coordinate)
