"""Importing the beneficiary roster (两项补贴对象花名册, ``docs/formats.md``).

Two layers, so that the rules can be tested without a database and the database work can be
made fast without touching the rules:

1. **Validation** (:func:`match_headers`, :func:`validate_rows`): table rows from
   :func:`core.tabular.read_table` become :class:`ValidRow` objects plus a list of
   :class:`RowError` (``row N, column 列名: reason``).  No queries: everything the rules need
   from the database (the known counties, the user's jurisdiction) is passed in.
2. **Apply** (:func:`apply_validation`, and :func:`import_beneficiaries` which does both): an
   upsert by 公民身份号码 (the person) and by person × subsidy × *current* county of
   户籍区划代码 (the enrolment), in one transaction.  Existing records are loaded in chunks of
   :data:`CHUNK` IDs, the differences are computed in Python and written in bulk (COPY on
   PostgreSQL, ``bulk_create``/``bulk_update`` elsewhere), because one query per row would
   take minutes for a province-wide roster of 100 000 rows (``bench/import_bench.py``).

Modes: ``atomic`` (the default of ``docs/formats.md``: one invalid row and nothing is written) and
``skip_invalid`` (the valid rows are written, the rejected ones come back with their reasons,
see :func:`rejected_rows_xlsx`).  A dry run computes the same outcomes and writes nothing, not
even an :class:`~archive.models.ImportRecord`.

What a row means for the records (history is never overwritten, see ``archive.models``):

* the person's facts (name, hukou, address, guardian, phone) are updated in place;
* a certificate whose facts differ from the current one closes it (``is_current=False``,
  ``superseded_at``) and opens a new one; an *empty* 残疾人证号 cell means the person holds
  none, so the current certificate is closed — but only when the column is in the file;
* a changed 家庭类别 closes the open family status (``end_date``) and opens a new one;
* 享受…补贴 = 是 creates, amends or resumes the enrolment in the current county, = 否 stops an
  enrolment that is not stopped; every such change writes one ``EnrolmentChange`` whose
  ``source`` is ``导入 #<ImportRecord id>``.  The transitions are those of
  :mod:`archive.enrolments` (stop from active or suspended, with a reason code — ``OTHER``,
  as a roster gives none; resume from suspended or stopped, with a note), done in bulk
  because its functions lock and write one enrolment at a time.

An optional column that is *absent* from the file leaves the stored value alone; a column that
is present with an empty cell sets the value to empty.  A clerk who exports only some columns
must not wipe the others.

Each row is counted once: ``created`` when its person was not in the database, ``updated``
when anything about the person, certificate, family status or the row's enrolments changed,
``unchanged`` otherwise — so importing the same file twice reports everything unchanged and
writes no history rows.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import IO, Any, Literal, TypeVar

from django.db import connection, transaction
from django.db.models import F, Lookup, Q
from django.http import HttpRequest
from django.utils import timezone

from archive import audit
from archive.access import covers
from archive.exports import xlsx_bytes
from archive.models import (
    Certificate,
    Division,
    Enrolment,
    EnrolmentChange,
    FamilyStatus,
    ImportRecord,
    Person,
)
from core.cells import (
    LONG_TERM,
    CellError,
    Expiry,
    county_of,
    is_blank,
    parse_amount,
    parse_category,
    parse_division_code,
    parse_expiry,
    parse_family_type,
    parse_grade,
    parse_month,
    parse_payee,
    parse_sex,
    parse_yes_no,
)
from core.divisions import BUILT_IN, current_county
from core.numbers import (
    CATEGORIES,
    CERT_CODE_MISMATCH,
    CERT_ID_MISMATCH,
    CROSS_CHECK_MESSAGES,
    GRADES,
    CertificateNumber,
    NumberError,
    cross_check,
    parse_certificate,
    parse_id,
    to_halfwidth,
)
from core.tabular import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, Row, TableError, read_table

__all__ = [
    "ALL_HEADERS",
    "ATOMIC",
    "CHUNK",
    "KIND",
    "OUTCOME_LABELS",
    "REQUIRED_HEADERS",
    "SKIP_INVALID",
    "Counties",
    "ImportResult",
    "Progress",
    "RowError",
    "ValidRow",
    "Validation",
    "apply_validation",
    "file_sha256",
    "import_beneficiaries",
    "load_counties",
    "match_headers",
    "read_roster",
    "rejected_rows_xlsx",
    "validate_rows",
]

logger = logging.getLogger(__name__)

KIND = "beneficiaries"
ATOMIC = "atomic"
SKIP_INVALID = "skip_invalid"
Mode = Literal["atomic", "skip_invalid"]

#: IDs per ``__in`` query: large enough to keep the number of queries small, small enough to
#: stay far below PostgreSQL's 65 535 bind parameters and to keep each result set modest.
CHUNK = 5000
#: Objects per INSERT / UPDATE statement.
WRITE_BATCH = 2000
UPDATE_BATCH = 1000

NAME = "姓名"
ID = "公民身份号码"
SEX = "性别"
CERT = "残疾人证号"
CATEGORY = "残疾类别"
GRADE = "残疾等级"
EXPIRY = "证件有效期至"
HUKOU = "户籍区划代码"
ADDRESS = "户籍地址"
FAMILY = "家庭类别"
LIVING = "享受生活补贴"
LIVING_AMOUNT = "生活补贴标准"
NURSING = "享受护理补贴"
NURSING_AMOUNT = "护理补贴标准"
PAYEE = "护理补贴发放对象"
START = "补贴起始年月"
GUARDIAN = "监护人"
PHONE = "联系电话"

#: Every header of the roster, in the order of ``docs/formats.md``.
ALL_HEADERS: tuple[str, ...] = (
    NAME, ID, SEX, CERT, CATEGORY, GRADE, EXPIRY, HUKOU, ADDRESS, FAMILY,
    LIVING, LIVING_AMOUNT, NURSING, NURSING_AMOUNT, PAYEE, START, GUARDIAN, PHONE,
)  # fmt: skip
REQUIRED_HEADERS: tuple[str, ...] = (NAME, ID, HUKOU, FAMILY, LIVING, NURSING)

OUTCOME_LABELS: dict[str, str] = {
    "created": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "rejected": "拒绝",
}

#: Lengths of the free-text fields of ``Person``; longer text is an error, not truncated.
_MAX_LENGTHS = {NAME: 64, ADDRESS: 255, GUARDIAN: 64, PHONE: 32}
#: ``Enrolment.monthly_amount`` is ``max_digits=8, decimal_places=2``.
_MAX_AMOUNT = Decimal("999999.99")
#: A roster saying 否 gives no reason; ``archive.enrolments.STOP_REASONS`` has 其他原因 for
#: that, and the change's note names the row and column.
_STOP_REASON = "OTHER"

#: ``progress(stage, done, total)``; stage is ``"validate"`` or ``"write"``.
Progress = Callable[[str, int, int], None]
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected cell or row: ``第N行，列名：reason``.  Row 0 is the file as a whole."""

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
        }


