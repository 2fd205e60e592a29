"""The validation layer: every rule of a row, without the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.utils import timezone

from archive.imports.counties import Counties
from archive.imports.headers import (
    ADDRESS,
    CATEGORY,
    CERT,
    EXPIRY,
    FAMILY,
    GRADE,
    GUARDIAN,
    HUKOU,
    ID,
    LIVING,
    LIVING_AMOUNT,
    NAME,
    NURSING,
    NURSING_AMOUNT,
    PAYEE,
    PHONE,
    SEX,
    START,
)
from archive.imports.results import (
    Progress,
    RowError,
    RowFlag,
    Validation,
    ValidRow,
)
from core.cells import (
    CellError,
    Expiry,
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
from core.codes import (
    LIVING_NO_CERT,
    LIVING_NOT_QUALIFIED,
    NURSING_NO_CERT,
    NURSING_NOT_QUALIFIED,
    SEX_MISMATCH,
)
from core.divisions import county_of
from core.eligibility import SHANXI_2023, RuleSet, qualifies_for_nursing
from core.numbers import (
    CATEGORIES,
    CERT_CODE_MISMATCH,
    CERT_ID_MISMATCH,
    CROSS_CHECK_MESSAGES,
    GRADES,
    CertificateNumber,
    NumberError,
    cross_check,
    mask_id,
    parse_certificate,
    parse_id,
    to_halfwidth,
)
from core.tabular import Row

#: Lengths of the free-text fields of ``Person``; longer text is an error, not truncated.
_MAX_LENGTHS = {NAME: 64, ADDRESS: 255, GUARDIAN: 64, PHONE: 32}
#: ``Enrolment.monthly_amount`` is ``max_digits=8, decimal_places=2``.
_MAX_AMOUNT = Decimal("999999.99")
T = TypeVar("T")


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

    __slots__ = ("errors", "flags", "number", "values")

    def __init__(
        self, number: int, cells: Mapping[str, Any], columns: Mapping[str, str] | None
    ) -> None:
        self.number = number
        # canonical header → raw cell, once per row (cells are keyed by the header as written);
        # ``None``: every header is written as the canonical one, so the cells serve as they are
        self.values = (
            cells
            if columns is None
            else {header: cells.get(actual) for header, actual in columns.items()}
        )
        self.errors: list[RowError] = []
        self.flags: list[RowFlag] = []

    def fail(self, column: str, code: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, code, message))

    def flag(self, column: str, code: str, message: str, subsidy: str = "") -> None:
        self.flags.append(RowFlag(self.number, column, code, message, subsidy))

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
        rules: RuleSet,
    ) -> None:
        # A file whose headers are written exactly as the roster's (the usual case) needs no
        # renaming of its cells: an unknown header can never be one of the roster's.
        self.renames = None if all(h == a for h, a in columns.items()) else columns
        self.rules = rules
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
        """Errors and flags, the valid row (or ``None``), and the (ID, county) key for
        duplicates."""
        present = self.present
        row = _RowCheck(number, cells, self.renames)

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
                row.flag(
                    SEX,
                    SEX_MISMATCH,
                    f"性别「{sex}」与身份号码不符（号码第17位表示{id_value.sex}性），"
                    "已按身份号码登记",
                )

        certificate: CertificateNumber | None = None
        has_cert = CERT in present and not row.blank(CERT)
        category = grade = None
        if has_cert:
            try:
                certificate = parse_certificate(row.cell(CERT), today=self.today, holder=id_value)
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
        self._eligibility(row, has_cert, certificate, family_type, living, nursing)
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
            category=category,
            grade=grade,
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
                row.flag(
                    CERT,
                    code,
                    f"{CROSS_CHECK_MESSAGES[code]}：证号以{mask_id(certificate.id_number.value)}开头",
                )
            elif code == CERT_CODE_MISMATCH:
                row.flag(
                    CERT,
                    code,
                    f"{CROSS_CHECK_MESSAGES[code]}：证号表示"
                    f"{CATEGORIES[certificate.category]}{GRADES[certificate.grade]}，"
                    f"表中为{CATEGORIES.get(category or 0, '')}{GRADES.get(grade or 0, '')}",
                )

    def _eligibility(
        self,
        row: _RowCheck,
        has_cert: bool,
        certificate: CertificateNumber | None,
        family_type: str | None,
        living: bool | None,
        nursing: bool | None,
    ) -> None:
        """Flags for a subsidy received by someone the rules in force say does not qualify.

        The category and grade are the certificate number's (``docs/numbers.md``: the number
        wins), as in the comparison's ``GRADE_INSUFFICIENT``.
        """
        rules = self.rules
        if nursing and not has_cert:
            row.flag(
                NURSING,
                NURSING_NO_CERT,
                "享受护理补贴须持有残疾人证，但残疾人证号为空",
                "nursing",
            )
        if living and not has_cert:
            row.flag(
                LIVING, LIVING_NO_CERT, "享受生活补贴须持有残疾人证，但残疾人证号为空", "living"
            )
        if (
            nursing
            and certificate is not None
            and not qualifies_for_nursing(certificate.category, certificate.grade, rules)
        ):
            row.flag(
                NURSING,
                NURSING_NOT_QUALIFIED,
                f"{CATEGORIES[certificate.category]}{GRADES[certificate.grade]}"
                f"不在「{rules.name}」的护理补贴范围内",
                "nursing",
            )
        if living and family_type is not None and family_type not in rules.living_family_types:
            allowed = "、".join(sorted(rules.living_family_types))
            row.flag(
                FAMILY,
                LIVING_NOT_QUALIFIED,
                f"家庭类别「{family_type}」不符合生活补贴条件（「{rules.name}」规定为{allowed}）",
                "living",
            )


def validate_rows(
    rows: Iterable[Row],
    columns: Mapping[str, str],
    *,
    counties: Counties,
    covers: Callable[[str], bool] | None = None,
    today: date | None = None,
    rules: RuleSet = SHANXI_2023,
    total: int = 0,
    progress: Progress | None = None,
) -> Validation:
    """Check every row against the rules of ``docs/formats.md`` and ``docs/numbers.md``.

    ``columns`` is the first result of :func:`match_headers`.  ``covers(county)`` is the
    jurisdiction test of the user on whose behalf the import runs (``None``: no restriction).
    All problems of a row are reported, not only the first, so that a clerk fixes a row once.

    A row is rejected only when a cell cannot be read, a required cell is empty, its county is
    unknown or outside the jurisdiction, or it repeats another row.  A row whose cells each
    read but contradict each other or ``rules`` (the rule set in force) is kept and flagged
    (``docs/formats.md``, "Rejected or flagged"; the codes are :data:`core.codes.FLAG_CODES`):
    those contradictions are what the comparison exists to find, and refusing them would
    leave the county unable to load its own roster.  A rejected row's flags are not reported.

    The same ID twice for the same county rejects *both* rows (``DUPLICATE_ROW``, naming all
    their numbers): we cannot tell which one is right.  The same ID in two counties is allowed
    (``docs/formats.md``: each county's enrolment is kept) and reported as a notice.
    """
    validator = _Validator(columns, counties, covers, today or timezone.localdate(), rules)
    valid: list[ValidRow] = []
    errors: list[RowError] = []
    flags: list[RowFlag] = []
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
            flags.extend(check.flags)
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
        flags = [f for f in flags if f.row not in duplicate_rows]
    multi = sum(1 for n in counties_of_id.values() if n > 1)
    if multi:
        notices.append(
            f"{multi}人同时出现在多个县（区）的行中，各县（区）的享受记录分别保存，"
            "本人户籍信息以文件中最后一行为准。"
        )
    errors.sort(key=lambda e: e.row)
    return Validation(valid, errors, notices, frozenset(columns), seen, flags)
