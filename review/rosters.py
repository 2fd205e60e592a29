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
  :mod:`core.numbers`, so a date or grade means the same here as in every other import —
  set-wise in DuckDB for the cells whose form the SQL is sure of, row by row
  (:func:`iter_roster`) for all others ("Set-wise parsing" below).

Normalised rows are plain dicts (``row``, ``id_number``, ``name``, the kind's fields and
``raw`` — the cells as read, for the evidence of a finding) so that the engine can spool them
into DuckDB without knowing anything about spreadsheets.  Nothing here imports Django.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from core.cells import (
    CATEGORY_WORDS,
    DIVISION_LENGTHS,
    FAMILY_ALIASES,
    GRADE_NUMERALS,
    LONG_TERM,
    LONG_TERM_WORDS,
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
from core.numbers import (
    CATEGORIES,
    GRADES,
    ID_CHECK_CHARS,
    ID_WEIGHTS,
    INVISIBLE_CHARS,
    MIN_BIRTH_DATE,
    REISSUE_SUFFIX,
    NumberError,
    parse_certificate,
    parse_id,
    to_halfwidth,
)
from core.rows import RowError
from core.tabular import BLANK_CHARS, HeaderSpec, Table

__all__ = [
    "ACCEPTED",
    "ID_HEADER",
    "KINDS",
    "NAME_HEADER",
    "ROSTERS",
    "STORED",
    "Column",
    "ParsedRoster",
    "RosterSet",
    "RosterSpec",
    "RowError",
    "Vector",
    "derived_fields",
    "evidence_fields",
    "header_spec",
    "iter_roster",
    "parse_roster",
    "parse_roster_by_row",
    "parse_set",
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
    #: The set-wise form of ``parse`` (:class:`Vector`); ``None``: every row goes through
    #: ``parse``.
    vector: Vector | None = None


@dataclass(frozen=True)
class Vector:
    """How the set-wise parser reads a column in SQL (see "Set-wise parsing" below).

    ``form`` names the SQL of :data:`_FORMS`; ``fields`` are the normalised fields it yields,
    in the order ``parse`` yields them; ``allowed`` is the closed set of a word column.
    """

    form: str
    fields: tuple[str, ...]
    allowed: tuple[str, ...] = ()


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
        Column(start_header, _one("start", parse_date), vector=Vector("date", ("start",))),
        Column(
            end_header,
            _one("end", parse_date),
            required=False,
            blank={"end": None},
            vector=Vector("date", ("end",)),
        ),
    )


def _choice_column(header: str, key: str, code: str, what: str, allowed: tuple[str, ...]) -> Column:
    return Column(
        header, _one(key, _choice(code, what, allowed)), vector=Vector("choice", (key,), allowed)
    )


#: The seven comparison rosters of ``docs/formats.md``.  Adding an eighth is one entry here.
ROSTERS: dict[str, RosterSpec] = {
    spec.kind: spec
    for spec in (
        RosterSpec(
            "death",
            "死亡人员",
            "公安、殡葬",
            (
                Column(
                    "死亡日期",
                    _one("event_date", parse_date),
                    vector=Vector("date", ("event_date",)),
                ),
            ),
            {"event_date": "DATE"},
        ),
        RosterSpec(
            "hukou_out",
            "户籍迁出",
            "公安",
            (
                Column(
                    "迁出日期",
                    _one("event_date", parse_date),
                    vector=Vector("date", ("event_date",)),
                ),
                Column(
                    "迁入地区划代码",
                    _division("destination"),
                    vector=Vector("division", ("destination_code", "destination_county")),
                ),
            ),
            {"event_date": "DATE", "destination_code": "VARCHAR", "destination_county": "VARCHAR"},
        ),
        RosterSpec(
            "cert_base",
            "残疾人基础库",
            "残联",
            (
                Column(
                    "残疾人证号",
                    _certificate,
                    repetitive=False,
                    vector=Vector(
                        "certificate",
                        ("cert_stem", "cert_value", "cert_id", "cert_category", "cert_grade"),
                    ),
                ),
                Column(
                    "残疾类别",
                    _one("category", parse_category),
                    vector=Vector("category", ("category",)),
                ),
                Column("残疾等级", _one("grade", parse_grade), vector=Vector("grade", ("grade",))),
                _choice_column("证件状态", "status", "CERT_STATUS", "证件状态", CERT_STATUSES),
                Column(
                    "有效期至",
                    _expiry,
                    required=False,
                    blank={"expiry": None, "expiry_long_term": False},
                    vector=Vector("expiry", ("expiry", "expiry_long_term")),
                ),
                Column(
                    "户籍区划代码",
                    _division("division"),
                    vector=Vector("division", ("division_code", "division_county")),
                ),
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
                Column(
                    "保障类别",
                    _one("benefit_type", _assistance_type),
                    vector=Vector("family", ("benefit_type",), ASSISTANCE_TYPES),
                ),
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
                _choice_column("保障类型", "benefit_type", "ORPHAN_TYPE", "保障类型", ORPHAN_TYPES),
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


def parse_roster_by_row(kind: str, table: Table) -> ParsedRoster:
    """The reference parser: every row through :func:`iter_roster`, one cell at a time.

    :func:`parse_roster` gives the same result set-wise; this one is what it is tested
    against, and what it falls back to row by row.
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


def parse_roster(kind: str, table: Table) -> ParsedRoster:
    """Parse a whole roster into memory: right for previews, tests and county-size files.

    Set-wise (:func:`parse_set`), with the result of :func:`parse_roster_by_row`.  For
    province-size rosters use the engine's spooling, which never builds the dicts.
    """
    spec = _spec(kind)
    keys = ["row", "id_number", "name", *(f for c in spec.columns for f in _column_fields(c))]
    headers = spec.evidence_headers
    width = len(keys)
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    with parse_set(kind, table) as parsed:
        judged = iter(parsed.fallback)
        pending = next(judged, None)
        cursor = parsed.con.execute(f'SELECT * FROM {ACCEPTED} ORDER BY "row"')
        while batch := cursor.fetchmany(10_000):
            for values in batch:
                while pending is not None and pending[0] < values[0]:
                    _collect(pending[1], rows, errors)
                    pending = next(judged, None)
                out = dict(zip(keys, values[:width], strict=True))
                out["raw"] = dict(zip(headers, values[width:], strict=True))
                rows.append(out)
        while pending is not None:
            _collect(pending[1], rows, errors)
            pending = next(judged, None)
    return ParsedRoster(
        kind=kind, rows=rows, errors=errors, unknown_headers=list(table.unknown_headers)
    )


def _collect(
    item: dict[str, Any] | list[RowError], rows: list[dict[str, Any]], errors: list[RowError]
) -> None:
    if isinstance(item, dict):
        rows.append(item)
    else:
        errors.extend(item)


# --------------------------------------------------------------------------------------------
# Set-wise parsing
#
# A province roster is a million rows of which a handful are wrong, so the cells are read as
# text into DuckDB and judged there, column by column, in SQL.  The SQL is an *acceptor*: it
# takes a row only when every cell has exactly the form the cell parsers of ``core.cells`` /
# ``core.numbers`` surely accept (ASCII or full-width digits, the listed words, the listed
# date forms, a valid ID with its check character) and then yields the very values they
# yield.  Every other row — a bad check character, a 2023-02-29, a character the SQL does not
# know, a cell that is not text — goes through :func:`iter_roster`, the per-row reference,
# which gives its fields or its errors (row, column, Chinese reason) exactly as before.  The
# SQL's word lists, weights, check characters, reissue suffix and division lengths are read
# from those modules, never spelt again; the one exception is the date forms' regular
# expression (``_DATE_SHAPE``: RE2 has no back-references, so ``core.cells``' patterns cannot be
# reused as they are).  ``tests/review/test_rosters.py`` runs both paths over generated
# rosters of every kind with hostile cells (every date form of ``docs/numbers.md`` among
# them) and asserts equal output.

#: The relation of accepted rows :func:`parse_set` leaves: ``row``, ``id_number``, ``name``,
#: the kind's fields in :func:`_column_fields` order, then ``ev0``, ``ev1``, … (the evidence
#: texts of :attr:`RosterSpec.evidence_headers`).
ACCEPTED = "accepted"
#: The same rows as a spool file holds them: without :func:`derived_fields`, and with the
#: evidence columns of :func:`evidence_fields` NULL where they equal their field.
STORED = "stored"

#: What ``str.strip()`` / ``str.split()`` remove.
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_FULLWIDTH = "".join(chr(0xFF10 + i) for i in range(10)) + "ｘＸｂＢＩＶ．／－"
#: A year ``datetime.date`` takes: four ASCII digits other than 0000.
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
#: The date forms of ``core.cells`` (``_DATE_CN``, ``_DATE_SEP``, ``_DATE_COMPACT``) in
#: ASCII digits.  RE2 has no back-references, so ``_DATE_SEP``'s one separator is spelt out
#: for each of its three characters; and there is no capturing group, so RE2 answers from
#: its DFA (a fifth of the time of the nine-group extraction this replaced, docs/
#: benchmarks.md, "Roster parsing, 2026-12-07"); ``date_of`` then reads the numbers.
_DATE_SHAPE = (
    f"{_YEAR}(?:-[0-9]{{1,2}}-[0-9]{{1,2}}|/[0-9]{{1,2}}/[0-9]{{1,2}}"
    "|\\.[0-9]{1,2}\\.[0-9]{1,2}|年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4})"
)


def _sql(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _class(chars: str) -> str:
    """A regular-expression character class of ``chars``."""
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in sorted(set(chars)))
    return f"[{escaped}]"


def _macros(today: date) -> list[str]:
    """The SQL helpers, with the reference tables of ``core`` written in as literals.

    Each text helper first asks a regular expression whether the cell holds any character
    it would change, since most cells hold none and ``translate``/``trim`` over long sets
    cost ten times the test.
    """
    # compact(s): what normalize_id / the date and division parsers leave of a cell — the
    # full-width forms above in ASCII (x and b upper-cased, as normalize_id does), whitespace
    # and invisible characters gone.  Characters outside these stay and make a pattern fail.
    halfwidth = to_halfwidth(_FULLWIDTH)
    compact_from = _FULLWIDTH + "xb" + _WHITESPACE + INVISIBLE_CHARS
    compact_to = halfwidth.replace("x", "X").replace("b", "B") + "XB"
    # trimmed(s): what _text leaves (full-width forms in ASCII, invisibles gone, trimmed).
    trimmed_from = _FULLWIDTH + INVISIBLE_CHARS
    space = _class(_WHITESPACE)
    edges = _sql(f"^{space}|{space}$")
    # The check character from the 17 digits as one BIGINT n.  With q_k = n // 10^k, the
    # digit k places from the right is q_k - 10 q_(k+1), so the weighted sum of the digits is
    # the sum of q_k times the constant c_k - 10 c_(k-1) (c_k: the weight of that digit):
    # 16 divisions instead of 17 divisions and 17 remainders.  Taken modulo 11 the
    # constants are 0 to 10, and the sum stays below 1.2 * 10^18, inside a BIGINT.
    places = list(reversed(ID_WEIGHTS))
    factors = [(w - 10 * (places[k - 1] if k else 0)) % 11 for k, w in enumerate(places)]
    weights = " + ".join(
        f"n // {10**k} * {f}" if k else f"n * {f}" for k, f in enumerate(factors) if f
    )
    first, last = (int(f"{day:%Y%m%d}") for day in (MIN_BIRTH_DATE, today))
    return [
        f"CREATE MACRO compact(s) AS CASE WHEN regexp_matches(s, {_sql(_class(compact_from))}) "
        f"THEN translate(s, {_sql(compact_from)}, {_sql(compact_to)}) ELSE s END",
        f"CREATE MACRO trimmed(s) AS CASE WHEN regexp_matches(s, {_sql(_class(trimmed_from))}) "
        f"OR regexp_matches(s, {edges}) THEN trim(translate(s, {_sql(trimmed_from)}, "
        f"{_sql(halfwidth)}), {_sql(_WHITESPACE)}) ELSE s END",
        f"CREATE MACRO stripped(s) AS CASE WHEN regexp_matches(s, {edges}) "
        f"THEN trim(s, {_sql(_WHITESPACE)}) ELSE s END",
        f"CREATE MACRO unspaced(s) AS CASE WHEN regexp_matches(s, {_sql(space)}) "
        f"THEN translate(s, {_sql(_WHITESPACE)}, '') ELSE s END",
        f"CREATE MACRO blank(s) AS s IS NULL OR regexp_full_match(s, "
        f"{_sql(_class(BLANK_CHARS) + '*')})",
        # The cell as core.tabular gives it: NULL when blank.
        "CREATE MACRO unblank(s) AS CASE WHEN blank(s) THEN NULL ELSE s END",
        # A real calendar date (what datetime.date accepts for a 4-digit year).
        "CREATE MACRO real_ymd(y, m, d) AS y >= 1 AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND "
        "CASE WHEN m = 2 THEN CASE WHEN y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0) THEN 29 "
        "ELSE 28 END ELSE 30 + (m + m // 8) % 2 END",
        # The date of a text of _DATE_SHAPE, NULL when the calendar has no such day.  DuckDB's
        # own date cast reads y-m-d and y/m/d (one or two digits each: the shape allows no
        # more) and refuses 2023-02-29 as date() does; the other forms are brought to it.
        "CREATE MACRO date_of(t) AS CASE substr(t, 5, 1) "
        "WHEN '-' THEN TRY_CAST(t AS DATE) WHEN '/' THEN TRY_CAST(t AS DATE) "
        "WHEN '.' THEN TRY_CAST(replace(t, '.', '-') AS DATE) "
        "WHEN '年' THEN TRY_CAST(replace(replace(replace(t, '年', '-'), '月', '-'), '日', '') "
        "AS DATE) ELSE CASE WHEN real_ymd(t[1:4]::INTEGER, t[5:6]::INTEGER, t[7:8]::INTEGER) "
        "THEN make_date(t[1:4]::INTEGER, t[5:6]::INTEGER, t[7:8]::INTEGER) END END",
        # The first 17 digits of an ID-shaped text as a BIGINT (NULL: not that shape).
        "CREATE MACRO id_digits(v, shape) AS CASE WHEN regexp_full_match(v, shape) "
        "THEN substr(v, 1, 17)::BIGINT END",
        # An 18-character ID as parse_id accepts it, from its 17 digits n and its 18th
        # character c: a real birth date from 1900 to today, the ISO 7064 MOD 11-2 check.
        f"CREATE MACRO birth_ok(b) AS b BETWEEN {first} AND {last} "
        "AND real_ymd(b // 10000, b // 100 % 100, b % 100)",
        "CREATE MACRO id_valid(n, c) AS coalesce(birth_ok(n // 1000 % 100000000) "
        f"AND substr({_sql(ID_CHECK_CHARS)}, (({weights}) % 11) + 1, 1) = c, false)",
    ]


def _lookup(expr: str, table: Mapping[str, Any]) -> str:
    """``CASE expr WHEN key THEN value … END`` from a Python mapping (keys are text)."""
    whens = " ".join(
        f"WHEN {_sql(key)} THEN {value if isinstance(value, int) else _sql(value)}"
        for key, value in table.items()
    )
    return f"CASE {expr} {whens} END"


def _column_fields(column: Column) -> tuple[str, ...]:
    if column.vector is not None:
        return column.vector.fields
    return tuple(column.blank) or ()


def _shape(digits: Iterable[int]) -> str:
    """A character class of single digits, e.g. ``[1-7]`` for the categories."""
    return f"[{min(digits)}-{max(digits)}]"


#: What a normalised ID and certificate number must look like before their digits are judged.
_ID_SHAPE = "[0-9]{17}[0-9X]"
_CERT_SHAPE = f"{_ID_SHAPE}{_shape(CATEGORIES)}{_shape(GRADES)}(?:{REISSUE_SUFFIX.pattern})?"
_DIVISION_SHAPE = "(?:" + "|".join(f"[0-9]{{{n}}}" for n in DIVISION_LENGTHS) + ")"

#: The words a category or grade cell most often holds exactly as written, with their
#: numbers: looked up in the cell itself, before any normalisation (none of them holds a
#: character ``trimmed`` would change, ``tests/review/test_rosters.py``).
_CATEGORY_NAMES: dict[str, int] = CATEGORY_WORDS | {
    f"{word}残疾": number for word, number in CATEGORY_WORDS.items()
}
_CATEGORY_CELLS: dict[str, int] = {str(number): number for number in CATEGORIES} | _CATEGORY_NAMES
_GRADE_CELLS: dict[str, int] = {
    **GRADE_NUMERALS,
    **{f"{numeral}级": number for numeral, number in GRADE_NUMERALS.items()},
}


def _derived(vector: Vector) -> dict[str, str]:
    """The fields of a form that :data:`ACCEPTED` computes from another of its fields rather
    than ``parsed`` storing them: the parts of a certificate number, a division's county.
    Storing a field costs more than a ``substr`` of a field stored anyway."""
    fields = vector.fields
    if vector.form == "certificate":
        value = f'"{fields[1]}"'
        return {
            fields[0]: f"substr({value}, 1, 20)",
            fields[2]: f"substr({value}, 1, 18)",
            fields[3]: f"ascii(substr({value}, 19, 1)) - 48",
            fields[4]: f"ascii(substr({value}, 20, 1)) - 48",
        }
    if vector.form == "division":
        return {fields[1]: f'substr("{fields[0]}", 1, 6)'}
    return {}


#: The field of a form that holds the cell's normalised text ``t{n}`` itself: where the cell
#: is its own text (``_Sql.fast``) ``parsed`` leaves the evidence NULL and :data:`ACCEPTED`
#: reads it from that field (an evidence text is never NULL otherwise).
_TEXT_FIELD = {"certificate": 1, "division": 0, "choice": 0}


@dataclass(frozen=True)
class _Sql:
    """One column's SQL: ``layers`` of named expressions (each may use the names of the
    layers before it), then its ``fields`` and ``ok`` (the cell is accepted), which may use
    every layer's names.

    ``fast`` holds where the cell as read already is its normalised text — a date, number or
    word in its plain form, as almost every cell of a department's file is; there ``t{n}``
    is the cell and the normalising helpers, the blank test and the second shape test are
    not run (inside ``CASE``, which DuckDB evaluates only for the rows of its branch; ``AND``
    and ``OR`` in a projection evaluate every operand).  Elsewhere ``t{n}`` is the cell as
    ``compact``, ``trimmed`` or ``unspaced`` leave it, each of which removes at least the
    whitespace at its edges — so where ``t{n}`` equals the cell, the cell is its own
    evidence text."""

    layers: tuple[dict[str, str], ...]
    fields: dict[str, str]
    ok: str
    fast: str


def _column_sql(column: Column, cell: str, n: int, id_cell: str) -> _Sql | None:
    """The SQL of one column whose text, as read, is ``cell`` (the row's ID as read:
    ``id_cell``); ``None``: no form."""
    vector = column.vector
    if vector is None:
        return None
    t, q, s, v, w = f"t{n}", f"q{n}", f"s{n}", f"v{n}", f"w{n}"
    fields = vector.fields

    def text(normalise: str) -> dict[str, str]:
        return {t: f"CASE WHEN {q} THEN {cell} ELSE {normalise}(unblank({cell})) END"}

    def fits(pattern: str) -> str:
        return f"coalesce(regexp_full_match({t}, {_sql(pattern)}), false)"

    def present(accepted: str) -> str:
        """``accepted``, or for an optional column also a blank cell."""
        if column.required:
            return accepted
        return f"CASE WHEN {accepted} THEN true ELSE blank({cell}) END"

    def plain(pattern: str) -> dict[str, str]:
        return {q: f"coalesce(regexp_full_match({cell}, {_sql(pattern)}), false)"}

    if vector.form == "date":
        return _Sql(
            (
                plain(_DATE_SHAPE),
                text("compact"),
                {s: f"CASE WHEN {q} THEN true ELSE {fits(_DATE_SHAPE)} END"},
                {v: f"CASE WHEN {s} THEN date_of({t}) END"},
            ),
            {fields[0]: v},
            present(f"{v} IS NOT NULL"),
            q,
        )
    if vector.form == "expiry":
        words = ", ".join(map(_sql, sorted(LONG_TERM_WORDS)))
        return _Sql(
            (
                {
                    q: f"coalesce(regexp_full_match({cell}, {_sql(_DATE_SHAPE)}) "
                    f"OR {cell} IN ({words}), false)"
                },
                text("compact"),
                {
                    w: f"coalesce({t} IN ({words}), false)",
                    s: f"CASE WHEN {t} IN ({words}) THEN false WHEN {q} THEN true "
                    f"ELSE {fits(_DATE_SHAPE)} END",
                },
                {v: f"CASE WHEN {s} THEN date_of({t}) END"},
            ),
            {fields[0]: v, fields[1]: w},
            present(f"({w} OR {v} IS NOT NULL)"),
            q,
        )
    if vector.form == "division":
        return _Sql(
            (plain(_DIVISION_SHAPE), text("compact")),
            {fields[0]: t},
            f"CASE WHEN {q} THEN true ELSE {fits(_DIVISION_SHAPE)} END",
            q,
        )
    if vector.form in ("category", "grade"):
        if vector.form == "category":
            slow = (
                f"CASE WHEN regexp_full_match({t}, '[0-9]+') THEN TRY_CAST({t} AS INTEGER) "
                f"ELSE {_lookup(t, _CATEGORY_NAMES)} END"
            )
            cells, ok = _CATEGORY_CELLS, f"{v} BETWEEN {min(CATEGORIES)} AND {max(CATEGORIES)}"
        else:
            unsuffixed = f"stripped(CASE WHEN suffix({t}, '级') THEN {t}[:-2] ELSE {t} END)"
            slow, cells, ok = _lookup(unsuffixed, GRADE_NUMERALS), _GRADE_CELLS, f"{v} IS NOT NULL"
        return _Sql(
            (
                {w: _lookup(cell, cells)},
                {q: f"{w} IS NOT NULL"},
                text("trimmed"),
                {v: f"CASE WHEN {q} THEN {w} ELSE {slow} END"},
            ),
            {fields[0]: v},
            f"coalesce({ok}, false)",
            q,
        )
    if vector.form == "choice":
        allowed = ", ".join(map(_sql, vector.allowed))
        return _Sql(
            ({q: f"coalesce({cell} IN ({allowed}), false)"}, text("unspaced")),
            {fields[0]: t},
            f"CASE WHEN {q} THEN true ELSE coalesce({t} IN ({allowed}), false) END",
            q,
        )
    if vector.form == "family":
        aliases = {word: value for word, value in FAMILY_ALIASES.items() if value in vector.allowed}
        return _Sql(
            (
                {w: _lookup(cell, aliases)},
                {q: f"{w} IS NOT NULL"},
                text("trimmed"),
                {v: f"CASE WHEN {q} THEN {w} ELSE {_lookup(t, aliases)} END"},
            ),
            {fields[0]: v},
            f"({v} IS NOT NULL)",
            q,
        )
    if vector.form == "certificate":
        tail = f"{_shape(CATEGORIES)}{_shape(GRADES)}(?:{REISSUE_SUFFIX.pattern})?"
        return _Sql(
            (
                {},
                # The row's own ID as written, then category, grade and suffix: the tail
                # alone is matched, a shorter text than the whole number.
                {
                    q: f"coalesce(qid AND starts_with({cell}, {id_cell}) AND "
                    f"regexp_full_match(substr({cell}, 19), {_sql(tail)}), false)"
                },
                text("compact"),
                {s: f"CASE WHEN {q} THEN true ELSE {fits(_CERT_SHAPE)} END"},
            ),
            {fields[1]: t},
            # The embedded ID is most often the row's own, whose check the row's ``ok``
            # already requires (every ``ok`` is one AND): then its check is not computed again.
            f"CASE WHEN {q} THEN true WHEN NOT {s} THEN false WHEN substr({t}, 1, 18) = v_id "
            f"THEN true ELSE id_valid(substr({t}, 1, 17)::BIGINT, substr({t}, 18, 1)) END",
            q,
        )
    raise ValueError(f"unknown vector form {vector.form!r}")


def _parse_sql(
    spec: RosterSpec, cells: Mapping[str, str], source: str, carried: Mapping[str, str]
) -> str:
    """``CREATE TABLE parsed``: every row of ``source`` with its fields, ``ok`` and ``cells``.

    ``cells`` names each header's text as read (blank or not), ``carried`` further columns
    of ``parsed`` (the row number, or what the CSV check needs), which may use the layers'
    names.  ``cells`` of ``parsed`` is the list of a row's cells, blank ones NULL, for the
    rows :func:`iter_roster` must judge (NULL elsewhere): they are not kept twice for all.
    """
    id_cell, name_cell = cells[ID_HEADER], cells[NAME_HEADER]
    layers: list[dict[str, str]] = [
        {"qid": f"coalesce(regexp_full_match({id_cell}, {_sql(_ID_SHAPE)}), false)"},
        {"v_id": f"CASE WHEN qid THEN {id_cell} ELSE compact(unblank({id_cell})) END"},
        {
            "n_id": f"CASE WHEN qid THEN substr(v_id, 1, 17)::BIGINT "
            f"ELSE id_digits(v_id, {_sql(_ID_SHAPE)}) END"
        },
    ]
    fields: dict[str, str] = {}
    evidence: list[str] = []
    oks = ["NOT py", "id_valid(n_id, substr(v_id, 18, 1))"]
    for n, column in enumerate(spec.columns):
        cell = cells[column.header]
        sql = _column_sql(column, cell, n, id_cell)
        if sql is None:
            evidence.append(f"coalesce(stripped(unblank({cell})), '') AS ev{n}")
            oks.append("false")
            fields |= {f: "NULL" for f in _column_fields(column)}
            continue
        for depth, layer in enumerate(sql.layers):
            if depth == len(layers):
                layers.append({})
            layers[depth] |= layer
        fields |= sql.fields
        assert column.vector is not None
        fast = "NULL" if column.vector.form in _TEXT_FIELD else cell
        evidence.append(
            f"CASE WHEN {sql.fast} THEN {fast} ELSE coalesce(CASE WHEN t{n} = unblank({cell}) "
            f"THEN unblank({cell}) ELSE stripped(unblank({cell})) END, '') END AS ev{n}"
        )
        oks.append(sql.ok)
    if spec.period:
        start, end, _, _ = spec.period
        oks.append(f"({fields[end]} IS NULL OR {fields[end]} >= {fields[start]})")
    for layer in layers:
        named = ", ".join(f"{expr} AS {name}" for name, expr in layer.items())
        source = f"(SELECT *, {named} FROM {source})"
    field_cols = ", ".join(f'{expr} AS "{name}"' for name, expr in fields.items())
    kept = ", ".join(f"{expr} AS {name}" for name, expr in carried.items())
    judged = ", ".join(f"unblank({cells[h]})" for h in spec.headers)
    # A name with no whitespace or BOM at its edges is its own stripped text, and not blank.
    edges = _sql(f"^{_class(_WHITESPACE + BLANK_CHARS)}|{_class(_WHITESPACE + BLANK_CHARS)}$")
    name = (
        f"CASE WHEN regexp_matches({name_cell}, {edges}) "
        f"THEN nullif(stripped(unblank({name_cell})), '') ELSE nullif({name_cell}, '') END"
    )
    return (
        f"CREATE TABLE parsed AS SELECT {kept}, py, ok, v_id AS id_number, "
        f"{name} AS name, {field_cols}, "
        f"{', '.join(evidence)}, CASE WHEN ok OR py THEN NULL ELSE [{judged}] END AS cells "
        f"FROM (SELECT *, ({' AND '.join(oks)}) AS ok FROM {source})"
    )


def derived_fields(kind: str) -> dict[str, str]:
    """The fields of a kind that are computed, as SQL over its other fields, rather than
    stored in :data:`STORED` or a spool file: the parts of a certificate number, a
    division's county (``_derived``)."""
    return {
        name: sql
        for column in _spec(kind).columns
        if column.vector is not None
        for name, sql in _derived(column.vector).items()
    }


def evidence_fields(kind: str) -> dict[str, str]:
    """``ev{n}`` → the field holding the same text wherever that evidence column of
    :data:`STORED` or a spool file is NULL (``_TEXT_FIELD``)."""
    return {
        f"ev{n}": column.vector.fields[_TEXT_FIELD[column.vector.form]]
        for n, column in enumerate(_spec(kind).columns)
        if column.vector is not None and column.vector.form in _TEXT_FIELD
    }


def _views_sql(spec: RosterSpec) -> list[str]:
    """``CREATE VIEW`` of :data:`STORED` over ``judged`` (``parsed``'s rows, numbered) and of
    :data:`ACCEPTED` over it."""
    derived, texts = derived_fields(spec.kind), evidence_fields(spec.kind)
    names = _accepted_columns(spec)
    stored = ", ".join(f'"{name}"' for name in names[1:] if name not in derived)
    accepted = ", ".join(
        f'{derived[name]} AS "{name}"'
        if name in derived
        else f'coalesce({name}, "{texts[name]}") AS {name}'
        if name in texts
        else f'"{name}"'
        for name in names
    )
    return [
        f'CREATE VIEW {STORED} AS SELECT rn AS "row", {stored} FROM judged WHERE ok',
        f"CREATE VIEW {ACCEPTED} AS SELECT {accepted} FROM {STORED}",
    ]


def _accepted_columns(spec: RosterSpec) -> list[str]:
    """The columns of :data:`ACCEPTED`, in order."""
    fields = [f for column in spec.columns for f in _column_fields(column)]
    evidence = [f"ev{i}" for i in range(len(spec.evidence_headers))]
    return [*COMMON_FIELDS, *fields, *evidence]


@dataclass
class RosterSet:
    """A roster parsed set-wise: the accepted rows in DuckDB, the others judged row by row.

    ``con`` holds the relation :data:`ACCEPTED`; ``fallback`` lists, in row order, the
    (row number, result of :func:`iter_roster`) of every row the SQL did not accept.
    Together they are exactly what :func:`iter_roster` yields for the whole table.
    """

    kind: str
    con: duckdb.DuckDBPyConnection
    fallback: list[tuple[int, dict[str, Any] | list[RowError]]]

    @property
    def errors(self) -> list[RowError]:
        """Every rejected cell, in row order."""
        return [error for _, item in self.fallback if isinstance(item, list) for error in item]

    def copy_to(self, path: Path, columns: Sequence[str]) -> int:
        """Write every accepted row (SQL-accepted and fallback-accepted) as a Parquet file.

        ``columns`` names the output columns: ``row``, ``id_number``, ``name``, the kind's
        fields but :func:`derived_fields`, and ``ev0``, ``ev1``, … (any order, as the engine
        reads them), each with its type (dates as dates); as in :data:`STORED`, an evidence
        column of :func:`evidence_fields` may be NULL where it equals its field.  Returns the
        number of rows.
        """
        spec = _spec(self.kind)
        names = _accepted_columns(spec)
        extra = [item for _, item in self.fallback if isinstance(item, dict)]
        picked = ", ".join(f'"{name}"' for name in columns)
        query = f"SELECT {picked} FROM {STORED}"
        if extra:
            self.con.execute(f"CREATE TEMP TABLE accepted_rows AS FROM {ACCEPTED} LIMIT 0")
            headers = spec.evidence_headers
            self.con.executemany(
                f"INSERT INTO accepted_rows VALUES ({', '.join('?' * len(names))})",
                [
                    [*(row.get(name) for name in names[: -len(headers)]), *row["raw"].values()]
                    for row in extra
                ],
            )
            query = f'{query} UNION ALL SELECT {picked} FROM accepted_rows ORDER BY "row"'
        # The engine orders by ``row`` wherever order matters, so the file's rows need not be
        # in the table's order: unordered, DuckDB's threads write without waiting for each
        # other (a sixth less CPU for 1 000 000 certificate rows).
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(
            f"COPY ({query}) TO $path (FORMAT parquet)",
            {"path": str(path)},
        )
        row = self.con.execute(f"SELECT count(*) FROM {ACCEPTED}").fetchone()
        return (row[0] if row else 0) + len(extra)


@contextmanager
def parse_set(
    kind: str, table: Table, *, threads: int = 2, memory_limit: str = "1GB"
) -> Iterator[RosterSet]:
    """Parse ``table`` set-wise; the DuckDB connection lives as long as the context."""
    spec = _spec(kind)
    with tempfile.TemporaryDirectory(prefix="roster-") as tmpdir:
        directory = Path(tmpdir)
        con = duckdb.connect(
            ":memory:",
            config={
                "threads": threads,
                "memory_limit": memory_limit,
                "temp_directory": str(directory / "spill"),
            },
        )
        try:
            for statement in _macros(date.today()):
                con.execute(statement)
            kept = _parse_csv(con, table, spec, directory)
            if kept is None:
                kept = _parse_rows(con, table, spec, directory)
            for view in _views_sql(spec):
                con.execute(view)
            headers = spec.headers
            rejected = con.execute(
                "SELECT rn, cells FROM judged WHERE NOT ok AND NOT py ORDER BY rn"
            ).fetchall()
            rows = sorted(
                [(r[0], dict(zip(headers, r[1], strict=True))) for r in rejected] + kept,
                key=lambda row: row[0],
            )
            fallback = [
                (number, item)
                for (number, _), item in zip(rows, iter_roster(kind, rows), strict=True)
            ]
            yield RosterSet(kind=kind, con=con, fallback=fallback)
        finally:
            con.close()


def _parse_csv(
    con: duckdb.DuckDBPyConnection, table: Table, spec: RosterSpec, directory: Path
) -> list[tuple[int, dict[str, Any]]] | None:
    """Parse a plain UTF-8 CSV straight from DuckDB's reader; ``None`` when it cannot.

    Only a file whose :class:`~core.tabular.CsvLayout` is ``simple`` is handed to DuckDB's
    reader, and its result is kept only when it saw the same data rows, the same last row
    number and the same characters as the validation pass of ``read_table``; otherwise the
    rows are read through :attr:`Table.rows` (:func:`_parse_rows`).  The file is read once,
    into ``parsed`` itself: one record per line, so a row's number is its place in the
    table (``rowid``, insertion order being kept) plus the header's line.
    """
    layout = table.csv_layout
    if layout is None or not layout.simple or layout.encoding != "utf-8":
        return None
    if layout.path is not None:
        path = layout.path
    else:
        assert layout.data is not None
        path = directory / "source.csv"
        path.write_bytes(layout.data)
    columns = {f"f{i}": "VARCHAR" for i in range(layout.width)}
    # A record is kept when a cell is not blank; an ID of the plain shape is not.
    filled = " AND ".join(f"blank(f{i})" for i in range(layout.width))
    chars = " + ".join(f"coalesce(length(f{i}), 0)" for i in range(layout.width))
    source = (
        "(SELECT *, false AS py FROM read_csv($path, header = false, skip = 1, "
        "auto_detect = false, columns = $columns, delim = $delim, quote = '\"', escape = '\"', "
        "null_padding = true, strict_mode = true, encoding = 'utf-8'))"
    )
    carried = {"kept": f"CASE WHEN qid THEN true ELSE NOT ({filled}) END", "chars": chars}
    cells = {h: f"f{layout.columns[h]}" for h in spec.headers}
    try:
        con.execute(
            _parse_sql(spec, cells, source, carried),
            {"path": str(path), "columns": columns, "delim": layout.delimiter},
        )
    except duckdb.Error:
        return None
    seen = con.execute(
        "SELECT count(*), coalesce(max(rowid) + 2, 0), coalesce(sum(chars), 0) "
        "FROM parsed WHERE kept"
    ).fetchone()
    if seen != (layout.data_rows, layout.last_row, layout.chars):
        con.execute("DROP TABLE parsed")
        return None
    con.execute(
        "CREATE VIEW judged AS SELECT (rowid + 2)::INTEGER AS rn, * EXCLUDE (kept, chars) "
        "FROM parsed WHERE kept"
    )
    return []


#: Cell types other than text a column's parser reads as the text they stand for (an xlsx
#: date as its ISO date, a number as its digits), by vector form.
_NUMERIC_FORMS = frozenset({"date", "expiry", "division", "category", "grade"})
_DATE_FORMS = frozenset({"date", "expiry"})


def _as_text(form: str | None, value: Any) -> str | None:
    """The text the SQL may judge for a non-text cell, or ``None`` (judge it row by row)."""
    if form in _DATE_FORMS and isinstance(value, date):
        if isinstance(value, datetime):
            return value.date().isoformat() if value.time() == datetime.min.time() else None
        return value.isoformat()
    numeric = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if form in _NUMERIC_FORMS and numeric and not isinstance(value, bool):
        return str(int(value))
    return None


def _parse_rows(
    con: duckdb.DuckDBPyConnection, table: Table, spec: RosterSpec, directory: Path
) -> list[tuple[int, dict[str, Any]]]:
    """Table ``parsed`` from :attr:`Table.rows` (xlsx, GB18030, a CSV DuckDB may misread).

    The texts go through a CSV this function writes itself.  A row with a cell the SQL
    cannot judge as text (a time of day, a bool, a number as ID) is kept here as it is,
    flagged ``py``, and returned for :func:`iter_roster`.
    """
    forms: list[str | None] = [None, None]
    forms += [c.vector.form if c.vector else None for c in spec.columns]
    headers = spec.headers
    kept: list[tuple[int, dict[str, Any]]] = []
    path = directory / "cells.csv"
    count = chars = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        for number, cells in table.rows:
            texts: list[str | None] = []
            for header, form in zip(headers, forms, strict=True):
                value = cells.get(header)
                if value is not None and value.__class__ is not str:
                    value = _as_text(form, value)
                    if value is None:
                        break
                elif value is not None and ("\n" in value or "\r" in value or "\x00" in value):
                    break
                texts.append(value)
            else:
                writer.writerow([number, False, *texts])
                count += 1
                chars += sum(len(t) for t in texts if t)
                continue
            kept.append((number, cells))
            writer.writerow([number, True, *([None] * len(headers))])
            count += 1
    columns = {"rn": "INTEGER", "py": "BOOLEAN"} | {f"c{i}": "VARCHAR" for i in range(len(headers))}
    total = " + ".join(f"coalesce(length(c{i}), 0)" for i in range(len(headers)))
    source = (
        "read_csv($path, header = false, auto_detect = false, columns = $columns, delim = ',', "
        "quote = '\"', escape = '\"', strict_mode = true, encoding = 'utf-8')"
    )
    con.execute(
        _parse_sql(
            spec, {h: f"c{i}" for i, h in enumerate(headers)}, source, {"rn": "rn", "chars": total}
        ),
        {"path": str(path), "columns": columns},
    )
    seen = con.execute("SELECT count(*), coalesce(sum(chars), 0) FROM parsed").fetchone()
    if seen != (count, chars):
        raise RuntimeError(f"roster cells read back differently: {seen} != {(count, chars)}")
    con.execute("CREATE VIEW judged AS SELECT * EXCLUDE (chars) FROM parsed")
    return kept