# --------------------------------------------------------------------------------------------
# Counties


@dataclass(frozen=True)
class Counties:
    """The counties a roster row may belong to, and the successors of abolished ones.

    Passed into validation so that it needs no query; :func:`load_counties` reads it from the
    ``Division`` table, :meth:`built_in` from the shipped tree (for tests of the pure layer).
    """

    current: frozenset[str]
    successors: dict[str, str]

    @classmethod
    def built_in(cls) -> Counties:
        rows = [r for r in BUILT_IN if r.level == "county"]
        return cls(
            frozenset(r.code for r in rows if r.successor is None),
            {r.code: r.successor for r in rows if r.successor},
        )

    def resolve(self, code: str) -> str | None:
        """The current county of any division code (old or new), or ``None`` if unknown."""
        county = current_county(county_of(code), self.successors)
        return county if county in self.current else None


def load_counties() -> Counties:
    """Counties from the ``Division`` table (one query), including imported ones."""
    current: set[str] = set()
    successors: dict[str, str] = {}
    for code, successor in Division.objects.filter(level=Division.Level.COUNTY).values_list(
        "code", "successor_id"
    ):
        if successor:
            successors[code] = successor
        else:
            current.add(code)
    return Counties(frozenset(current), successors)


# --------------------------------------------------------------------------------------------
# Validation layer (no database)


def _squash(header: str) -> str:
    """Header text without any whitespace, in half-width form.

    Chinese spreadsheets pad two-character headers to align them (``姓　名``) and carry stray
    spaces around them; both denote the same column.
    """
    return "".join(to_halfwidth(str(header)).split())


def match_headers(headers: Sequence[str], filename: str = "") -> tuple[dict[str, str], list[str]]:
    """Map the file's headers onto the roster's: ``{canonical: as written}`` and the unknowns.

    :func:`core.tabular.read_table` already strips surrounding spaces; here spaces *inside*
    a header are ignored too.  Missing required headers (all of them listed) and two headers
    that mean the same column are whole-file errors, raised as :class:`TableError` like every
    other whole-file problem.
    """
    label = f"文件「{filename}」" if filename else "文件"
    known = set(ALL_HEADERS)
    found: dict[str, str] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for header in headers:
        key = _squash(header)
        if key not in known:
            unknown.append(header)
        elif key in found:
            duplicates.append(f"「{found[key]}」与「{header}」")
        else:
            found[key] = header
    if duplicates:
        raise TableError(
            "TABLE_DUPLICATE_HEADER",
            f"{label}的表头重复：{'、'.join(duplicates)}。",
            duplicates,
        )
    missing = [h for h in REQUIRED_HEADERS if h not in found]
    if missing:
        raise TableError(
            "TABLE_MISSING_HEADERS",
            f"{label}缺少必需的列：{'、'.join(missing)}（表头须在第一行）。",
            missing,
        )
    return found, unknown


