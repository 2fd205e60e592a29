"""The seven comparison rosters (比对数据) of ``docs/formats.md``, declared once as data.

Each department sends its own spreadsheet: deaths from public security, the disabled persons'
federation's certificate base, the civil-affairs assistance lists, and so on.  They differ only
in a few columns, so instead of seven importers there is one table, :data:`ROSTERS`
(kind → Chinese label, columns, and the parser of each column), and one function,
:func:`parse_roster`, that turns a :class:`~core.tabular.Table` into normalised rows plus a
list of per-cell errors.

Rules that come from the spec:

* the match key is the normalised 公民身份号码 alone; a row whose ID number is invalid is
  *reported*, not fatal — one mistyped number in a 100 000-row death list must not stop the
  whole comparison;
* the name is kept as written, because names are spelt differently across departments and a
  difference is reported as a note, never as a miss;
* every cell is parsed by the shared parsers of :mod:`core.cells` and
  :mod:`core.numbers`, so a date or grade means the same here as in every other import.

Normalised rows are plain dicts (``row``, ``id_number``, ``name``, the kind's fields and
``raw`` — the cells as read, for the evidence of a finding) so that the engine can spool them
into DuckDB without knowing anything about spreadsheets.  Nothing here imports Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.cells import (
    LONG_TERM,
    CellError,
    is_blank,
    parse_category,
    parse_date,
    parse_division_code,
    parse_expiry,
    parse_family_type,
    parse_grade,
)
from core.divisions import county_of
from core.eligibility import CERT_STATUSES
from core.numbers import NumberError, parse_certificate, parse_id
from core.rows import RowError
from core.tabular import HeaderSpec, Table

__all__ = [
    "ID_HEADER",
    "KINDS",
    "NAME_HEADER",
    "ROSTERS",
    "Column",
    "ParsedRoster",
    "RosterSpec",
    "RowError",
    "header_spec",
    "iter_roster",
    "parse_roster",
    "raw_text",
]

NAME_HEADER = "姓名"
ID_HEADER = "公民身份号码"

# 证件状态 values (core.eligibility.CERT_STATUSES): ``docs/formats.md`` lists 正常/注销, and
# ``docs/rules.md`` also acts on 冻结 (CERT_FROZEN), so the base may carry it and it must parse.
ORPHAN_TYPES = ("孤儿", "事实无人抚养儿童")
#: 保障类别 of the assistance roster: the 家庭类别 values except 一般, which is no assistance.
ASSISTANCE_TYPES = ("低保", "低保边缘", "特困")

Fields = dict[str, Any]
Parser = Callable[[Any], Fields]


@dataclass(frozen=True)
class Column:
    """One further header of a roster and how its cell becomes normalised fields.

    ``parse`` returns a dict because one cell can carry several facts (a certificate number
    holds the holder's ID, the category and the grade).  ``blank`` is what an empty cell
    yields when the column is optional; a required cell that is empty is an error.
    """

    header: str
    parse: Parser
    required: bool = True
    blank: Mapping[str, Any] = field(default_factory=dict)
    #: Whether equal cells may share one parse.  Dates, codes and statuses repeat thousands
    #: of times in a province-wide roster; certificate numbers are unique, caching them only
    #: costs memory.
    repetitive: bool = True


@dataclass(frozen=True)
class RosterSpec:
    """A roster kind: its label, its columns, the schema of its normalised rows.

    ``fields`` maps every normalised field to its DuckDB type, so that the engine can load
    the rows with an explicit schema instead of guessing types from data.  ``period`` names
    the (start, end) fields that must be in order, with their headers for the message.
    """

    kind: str
    label: str
    source: str
    columns: tuple[Column, ...]
    fields: Mapping[str, str]
    period: tuple[str, str, str, str] | None = None

    @property
    def headers(self) -> tuple[str, ...]:
        """Required headers, in the order of ``docs/formats.md``."""
        return (NAME_HEADER, ID_HEADER, *(c.header for c in self.columns))

    @property
    def evidence_headers(self) -> tuple[str, ...]:
        """The headers whose values a finding quotes as evidence (the roster's own facts)."""
        return tuple(c.header for c in self.columns)


@dataclass
class ParsedRoster:
    """A parsed roster: its valid rows (normalised dicts) and the rejected cells."""

    kind: str
    rows: list[dict[str, Any]]
    errors: list[RowError]
    unknown_headers: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Cell parsers producing fields


def _one(key: str, parse: Callable[[Any], Any]) -> Parser:
    return lambda raw: {key: parse(raw)}


def _choice(code: str, what: str, allowed: tuple[str, ...]) -> Callable[[Any], str]:
    """A parser for a closed set of Chinese words; anything else is an error, never a guess."""

    def parse(raw: Any) -> str:
        text = "".join(str(raw).split())
        if text in allowed:
            return text
        raise CellError(code, f"无法识别的{what}「{text}」，应为{'、'.join(allowed)}")

    return parse


def _assistance_type(raw: Any) -> str:
    value = parse_family_type(raw)
    if value not in ASSISTANCE_TYPES:
        raise CellError("ASSISTANCE_TYPE", f"保障类别「{value}」不是低保、低保边缘或特困")
    return value


def _certificate(raw: Any) -> Fields:
    try:
        cert = parse_certificate(raw)
    except NumberError as exc:
        raise CellError(exc.code, exc.message) from None
    return {
        "cert_stem": cert.stem,
        "cert_value": cert.value,
        "cert_id": cert.id_number.value,
        "cert_category": cert.category,
        "cert_grade": cert.grade,
    }


def _expiry(raw: Any) -> Fields:
    value = parse_expiry(raw)
    if value is LONG_TERM:
        return {"expiry": None, "expiry_long_term": True}
    return {"expiry": value, "expiry_long_term": False}


def _division(prefix: str) -> Parser:
    def parse(raw: Any) -> Fields:
        code = parse_division_code(raw)
        return {f"{prefix}_code": code, f"{prefix}_county": county_of(code)}

    return parse


_PERIOD_FIELDS = {"start": "DATE", "end": "DATE"}


def _period(start_header: str, end_header: str) -> tuple[Column, Column]:
    return (
        Column(start_header, _one("start", parse_date)),
        Column(end_header, _one("end", parse_date), required=False, blank={"end": None}),
    )


#: The seven comparison rosters of ``docs/formats.md``.  Adding an eighth is one entry here.
ROSTERS: dict[str, RosterSpec] = {
    spec.kind: spec
    for spec in (
        RosterSpec(
            "death",
            "死亡人员",
            "公安、殡葬",
            (Column("死亡日期", _one("event_date", parse_date)),),
            {"event_date": "DATE"},
        ),
        RosterSpec(
            "hukou_out",
            "户籍迁出",
            "公安",
            (
                Column("迁出日期", _one("event_date", parse_date)),
                Column("迁入地区划代码", _division("destination")),
            ),
            {"event_date": "DATE", "destination_code": "VARCHAR", "destination_county": "VARCHAR"},
        ),
        RosterSpec(
            "cert_base",
            "残疾人基础库",
            "残联",
            (
                Column("残疾人证号", _certificate, repetitive=False),
                Column("残疾类别", _one("category", parse_category)),
                Column("残疾等级", _one("grade", parse_grade)),
                Column(
                    "证件状态", _one("status", _choice("CERT_STATUS", "证件状态", CERT_STATUSES))
                ),
                Column(
                    "有效期至",
                    _expiry,
                    required=False,
                    blank={"expiry": None, "expiry_long_term": False},
                ),
                Column("户籍区划代码", _division("division")),
            ),
            {
                "cert_stem": "VARCHAR",
                "cert_value": "VARCHAR",
                "cert_id": "VARCHAR",
                "cert_category": "INTEGER",
                "cert_grade": "INTEGER",
                "category": "INTEGER",
                "grade": "INTEGER",
                "status": "VARCHAR",
                "expiry": "DATE",
                "expiry_long_term": "BOOLEAN",
                "division_code": "VARCHAR",
                "division_county": "VARCHAR",
            },
        ),
        RosterSpec(
            "assistance",
            "低保·低保边缘·特困名册",
            "民政",
            (
                Column("保障类别", _one("benefit_type", _assistance_type)),
                *_period("开始日期", "终止日期"),
            ),
            {"benefit_type": "VARCHAR", **_PERIOD_FIELDS},
            ("start", "end", "开始日期", "终止日期"),
        ),
        RosterSpec(
            "work_injury_care",
            "工伤保险生活护理费",
            "人社",
            _period("开始日期", "终止日期"),
            dict(_PERIOD_FIELDS),
            ("start", "end", "开始日期", "终止日期"),
        ),
        RosterSpec(
            "prison",
            "在监服刑人员",
            "司法",
            _period("入监日期", "出监日期"),
            dict(_PERIOD_FIELDS),
            ("start", "end", "入监日期", "出监日期"),
        ),
        RosterSpec(
            "orphan",
            "孤儿·事实无人抚养儿童",
            "儿童福利",
            (
                Column(
                    "保障类型",
                    _one("benefit_type", _choice("ORPHAN_TYPE", "保障类型", ORPHAN_TYPES)),
                ),
                *_period("开始日期", "终止日期"),
            ),
            {"benefit_type": "VARCHAR", **_PERIOD_FIELDS},
            ("start", "end", "开始日期", "终止日期"),
        ),
    )
}

KINDS: tuple[str, ...] = tuple(ROSTERS)

#: Fields every normalised row has, whatever its kind, with their DuckDB types (besides
#: ``raw``, the dict of evidence texts keyed by :attr:`RosterSpec.evidence_headers`).
COMMON_FIELDS: dict[str, str] = {
    "row": "INTEGER",
    "id_number": "VARCHAR",
    "name": "VARCHAR",
}


def header_spec(kind: str) -> HeaderSpec:
    """The :class:`HeaderSpec` to pass to :func:`core.tabular.read_table` for a kind."""
    return HeaderSpec(required=_spec(kind).headers)


def _spec(kind: str) -> RosterSpec:
    try:
        return ROSTERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown roster kind {kind!r}; expected one of {', '.join(KINDS)}"
        ) from None


def raw_text(value: Any) -> str:
    """A cell as it should be quoted in evidence: dates as ISO, numbers without ``.0``."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


#: Bound on memoised distinct values per column; beyond it the memo restarts (a column of
#: unique values then costs no more than parsing without a memo).
_MEMO_LIMIT = 50_000

_Outcome = tuple[Mapping[str, Any] | RowError, str]


def _judge(column: Column, raw: Any) -> _Outcome:
    """Parse one cell: its fields (or a row-less error) and its evidence text."""
    text = raw_text(raw)
    if is_blank(raw):
        if column.required:
            return RowError(0, column.header, "REQUIRED", f"{column.header}为空"), text
        return column.blank, text
    try:
        return column.parse(raw), text
    except CellError as exc:
        return RowError(0, column.header, exc.code, exc.message), text


def iter_roster(
    kind: str, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> Iterator[dict[str, Any] | list[RowError]]:
    """Yield, row by row, either the normalised dict or the list of that row's errors.

    A generator so that a province-wide roster can be streamed to disk by the engine without
    ever holding a list of a million dicts; :func:`parse_roster` collects it for small inputs.
    All cells of a row are checked, so a clerk sees every problem of the row at once.  Equal
    cells of a repetitive column are parsed once (the parsers are pure), which is what makes
    a million-row roster affordable in Python.
    """
    spec = _spec(kind)
    plan: list[tuple[Column, dict[Any, _Outcome] | None]] = [
        (column, {} if column.repetitive else None) for column in spec.columns
    ]
    for number, cells in rows:
        errors: list[RowError] = []
        out: dict[str, Any] = {"row": number}
        raw_id = cells.get(ID_HEADER)
        try:
            out["id_number"] = parse_id(raw_id).value
        except NumberError as exc:
            errors.append(RowError(number, ID_HEADER, exc.code, exc.message))
        name = cells.get(NAME_HEADER)
        out["name"] = (str(name).strip() or None) if name is not None else None
        evidence: dict[str, str] = {}
        for column, memo in plan:
            raw = cells.get(column.header)
            outcome: _Outcome | None = None
            key: Any = None
            if memo is not None:
                # Text is its own key; other values carry their type, since 1 == 1.0 == True.
                key = raw if raw.__class__ is str else (raw.__class__, raw)
                try:
                    outcome = memo.get(key)
                except TypeError:  # an unhashable cell value: parse it every time
                    key = None
            if outcome is None:
                outcome = _judge(column, raw)
                if memo is not None and key is not None:
                    if len(memo) >= _MEMO_LIMIT:
                        memo.clear()
                    memo[key] = outcome
            result, evidence[column.header] = outcome
            if isinstance(result, RowError):
                errors.append(RowError(number, result.column, result.code, result.message))
            else:
                out.update(result)
        if spec.period and not errors:
            start_key, end_key, start_header, end_header = spec.period
            if out[end_key] is not None and out[end_key] < out[start_key]:
                errors.append(
                    RowError(
                        number,
                        end_header,
                        "DATE_RANGE",
                        f"{end_header}{out[end_key].isoformat()}早于{start_header}"
                        f"{out[start_key].isoformat()}",
                    )
                )
        if errors:
            yield errors
            continue
        out["raw"] = evidence
        yield out


def parse_roster(kind: str, table: Table) -> ParsedRoster:
    """Parse a whole roster into memory: right for previews, tests and county-size files.

    For province-size rosters use :func:`iter_roster` (or the engine's spooling), which
    streams.
    """
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for item in iter_roster(kind, table.rows):
        if isinstance(item, dict):
            rows.append(item)
        else:
            errors.extend(item)
    return ParsedRoster(
        kind=kind, rows=rows, errors=errors, unknown_headers=list(table.unknown_headers)
    )
