"""What an inspector typed, understood once for both backends (pure: no Django).

A query is split into terms; every term must match (AND). A term is
- a **number** (digits, an optional ``X`` (check character of an ID, inside a certificate
  number), an optional reissue suffix ``B…``;
  full-width digits and a lower-case ``x`` normalised by `core.numbers.normalize_id`): it
  matches an ID or certificate number that equals it, ends with it (4–6 characters, the usual
  way to type one), starts with it, or — from 7 characters on (a birth date, the last 8
  characters) — contains it anywhere: "any part of a number" (docs/commands.md, ``find``);
  shorter parts in the middle would match hundreds of unrelated numbers in a county;
- a **surname**: one Chinese character, a prefix of the name (bigrams cannot find one
  character);
- else **words**: a phrase in the name, the address, the hukou township/village names or the
  OCR text of the case file's documents (Elasticsearch: a bigram phrase; the database: a
  substring; for Chinese text the two select the same documents).

Punctuation separates terms, so ``承诺，以上`` and ``承诺以上`` are the same two phrases on both
backends. A whole query that is a number once spaces are removed (``140425 19800101 001x``) is
one number term. A hit is *exact* (ranked first) when a term equals the whole name or a whole
number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from core.codes import SUBSIDY_LABELS, SUBSIDY_NAMES
from core.numbers import normalize_id, to_halfwidth

NUMBER = "number"
SURNAME = "surname"
WORDS = "words"

EXACT_SCORE = 10.0
MATCH_SCORE = 1.0
SUFFIX_LENGTHS = (4, 5, 6)
INFIX_MIN_LENGTH = 7
EXPIRING_DAYS = 90

_NUMBER = re.compile(r"[0-9]+(?:X[0-9]*)?(?:B[0-9]*)?")
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Term:
    kind: str
    text: str  # normalised: a number upper-case ASCII, words lower-case


@dataclass(frozen=True)
class Query:
    raw: str
    terms: tuple[Term, ...] = ()

    @property
    def exact_name(self) -> str:
        """The name an exact hit carries: the query as typed, trimmed."""
        return self.raw

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.terms if t.kind == NUMBER)


def _term(text: str) -> Term:
    number = normalize_id(text)
    if _NUMBER.fullmatch(number):
        return Term(NUMBER, number)
    if len(text) == 1 and _CJK.fullmatch(text):
        return Term(SURNAME, text)
    return Term(WORDS, text.lower())


def parse(raw: str) -> Query:
    """Splits a query into terms (see the module docstring)."""
    text = " ".join(to_halfwidth(raw or "").split())
    if not text:
        return Query("")
    whole = normalize_id(text)
    if _NUMBER.fullmatch(whole):
        return Query(text, (Term(NUMBER, whole),))
    return Query(text, tuple(_term(word) for word in _WORD.findall(text)))


# --- Filters and facets ------------------------------------------------------------------------

SUBSIDIES = {code: SUBSIDY_LABELS[code] for code in SUBSIDY_NAMES}
STATUSES = {"active": "正常发放", "suspended": "暂停发放", "stopped": "停止发放"}
COMPLETENESS = {"complete": "材料齐全", "incomplete": "材料不全", "below50": "完整度低于50%"}
FLAGS = {
    "open_finding": "有待核查的比对发现",
    "ocr_failed": "有识别失败的扫描件",
    "no_certificate": "无残疾人证记录",
    "data_flag": "有数据问题标记（导入时保留的矛盾）",
    "cert_expired": "残疾人证已过期",
    "cert_expiring": f"残疾人证{EXPIRING_DAYS}天内到期",
    "not_reviewed": "本年度未复核",
}
FAMILY_TYPES = {"低保": "低保", "低保边缘": "低保边缘", "特困": "特困", "一般": "一般"}


@dataclass(frozen=True)
class FilterField:
    label: str
    values: dict[str, str] | None  # allowed values and their labels; None: a division code
    digits: int = 0  # for division codes: the length required


#: field → definition. The same names on the page, in `find --filter` and `spot_check --filter`.
FILTERS: dict[str, FilterField] = {
    "county": FilterField("县（区）", None, 6),
    "township": FilterField("乡镇", None, 9),
    "subsidy": FilterField("补贴类别", SUBSIDIES),
    "status": FilterField("享受状态", STATUSES),
    "category": FilterField(
        "残疾类别",
        {
            "1": "视力残疾",
            "2": "听力残疾",
            "3": "言语残疾",
            "4": "肢体残疾",
            "5": "智力残疾",
            "6": "精神残疾",
            "7": "多重残疾",
        },
    ),
    "grade": FilterField("残疾等级", {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}),
    "family_type": FilterField("家庭类别", FAMILY_TYPES),
    "completeness": FilterField("档案完整度", COMPLETENESS),
    "flag": FilterField("提示", FLAGS),
}


class FilterError(ValueError):
    """A filter value that is not allowed (message in Chinese)."""


def validate_filters(filters: dict[str, str]) -> dict[str, str]:
    """Checks filter values; returns the filters without empty ones. Unknown fields raise
    KeyError (a usage error), bad values FilterError."""
    clean = {}
    for name, value in filters.items():
        spec = FILTERS[name]
        value = (value or "").strip()
        if not value:
            continue
        if spec.values is not None and value not in spec.values:
            raise FilterError(f"{spec.label}的取值“{value}”无效；可用：{'、'.join(spec.values)}")
        if spec.values is None and not (value.isdigit() and len(value) == spec.digits):
            raise FilterError(f"{spec.label}应为 {spec.digits} 位区划代码：{value}")
        clean[name] = value
    return clean


@dataclass(frozen=True)
class Dates:
    """The dates the date-dependent flags are computed from (given, so tests do not depend on
    today's date)."""

    today: date

    @property
    def expiring_until(self) -> date:
        return self.today + timedelta(days=EXPIRING_DAYS)


#: The orders a search page offers (the first is the default). Each sorts on values both
#: backends order alike — numbers and ASCII codes, never Chinese text, whose order would depend
#: on a collation — and ends on the ID number, so every page of every backend agrees.
SORTS: dict[str, str] = {
    "relevance": "相关度（精确匹配在前）",
    "completeness": "档案完整度从低到高",
    "county": "按县（区）",
}


def validate_sort(value: str) -> str:
    """The sort to use; "" means the default, anything unknown is a FilterError."""
    if not value:
        return next(iter(SORTS))
    if value not in SORTS:
        raise FilterError(f"排序方式“{value}”无效；可用：{'、'.join(SORTS.values())}")
    return value


@dataclass
class Request:
    """One search: the query, the division prefixes every hit must lie in (jurisdiction and
    the chosen division, AND), the filters, the order, the page and whether to count facets."""

    query: Query
    divisions: list[str]
    filters: dict[str, str]
    dates: Dates
    offset: int = 0
    limit: int = 20
    facets: bool = True
    sort: str = "relevance"


@dataclass
class Hit:
    case_file: int
    id_number: str
    name: str
    county: str
    township: str
    score: float
    highlight: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Result:
    backend: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