def _text(raw: object) -> str:
    """A free-text cell as trimmed half-width text; numeric cells lose Excel's ``.0``."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw)
    # Pure ASCII has nothing to convert (full-width forms and invisible marks are not ASCII).
    return text.strip() if text.isascii() else to_halfwidth(text).strip()


class _Cached:
    """Memoises a cell parser: dates, codes, yes/no and amounts repeat thousands of times in a
    roster, and parsing each occurrence again is most of the validation time."""

    __slots__ = ("_cache", "_parse")

    def __init__(self, parse: Callable[[Any], Any]) -> None:
        self._parse = parse
        self._cache: dict[tuple[type, Any], Any] = {}

    def __call__(self, raw: Any) -> Any:
        try:
            key = (type(raw), raw)
            hit = self._cache.get(key, _MISS)
        except TypeError:  # unhashable: not from tabular, but do not fail on it
            return self._parse(raw)
        if hit is _MISS:
            try:
                hit = self._parse(raw)
            except CellError as error:
                hit = error
            if len(self._cache) < 10_000:
                self._cache[key] = hit
        if isinstance(hit, CellError):
            raise hit
        return hit


_MISS = object()


class _RowCheck:
    """The checks of one row; collects every problem instead of stopping at the first."""

    __slots__ = ("errors", "number", "values")

    def __init__(self, number: int, cells: Mapping[str, Any], columns: Mapping[str, str]) -> None:
        self.number = number
        # canonical header → raw cell, once per row (cells are keyed by the header as written)
        self.values = {header: cells.get(actual) for header, actual in columns.items()}
        self.errors: list[RowError] = []

    def fail(self, column: str, code: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, code, message))

    def cell(self, header: str) -> Any:
        return self.values.get(header)

    def blank(self, header: str) -> bool:
        return _blank(self.values.get(header))

    def parse(self, header: str, parser: Callable[[Any], T]) -> T | None:
        try:
            return parser(self.values.get(header))
        except CellError as error:
            self.fail(header, error.code, error.message)
            return None

    def text(self, header: str) -> str:
        value = _text(self.values.get(header))
        limit = _MAX_LENGTHS[header]
        if len(value) > limit:
            self.fail(header, "TOO_LONG", f"{header}最多{limit}个字，实为{len(value)}个字")
        return value


#: Characters that :func:`core.cells.is_blank` treats as nothing besides whitespace.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")


def _blank(raw: object) -> bool:
    """:func:`core.cells.is_blank`, with a shortcut for the common non-blank cell: a cell
    whose first character is visible cannot be blank, and checking that is much cheaper than
    converting the whole text to half-width."""
    if raw is None:
        return True
    if isinstance(raw, str) and raw and not raw[0].isspace() and raw[0] not in _INVISIBLE:
        return False
    return is_blank(raw)


class _Validator:
    """Holds the per-file state of validation: memoised parsers and resolved counties."""

    def __init__(
        self,
        columns: Mapping[str, str],
        counties: Counties,
        covers: Callable[[str], bool] | None,
        today: date,
    ) -> None:
        self.columns = columns
        self.present = frozenset(columns)
        self.counties = counties
        self.covers = covers
        self.today = today
        self.category = _Cached(parse_category)
        self.grade = _Cached(parse_grade)
        self.expiry = _Cached(parse_expiry)
        self.division = _Cached(parse_division_code)
        self.family = _Cached(parse_family_type)
        self.yes_no = _Cached(parse_yes_no)
        self.amount = _Cached(parse_amount)
        self.payee = _Cached(parse_payee)
        self.month = _Cached(parse_month)
        self.sex = _Cached(parse_sex)
        self._resolved: dict[str, str | None] = {}
        self._covered: dict[str, bool] = {}

    def county(self, hukou: str) -> str | None:
        if hukou not in self._resolved:
            self._resolved[hukou] = self.counties.resolve(hukou)
        return self._resolved[hukou]

    def covered(self, county: str) -> bool:
        if self.covers is None:
            return True
        if county not in self._covered:
            self._covered[county] = self.covers(county)
        return self._covered[county]

    def check(
        self, number: int, cells: Mapping[str, Any]
    ) -> tuple[_RowCheck, ValidRow | None, tuple[str, str] | None]:
        """Errors, the valid row (or ``None``), and the (ID, county) key for duplicates."""
        present = self.present
        row = _RowCheck(number, cells, self.columns)

        name = row.text(NAME)
        if not name:
            row.fail(NAME, "REQUIRED", "姓名为空")

        id_value = None
        try:
            id_value = parse_id(row.cell(ID), today=self.today)
        except NumberError as error:
            row.fail(ID, error.code, error.message)

        if SEX in present and not row.blank(SEX):
            sex = row.parse(SEX, self.sex)
            if sex is not None and id_value is not None and sex != id_value.sex:
                row.fail(
                    SEX,
                    "SEX_MISMATCH",
                    f"性别「{sex}」与身份号码不符（号码第17位表示{id_value.sex}性）",
                )

        certificate: CertificateNumber | None = None
        has_cert = CERT in present and not row.blank(CERT)
        category = grade = None
        if has_cert:
            try:
                certificate = parse_certificate(row.cell(CERT), today=self.today)
            except NumberError as error:
                row.fail(CERT, error.code, error.message)
            for header in (CATEGORY, GRADE):
                if row.blank(header):
                    row.fail(header, "REQUIRED", f"填写了残疾人证号，{header}不能为空")
            if not row.blank(CATEGORY):
                category = row.parse(CATEGORY, self.category)
            if not row.blank(GRADE):
                grade = row.parse(GRADE, self.grade)
        else:
            # Without a certificate there is nothing to store them on, but a malformed value
            # is still a mistake in the file worth pointing out.
            for header, parser in ((CATEGORY, self.category), (GRADE, self.grade)):
                if header in present and not row.blank(header):
                    row.parse(header, parser)
        if certificate is not None and id_value is not None:
            self._cross_check(row, id_value.value, certificate, category, grade)
        expiry: Expiry = row.parse(EXPIRY, self.expiry) if EXPIRY in present else None

        hukou = row.parse(HUKOU, self.division)
        county = None
        if hukou is not None:
            county = self.county(hukou)
            if county is None:
                row.fail(
                    HUKOU,
                    "DIVISION_UNKNOWN",
                    f"区划代码「{hukou}」不属于系统中任何县（区）（前6位{county_of(hukou)}未登记）",
                )
            elif not self.covered(county):
                row.fail(
                    HUKOU,
                    "OUT_OF_JURISDICTION",
                    f"户籍所在县（区）{county}不在您的辖区内，不能导入",
                )

        family_type = row.parse(FAMILY, self.family)
        living = row.parse(LIVING, self.yes_no)
        nursing = row.parse(NURSING, self.yes_no)
        amounts: dict[str, Decimal | None] = {}
        for header in (LIVING_AMOUNT, NURSING_AMOUNT):
            amount = row.parse(header, self.amount) if header in present else None
            if amount is not None and amount > _MAX_AMOUNT:
                row.fail(header, "AMOUNT", f"金额「{amount}」超过上限{_MAX_AMOUNT}元/月")
            amounts[header] = amount
        payee = (row.parse(PAYEE, self.payee) if PAYEE in present else None) or "本人"
        start_month = None
        if START in present and not row.blank(START):
            start_month = row.parse(START, self.month)
        if nursing and not has_cert:
            row.fail(NURSING, "NURSING_NO_CERT", "享受护理补贴须持有残疾人证，但残疾人证号为空")
        address = row.text(ADDRESS) if ADDRESS in present else ""
        guardian = row.text(GUARDIAN) if GUARDIAN in present else ""
        phone = row.text(PHONE) if PHONE in present else ""

        key = (id_value.value, county) if id_value is not None and county is not None else None
        if row.errors:
            return row, None, key
        assert id_value is not None and hukou is not None and county is not None
        assert family_type is not None and living is not None and nursing is not None
        valid = ValidRow(
            row=number,
            id_number=id_value.value,
            name=name,
            sex=id_value.sex,
            birth_date=id_value.birth_date,
            hukou_code=hukou,
            county=county,
            family_type=family_type,
            living=living,
            nursing=nursing,
            certificate=certificate,
            expiry=expiry,
            hukou_address=address,
            guardian=guardian,
            phone=phone,
            living_amount=amounts[LIVING_AMOUNT],
            nursing_amount=amounts[NURSING_AMOUNT],
            payee=payee,
            start_month=start_month,
        )
        return row, valid, key

    @staticmethod
    def _cross_check(
        row: _RowCheck,
        id_number: str,
        certificate: CertificateNumber,
        category: int | None,
        grade: int | None,
    ) -> None:
        for code in cross_check(id_number, certificate, category, grade):
            if code == CERT_ID_MISMATCH:
                row.fail(CERT, code, f"{CROSS_CHECK_MESSAGES[code]}，证号须以本人身份号码开头")
            elif code == CERT_CODE_MISMATCH:
                row.fail(
                    CERT,
                    code,
                    f"{CROSS_CHECK_MESSAGES[code]}：证号表示"
                    f"{CATEGORIES[certificate.category]}{GRADES[certificate.grade]}，"
                    f"表中为{CATEGORIES.get(category or 0, '')}{GRADES.get(grade or 0, '')}；"
                    "导入不保存相互矛盾的记录，请更正后重新导入",
                )


def validate_rows(
    rows: Iterable[Row],
    columns: Mapping[str, str],
    *,
    counties: Counties,
    covers: Callable[[str], bool] | None = None,
    today: date | None = None,
    total: int = 0,
    progress: Progress | None = None,
) -> Validation:
    """Check every row against the rules of ``docs/formats.md`` and ``docs/numbers.md``.

    ``columns`` is the first result of :func:`match_headers`.  ``covers(county)`` is the
    jurisdiction test of the user on whose behalf the import runs (``None``: no restriction).
    All problems of a row are reported, not only the first, so that a clerk fixes a row once.

    Two rules are stricter than "flag and keep": a certificate number that embeds another
    person's ID (``CERT_ID_MISMATCH``) or a category/grade different from the 残疾类别/残疾等级
    columns (``CERT_CODE_MISMATCH``) rejects the row.  ``docs/numbers.md`` lets a *stored* record
    carry such a flag, but an import that knowingly stores a contradiction would turn a typo
    in a spreadsheet into a record someone has to untangle later; the clerk corrects the cell
    and imports again.

    The same ID twice for the same county rejects *both* rows (``DUPLICATE_ROW``, naming all
    their numbers): we cannot tell which one is right.  The same ID in two counties is allowed
    (``docs/formats.md``: each county's enrolment is kept) and reported as a notice.
    """
    validator = _Validator(columns, counties, covers, today or timezone.localdate())
    valid: list[ValidRow] = []
    errors: list[RowError] = []
    notices: list[str] = []
    keys: dict[tuple[str, str], list[int]] = defaultdict(list)
    seen = 0
    for number, cells in rows:
        seen += 1
        if progress is not None and seen % 1000 == 0:
            progress("validate", seen, total)
        check, row, key = validator.check(number, cells)
        if key is not None:
            keys[key].append(number)
        if row is None:
            errors.extend(check.errors)
        else:
            valid.append(row)
    if progress is not None:
        progress("validate", seen, max(total, seen))

    duplicate_rows: set[int] = set()
    counties_of_id: dict[str, int] = defaultdict(int)
    for (id_number, county), numbers_ in keys.items():
        counties_of_id[id_number] += 1
        if len(numbers_) < 2:
            continue
        listed = "、".join(f"第{n}行" for n in numbers_)
        for n in numbers_:
            duplicate_rows.add(n)
            errors.append(
                RowError(
                    n,
                    ID,
                    "DUPLICATE_ROW",
                    f"身份号码{id_number}在同一县（区）{county}重复出现（{listed}），只能保留一行",
                )
            )
    if duplicate_rows:
        valid = [r for r in valid if r.row not in duplicate_rows]
    multi = sum(1 for n in counties_of_id.values() if n > 1)
    if multi:
        notices.append(
            f"{multi}人同时出现在多个县（区）的行中，各县（区）的享受记录分别保存，"
            "本人户籍信息以文件中最后一行为准。"
        )
    errors.sort(key=lambda e: e.row)
    return Validation(valid, errors, notices, frozenset(columns), seen)


# --------------------------------------------------------------------------------------------
# Apply layer
#
# The plan holds plain dicts, not model instances: building and saving 500 000 Django model
# instances costs more time than the whole import may take.  Instances are built only for the
# generic ``bulk_create``/``bulk_update`` path on databases other than PostgreSQL.

PersonKey = str  # 公民身份号码
EnrolmentKey = tuple[str, str, str]  # (公民身份号码, subsidy, county)

_PERSON_FIELDS = (
    "name", "sex", "birth_date", "hukou_code", "county_id", "hukou_address", "guardian", "phone",
)  # fmt: skip
_CERT_FIELDS = (
    "number", "stem", "category", "grade", "issue_date", "expiry_date", "long_term", "status",
)  # fmt: skip
_ENROLMENT_FIELDS = (
    "person_id", "subsidy", "county_id", "status", "monthly_amount", "payee", "start_month",
    "stop_month", "stop_reason",
)  # fmt: skip
_ACTIVE = Enrolment.Status.ACTIVE.value
_STOPPED = Enrolment.Status.STOPPED.value


@dataclass
class _Plan:
    """Everything an import will write, computed before anything is written."""

    new_people: list[dict[str, Any]] = field(default_factory=list)
    #: pk → the person's full field values after the change.
    changed_people: dict[int, dict[str, Any]] = field(default_factory=dict)
    person_fields: set[str] = field(default_factory=set)
    closed_certificates: list[int] = field(default_factory=list)
    new_certificates: list[tuple[PersonKey, dict[str, Any]]] = field(default_factory=list)
    closed_statuses: list[int] = field(default_factory=list)
    new_statuses: list[tuple[PersonKey, dict[str, Any]]] = field(default_factory=list)
    new_enrolments: list[tuple[EnrolmentKey, dict[str, Any]]] = field(default_factory=list)
    changed_enrolments: dict[int, dict[str, Any]] = field(default_factory=dict)
    enrolment_fields: set[str] = field(default_factory=set)
    #: (existing enrolment pk or key of a new one, EnrolmentChange field values)
    changes: list[tuple[int | EnrolmentKey, dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)
    #: 公民身份号码 → pk of the people already in the database.
    person_pks: dict[PersonKey, int] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return sum(
            len(x)
            for x in (
                self.new_people,
                self.changed_people,
                self.closed_certificates,
                self.new_certificates,
                self.closed_statuses,
                self.new_statuses,
                self.new_enrolments,
                self.changed_enrolments,
                self.changes,
            )
        )


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _expiry_fields(expiry: Expiry) -> tuple[date | None, bool]:
    if expiry is LONG_TERM:
        return None, True
    return (expiry if isinstance(expiry, date) else None), False


@dataclass
class _Existing:
    """What the database holds for the file's IDs, as plain values."""

    people: dict[PersonKey, dict[str, Any]] = field(default_factory=dict)
    certificates: dict[int, dict[str, Any]] = field(default_factory=dict)  # by person pk
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict)  # by person pk
    enrolments: dict[EnrolmentKey, dict[str, Any]] = field(default_factory=dict)


class _AnyOf(Lookup):
    """``column = ANY(%s)`` with the values as *one* array parameter (PostgreSQL).

    ``__in`` with 5 000 values builds a query with 5 000 placeholders that the driver and the
    server both have to parse; on a 100 000-row roster that alone took seconds.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [list(value)]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def _member_of(field_name: str, values: Sequence[Any]) -> Q | Lookup:
    """``field_name__in=values``, as ``= ANY(array)`` on PostgreSQL."""
    if connection.vendor == "postgresql":
        return _AnyOf(F(field_name), values)
    return Q(**{f"{field_name}__in": values})


def _load(ids: Sequence[str]) -> _Existing:
    """Everything the plan compares against, :data:`CHUNK` IDs per query (4 queries/chunk)."""
    existing = _Existing()
    for chunk in _chunks(ids, CHUNK):
        for person in Person.objects.filter(_member_of("id_number", chunk)).values(
            "id", "id_number", *_PERSON_FIELDS
        ):
            existing.people[person["id_number"]] = person
    id_of = {p["id"]: key for key, p in existing.people.items()}
    pks = list(id_of)
    for chunk in _chunks(pks, CHUNK):
        owned = _member_of("person_id", chunk)
        for cert in Certificate.objects.filter(owned, is_current=True).values(
            "id", "person_id", *_CERT_FIELDS
        ):
            existing.certificates[cert["person_id"]] = cert
        for status in FamilyStatus.objects.filter(owned, end_date__isnull=True).values(
            "id", "person_id", "family_type"
        ):
            existing.statuses[status["person_id"]] = status
        for enrolment in Enrolment.objects.filter(owned).values("id", *_ENROLMENT_FIELDS):
            key = (id_of[enrolment["person_id"]], enrolment["subsidy"], enrolment["county_id"])
            existing.enrolments[key] = enrolment
    return existing


def _plan(validation: Validation, *, today: date, now: datetime, user_id: int | None) -> _Plan:
    """Load what exists for the file's IDs and compute every change in Python."""
    plan = _Plan()
    columns = validation.columns
    last: dict[str, ValidRow] = {}
    for row in validation.rows:
        last[row.id_number] = row  # person-level facts: the last row of the ID wins
    existing = _load(list(last))
    plan.person_pks = {key: person["id"] for key, person in existing.people.items()}

    new_ids: set[str] = set()
    touched: set[str] = set()
    optional_person = ((ADDRESS, "hukou_address"), (GUARDIAN, "guardian"), (PHONE, "phone"))
    for id_number, row in last.items():
        desired: dict[str, Any] = {
            "name": row.name,
            "sex": row.sex,
            "birth_date": row.birth_date,
            "hukou_code": row.hukou_code,
            "county_id": row.county,
        }
        for header, attr in optional_person:
            if header in columns:
                desired[attr] = getattr(row, attr)
        person = existing.people.get(id_number)
        pk = None
        if person is None:
            plan.new_people.append({"id_number": id_number, **desired})
            new_ids.add(id_number)
        else:
            pk = person["id"]
            changed = [f for f, v in desired.items() if person[f] != v]
            if changed:
                person.update(desired)
                plan.changed_people[pk] = person
                plan.person_fields.update(changed)
                touched.add(id_number)

        current = existing.certificates.get(pk) if pk else None
        if CERT in columns:
            if row.certificate is None:
                if current is not None:
                    plan.closed_certificates.append(current["id"])
                    touched.add(id_number)
            else:
                candidate = _certificate_for(row, current, columns)
                if current is None or not Certificate.same_facts(
                    SimpleNamespace(**current),  # type: ignore[arg-type]
                    SimpleNamespace(**candidate),  # type: ignore[arg-type]
                ):
                    if current is not None:
                        plan.closed_certificates.append(current["id"])
                    plan.new_certificates.append((id_number, candidate))
                    touched.add(id_number)

        status = existing.statuses.get(pk) if pk else None
        if status is None or status["family_type"] != row.family_type:
            if status is not None:
                plan.closed_statuses.append(status["id"])
            plan.new_statuses.append(
                (id_number, {"family_type": row.family_type, "start_date": today})
            )
            touched.add(id_number)

    month = today.replace(day=1)
    for row in validation.rows:
        row_changed = False
        for subsidy, wanted, amount_header, amount, wanted_header in (
            ("living", row.living, LIVING_AMOUNT, row.living_amount, LIVING),
            ("nursing", row.nursing, NURSING_AMOUNT, row.nursing_amount, NURSING),
        ):
            key = (row.id_number, subsidy, row.county)
            enrolment = existing.enrolments.get(key)
            if wanted:
                fields: dict[str, Any] = {}
                if amount_header in columns or enrolment is None:
                    fields["monthly_amount"] = amount
                if subsidy == "nursing" and (PAYEE in columns or enrolment is None):
                    fields["payee"] = row.payee
                if START in columns or enrolment is None:
                    fields["start_month"] = row.start_month
                if enrolment is None:
                    values = {
                        "subsidy": subsidy,
                        "county_id": row.county,
                        "status": _ACTIVE,
                        "changed_by_id": user_id,
                        **fields,
                    }
                    existing.enrolments[key] = values
                    plan.new_enrolments.append((key, values))
                    plan.changes.append(
                        (key, _change("enrol", "", _ACTIVE, row.start_month, row, "", user_id))
                    )
                    row_changed = True
                    continue
                diffs = {f: v for f, v in fields.items() if enrolment[f] != v}
                resume = enrolment["status"] != _ACTIVE
                if not diffs and not resume:
                    continue
                before = enrolment["status"]
                note = "；".join(
                    f"{Enrolment._meta.get_field(f).verbose_name} {_show(enrolment[f])}→{_show(v)}"
                    for f, v in diffs.items()
                )
                enrolment.update(diffs)
                plan.enrolment_fields.update(diffs)
                if resume:
                    enrolment.update(status=_ACTIVE, stop_month=None, stop_reason="")
                    plan.enrolment_fields.update(("status", "stop_month", "stop_reason"))
                plan.changed_enrolments[enrolment["id"]] = enrolment
                action = "resume" if resume else "amend"
                plan.changes.append(
                    (enrolment["id"], _change(action, before, _ACTIVE, month, row, note, user_id))
                )
                row_changed = True
            elif enrolment is not None and enrolment["status"] != _STOPPED:
                before = enrolment["status"]
                enrolment.update(status=_STOPPED, stop_month=month, stop_reason=_STOP_REASON)
                plan.enrolment_fields.update(("status", "stop_month", "stop_reason"))
                plan.changed_enrolments[enrolment["id"]] = enrolment
                note = f"「{wanted_header}」为否"
                plan.changes.append(
                    (
                        enrolment["id"],
                        _change("stop", before, _STOPPED, month, row, note, user_id, _STOP_REASON),
                    )
                )
                row_changed = True
        if row.id_number in new_ids:
            plan.outcomes[row.row] = "created"
        elif row_changed or row.id_number in touched:
            plan.outcomes[row.row] = "updated"
        else:
            plan.outcomes[row.row] = "unchanged"
    for enrolment in plan.changed_enrolments.values():
        enrolment.update(changed_by_id=user_id, changed_at=now)
    if plan.changed_enrolments:
        plan.enrolment_fields.update(("changed_by_id", "changed_at"))
    for person in plan.changed_people.values():
        person["updated_at"] = now
    if plan.changed_people:
        plan.person_fields.add("updated_at")
    return plan


def _show(value: Any) -> str:
    return "空" if value is None or value == "" else str(value)


def _certificate_for(
    row: ValidRow, current: dict[str, Any] | None, columns: Collection[str]
) -> dict[str, Any]:
    """The certificate the row describes, as field values.

    The roster carries no status or issue date: for the *same* certificate (same 20-character
    stem) they are kept from the current record, so that a certificate frozen by the
    federation is not silently un-frozen by re-importing a roster.  A different stem is a new
    certificate and starts as 正常.
    """
    cert = row.certificate
    assert cert is not None
    same = current if current is not None and current["stem"] == cert.stem else None
    if EXPIRY in columns:
        expiry_date, long_term = _expiry_fields(row.expiry)
    elif same is not None:
        expiry_date, long_term = same["expiry_date"], same["long_term"]
    else:
        expiry_date, long_term = None, False
    return {
        "number": cert.value,
        "stem": cert.stem,
        "category": cert.category,
        "grade": cert.grade,
        "issue_date": same["issue_date"] if same else None,
        "expiry_date": expiry_date,
        "long_term": long_term,
        "status": same["status"] if same else Certificate.Status.NORMAL.value,
    }


def _change(
    action: str,
    before: str,
    after: str,
    month: date | None,
    row: ValidRow,
    note: str,
    user_id: int | None,
    reason: str = "",
) -> dict[str, Any]:
    return {
        "action": action,
        "from_status": before,
        "to_status": after,
        "month": month,
        "reason": reason,
        "note": f"导入名册第{row.row}行" + (f"：{note}" if note else ""),
        "changed_by_id": user_id,
    }


def _lock() -> None:
    """Serialise beneficiary imports on PostgreSQL for the length of the transaction.

    Two imports computing their plans at the same time would both decide to create the same
    person; the lock makes the second wait and then see the first one's rows.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x5EB51D1E])


class _Writer:
    """Inserts and updates plain rows: COPY on PostgreSQL, bulk statements elsewhere.

    PostgreSQL's COPY is an order of magnitude faster than multi-row INSERTs built by the ORM
    (which prepares every value of every object in Python); primary keys are taken from the
    table's sequence beforehand so that rows referring to new rows can be written too.  Other
    databases (SQLite for a single-user installation) use ``bulk_create``/``bulk_update``.
    """

    def __init__(self, now: datetime, progress: Progress | None, total: int) -> None:
        self.now = now
        self.progress = progress
        self.total = total
        self.done = 0
        self.postgres = connection.vendor == "postgresql"

    def _step(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress("write", self.done, self.total)

    def _value(self, field_: Any, row: dict[str, Any]) -> Any:
        """The value to store: given, a timestamp, or the field's default."""
        name = field_.attname
        if name in row:
            value = row[name]
        elif getattr(field_, "auto_now", False) or getattr(field_, "auto_now_add", False):
            value = self.now
        else:
            value = field_.get_default()
        # Choices enums are str/int subclasses; COPY wants the plain value.
        return value.value if isinstance(value, enum.Enum) else value

    def insert(self, model: Any, rows: Sequence[dict[str, Any]], *, ids: bool) -> list[int]:
        """Insert ``rows`` (field attname → value); return the new pks if ``ids``."""
        if not rows:
            return []
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        if not self.postgres:
            return self._bulk_create(model, rows, fields, ids)
        from psycopg import sql

        table = model._meta.db_table
        pks: list[int] = []
        with connection.cursor() as cursor:
            if ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [table, model._meta.pk.column, len(rows)],
                )
                pks = [r[0] for r in cursor.fetchall()]
            names = ([model._meta.pk.column] if ids else []) + [f.column for f in fields]
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
            )
            with cursor.cursor.copy(statement) as copy:
                for index, row in enumerate(rows):
                    values = [self._value(f, row) for f in fields]
                    copy.write_row([pks[index], *values] if ids else values)
                    if index % WRITE_BATCH == WRITE_BATCH - 1:
                        self._step(WRITE_BATCH)
        self._step(len(rows) % WRITE_BATCH)
        return pks

    def _bulk_create(
        self, model: Any, rows: Sequence[dict[str, Any]], fields: list[Any], ids: bool
    ) -> list[int]:
        pks: list[int] = []
        for chunk in _chunks(rows, WRITE_BATCH):
            objects = [model(**{f.attname: self._value(f, row) for f in fields}) for row in chunk]
            model.objects.bulk_create(objects)
            if ids:
                pks.extend(obj.pk for obj in objects)
            self._step(len(chunk))
        return pks

    def update(self, model: Any, rows: Mapping[int, dict[str, Any]], names: Iterable[str]) -> None:
        """Set ``names`` (attnames) of the rows keyed by pk."""
        if not rows:
            return
        attnames = sorted(names)
        fields = [model._meta.get_field(n.removesuffix("_id")) for n in attnames]
        if not self.postgres:
            for chunk in _chunks(list(rows.items()), UPDATE_BATCH):
                objects = []
                for pk, row in chunk:
                    obj = model(pk=pk)
                    for name in attnames:
                        setattr(obj, name, row[name])
                    objects.append(obj)
                model.objects.bulk_update(objects, [f.name for f in fields])
                self._step(len(chunk))
            return
        from psycopg import sql

        table = model._meta.db_table
        pk = model._meta.pk.column
        columns = [f.column for f in fields]
        with connection.cursor() as cursor:
            # A temporary copy of the columns, filled by COPY, then one UPDATE … FROM.
            cursor.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE import_update ON COMMIT DROP AS "
                    "SELECT {} FROM {} WITH NO DATA"
                ).format(
                    sql.SQL(", ").join(map(sql.Identifier, [pk, *columns])), sql.Identifier(table)
                )
            )
            with cursor.cursor.copy(
                sql.SQL("COPY import_update ({}) FROM STDIN").format(
                    sql.SQL(", ").join(map(sql.Identifier, [pk, *columns]))
                )
            ) as copy:
                for key, row in rows.items():
                    copy.write_row([key, *(row[name] for name in attnames)])
            cursor.execute(
                sql.SQL("UPDATE {} AS t SET {} FROM import_update AS u WHERE t.{} = u.{}").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(
                        sql.SQL("{} = u.{}").format(sql.Identifier(c), sql.Identifier(c))
                        for c in columns
                    ),
                    sql.Identifier(pk),
                    sql.Identifier(pk),
                )
            )
            cursor.execute("DROP TABLE import_update")
        self._step(len(rows))

    def close(self, model: Any, pks: Sequence[int], **values: Any) -> None:
        """Set the same ``values`` on the rows ``pks`` (closing history rows)."""
        for chunk in _chunks(pks, CHUNK):
            model.objects.filter(_member_of("pk", chunk)).update(**values)
            self._step(len(chunk))


def _write(
    plan: _Plan, record: ImportRecord, *, today: date, now: datetime, progress: Progress | None
) -> None:
    """Write the plan in dependency order.

    Closing rows comes before creating their successors because of the partial unique
    constraints (one current certificate, one open family status per person).
    """
    writer = _Writer(now, progress, plan.writes)
    pks = writer.insert(Person, plan.new_people, ids=True)
    person_pk = {row["id_number"]: pk for row, pk in zip(plan.new_people, pks, strict=True)}
    writer.update(Person, plan.changed_people, plan.person_fields)

    person_pk.update(plan.person_pks)
    owner_pk = person_pk.__getitem__

    writer.close(Certificate, plan.closed_certificates, is_current=False, superseded_at=now)
    writer.insert(
        Certificate,
        [
            {**values, "person_id": owner_pk(key), "is_current": True}
            for key, values in plan.new_certificates
        ],
        ids=False,
    )
    writer.close(FamilyStatus, plan.closed_statuses, end_date=today)
    writer.insert(
        FamilyStatus,
        [{**values, "person_id": owner_pk(key)} for key, values in plan.new_statuses],
        ids=False,
    )
    new_enrolments = [
        {**values, "person_id": owner_pk(key[0])} for key, values in plan.new_enrolments
    ]
    enrolment_pks = writer.insert(Enrolment, new_enrolments, ids=True)
    enrolment_pk = {
        key: pk for (key, _), pk in zip(plan.new_enrolments, enrolment_pks, strict=True)
    }
    writer.update(Enrolment, plan.changed_enrolments, plan.enrolment_fields)
    source = f"导入 #{record.pk}"
    writer.insert(
        EnrolmentChange,
        [
            {
                **values,
                "enrolment_id": ref if isinstance(ref, int) else enrolment_pk[ref],
                "source": source,
            }
            for ref, values in plan.changes
        ],
        ids=False,
    )


def _count(result: ImportResult, outcomes: dict[int, str]) -> None:
    result.outcomes = outcomes
    values = list(outcomes.values())
    result.created = values.count("created")
    result.updated = values.count("updated")
    result.unchanged = values.count("unchanged")


def apply_validation(
    validation: Validation,
    *,
    filename: str,
    sha256: str,
    mode: Mode = ATOMIC,
    dry_run: bool = False,
    user: Any = None,
    request: HttpRequest | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Write (or, in a dry run, only compute) the outcome of a validated file.

    Atomic mode with any rejected row writes nothing and records nothing; the counts stay 0
    because nothing was created or updated.  A dry run computes the outcome of every valid row
    in either mode, which is what the preview shows.
    """
    if mode not in (ATOMIC, SKIP_INVALID):
        raise ValueError(f"unknown import mode {mode!r}")
    today = today or timezone.localdate()
    now = timezone.now()
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    actor_id = actor.pk if actor is not None else None
    result = ImportResult(
        filename=filename,
        sha256=sha256,
        mode=mode,
        dry_run=dry_run,
        total=validation.total,
        errors=list(validation.errors),
        notices=list(validation.notices),
    )
    if dry_run:
        _count(result, _plan(validation, today=today, now=now, user_id=actor_id).outcomes)
        return result
    if result.rejected:
        return result
    with transaction.atomic():
        _lock()
        plan = _plan(validation, today=today, now=now, user_id=actor_id)
        _count(result, plan.outcomes)
        record = ImportRecord.objects.create(
            kind=KIND,
            filename=filename[:255],
            sha256=sha256,
            mode=mode,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=len(result.rejected_rows),
            imported_by=actor,
        )
        _write(plan, record, today=today, now=now, progress=progress)
        audit.record(
            request,
            "import",
            obj_type="archive.ImportRecord",
            obj_id=str(record.pk),
            detail=(
                f"导入两项补贴对象花名册「{filename}」（SHA-256 {sha256[:12]}…）："
                f"新增{result.created}，更新{result.updated}，未变{result.unchanged}，"
                f"拒绝{len(result.rejected_rows)}"
            ),
            user=actor,
        )
    result.record_id = record.pk
    result.written = True
    logger.info(
        "import %s #%s: %s created, %s updated, %s unchanged, %s rejected",
        filename,
        record.pk,
        result.created,
        result.updated,
        result.unchanged,
        len(result.rejected_rows),
    )
    return result


Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]


def file_sha256(source: Source) -> str:
    """SHA-256 of a file given as a path, bytes or a seekable binary file (left at 0)."""
    digest = hashlib.sha256()
    if isinstance(source, (bytes, bytearray)):
        digest.update(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    else:
        source.seek(0)
        while chunk := source.read(1 << 20):
            digest.update(chunk)
        source.seek(0)
    return digest.hexdigest()


def read_roster(
    source: Source,
    filename: str = "",
    *,
    user: Any = None,
    today: date | None = None,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Validation:
    """Read and validate a roster file; :class:`TableError` for whole-file problems.

    The only query is the county list.  ``user`` restricts rows to their jurisdiction.
    """
    table = read_table(source, filename, max_bytes=max_bytes, max_rows=max_rows)
    columns, unknown = match_headers(table.headers, filename)
    check = None if user is None else (lambda county: covers(user, county))
    validation = validate_rows(
        table.rows,
        columns,
        counties=load_counties(),
        covers=check,
        today=today,
        total=table.row_count,
        progress=progress,
    )
    if unknown:
        validation.notices.insert(0, f"以下列不属于花名册，已忽略：{'、'.join(unknown)}")
    return validation


def import_beneficiaries(
    source: Source,
    filename: str = "",
    *,
    mode: Mode = ATOMIC,
    dry_run: bool = False,
    user: Any = None,
    request: HttpRequest | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ImportResult:
    """Read, validate and apply a roster file: the one entry point of the command and views.

    Raises :class:`TableError` for whole-file problems (empty, not a table, missing headers,
    formula cells, too big, too many rows) before anything is written.
    """
    sha256 = file_sha256(source)
    validation = read_roster(
        source,
        filename,
        user=user,
        today=today,
        progress=progress,
        max_bytes=max_bytes,
        max_rows=max_rows,
    )
    return apply_validation(
        validation,
        filename=filename,
        sha256=sha256,
        mode=mode,
        dry_run=dry_run,
        user=user,
        request=request,
        today=today,
        progress=progress,
    )


# --------------------------------------------------------------------------------------------
# Rejected rows


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
