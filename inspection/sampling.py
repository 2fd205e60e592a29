"""Spot-check sampling (抽查抽样): how many cases to draw, and which ones — pure code, no Django.

An auditor must be able to re-derive a stored sample by hand (docs/inspection.md):

* the **population** (总体) is frozen as the sorted list of case keys; its SHA-256
  (`population_hash`) is stored with the spot check;
* a **case key** is ``"<ID number>:<county code>"`` (`case_key`), never a database id, so the
  same records give the same keys on any machine and either search backend;
* in each **stratum** (层, a township with ``--stratify township``, else the whole population)
  the cases with the smallest ``SHA-256("<seed>:<case key>")`` are taken (`rank`);
* strata get their share in proportion to their size by the largest-remainder method, each
  non-empty stratum at least one and none more than it has (`allocate`).

The sample size comes from one of four plans (`SamplePlan`), each of which says in Chinese
which rule produced the number (`PlanResult.explanation`).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

FIXED, PERCENT, ATTRIBUTE, GBT2828 = "fixed", "percent", "attribute", "gbt2828"
PLAN_LABELS: dict[str, str] = {
    FIXED: "固定数量",
    PERCENT: "按比例",
    ATTRIBUTE: "属性抽样（零缺陷）",
    GBT2828: "GB/T 2828.1 一般检验水平Ⅱ",
}


class PlanError(ValueError):
    """A plan that cannot be applied (message in Chinese)."""


# --- GB/T 2828.1—2012 (≡ ISO 2859-1:1999) ---------------------------------------------------
#: Table 1 "样本量字码", general inspection level II: (largest lot size, code letter).
GBT2828_LEVEL_II: tuple[tuple[int, str], ...] = (
    (8, "A"),
    (15, "B"),
    (25, "C"),
    (50, "D"),
    (90, "E"),
    (150, "F"),
    (280, "G"),
    (500, "H"),
    (1200, "J"),
    (3200, "K"),
    (10000, "L"),
    (35000, "M"),
    (150000, "N"),
    (500000, "P"),
)
GBT2828_LAST_LETTER = "Q"  # 500 001 and over
#: Table 2-A "正常检验一次抽样方案（主表）": code letter → sample size.
GBT2828_SAMPLE_SIZES: dict[str, int] = {
    "A": 2,
    "B": 3,
    "C": 5,
    "D": 8,
    "E": 13,
    "F": 20,
    "G": 32,
    "H": 50,
    "J": 80,
    "K": 125,
    "L": 200,
    "M": 315,
    "N": 500,
    "P": 800,
    "Q": 1250,
}


def gbt2828_code_letter(lot_size: int) -> tuple[str, int, int | None]:
    """The code letter of general inspection level II for a lot size, with the lot-size
    range (low, high; high None for the open last row) it falls in."""
    if lot_size < 2:
        raise PlanError("GB/T 2828.1 的批量至少为 2。")
    low = 2
    for high, letter in GBT2828_LEVEL_II:
        if lot_size <= high:
            return letter, low, high
        low = high + 1
    return GBT2828_LAST_LETTER, low, None


@dataclass(frozen=True)
class SamplePlan:
    """How many to draw: ``kind`` one of FIXED (``size``), PERCENT (``percent``), ATTRIBUTE
    (``confidence`` and ``error_rate`` as fractions, e.g. 0.95 and 0.05), GBT2828."""

    kind: str
    size: int | None = None
    percent: float | None = None
    confidence: float | None = None
    error_rate: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping) -> SamplePlan:
        return cls(
            **{
                k: data[k]
                for k in ("kind", "size", "percent", "confidence", "error_rate")
                if k in data
            }
        )


@dataclass(frozen=True)
class PlanResult:
    size: int  # never more than the population
    explanation: str  # the rule used, in Chinese


def _pct(value: float) -> str:
    text = f"{float(Fraction(str(value)) * 100):.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def attribute_sample_size(confidence: float, error_rate: float) -> int:
    """Zero-acceptance attribute sampling: the smallest n with (1 − rate)^n ≤ 1 − confidence,
    i.e. n = ⌈ln(1 − confidence) / ln(1 − rate)⌉ (95 %/5 % → 59)."""
    if not 0 < confidence < 1:
        raise PlanError("置信度应在 0 与 100% 之间（不含）。")
    if not 0 < error_rate < 1:
        raise PlanError("可容忍误差率应在 0 与 100% 之间（不含）。")
    exact = math.log(1 - confidence) / math.log(1 - error_rate)
    return max(1, math.ceil(exact - 1e-9))  # 1e-9: an exact integer must not round up


def sample_size(plan: SamplePlan, population: int) -> PlanResult:
    """The sample size a plan gives for a population, capped at the population, with the
    rule in Chinese. Raises PlanError for an unusable plan or an empty population."""
    if population <= 0:
        raise PlanError("总体为空：没有符合条件的档案可供抽查。")
    cap = ""
    if plan.kind == FIXED:
        if plan.size is None or plan.size < 1:
            raise PlanError("抽取数量应为正整数。")
        wanted = plan.size
        rule = f"固定数量：抽取 {wanted} 份"
    elif plan.kind == PERCENT:
        if plan.percent is None or not 0 < plan.percent <= 100:
            raise PlanError("抽取比例应大于 0 且不超过 100%。")
        exact = Fraction(str(plan.percent)) * population / 100
        wanted = max(1, math.ceil(exact))
        rule = (
            f"按比例：{population} × {_pct(plan.percent / 100)} = {float(exact):g}，"
            f"向上取整且至少 1 份，为 {wanted} 份"
        )
    elif plan.kind == ATTRIBUTE:
        if plan.confidence is None or plan.error_rate is None:
            raise PlanError("属性抽样须给出置信度和可容忍误差率。")
        wanted = attribute_sample_size(plan.confidence, plan.error_rate)
        exact = math.log(1 - plan.confidence) / math.log(1 - plan.error_rate)
        rule = (
            f"属性抽样（允许差错数为 0）：置信度 {_pct(plan.confidence)}、可容忍误差率 "
            f"{_pct(plan.error_rate)}，n = ⌈ln(1−{plan.confidence:g}) ÷ ln(1−{plan.error_rate:g})⌉"
            f" = ⌈{exact:.2f}⌉ = {wanted} 份"
        )
    elif plan.kind == GBT2828:
        if population < 2:
            wanted = 1
            rule = "GB/T 2828.1—2012 一般检验水平Ⅱ：批量为 1，全数检查 1 份"
        else:
            letter, low, high = gbt2828_code_letter(population)
            wanted = GBT2828_SAMPLE_SIZES[letter]
            span = f"{low}～{high}" if high is not None else f"{low} 及以上"
            rule = (
                f"GB/T 2828.1—2012 一般检验水平Ⅱ、正常检验一次抽样：批量 {population}"
                f"（{span}）→ 样本量字码 {letter} → 样本量 {wanted} 份"
            )
    else:
        raise PlanError("未知的抽样方案。")
    size = min(wanted, population)
    if size < wanted:
        cap = f"；总体仅 {population} 份，全部抽取"
    return PlanResult(size, f"{rule}{cap}。")


# --- The draw --------------------------------------------------------------------------------


def case_key(id_number: str, county_code: str) -> str:
    """The stable key of a case file: the person's ID number and the county of the file."""
    return f"{id_number}:{county_code}"


def new_seed() -> str:
    """A fresh random seed (64 bits of `secrets`, as 16 hex characters)."""
    return secrets.token_hex(8)


def population_hash(keys: Iterable[str]) -> str:
    """SHA-256 (hex) of the sorted case keys joined by newlines (UTF-8): the frozen population."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def rank(seed: str, key: str) -> str:
    """The draw order of a case: SHA-256 (hex) of ``"<seed>:<case key>"``; smallest first."""
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def allocate(strata: Mapping[str, int], total: int) -> dict[str, int]:
    """Splits a sample of ``total`` over strata of the given sizes in proportion to their
    size (largest remainder), each non-empty stratum at least one, none more than its size.

    With fewer draws than non-empty strata every stratum still gets one (the sample grows to
    the number of strata). Ties are broken by stratum key, so the result is deterministic."""
    sizes = {k: n for k, n in strata.items() if n > 0}
    population = sum(sizes.values())
    if not sizes:
        return {}
    total = min(total, population)
    quota = {k: Fraction(total * n, population) for k, n in sizes.items()}
    alloc = {k: min(n, max(1, math.floor(quota[k]))) for k, n in sizes.items()}
    # Too few: add to the largest remainders (then the larger stratum, then the key).
    while sum(alloc.values()) < total:
        open_ = [k for k in sizes if alloc[k] < sizes[k]]
        best = min(open_, key=lambda k: (-(quota[k] - alloc[k]), -sizes[k], k))
        alloc[best] += 1
    # Too many (the minimum of one pushed it over): take from the most over-allocated.
    while sum(alloc.values()) > total:
        over = [k for k in sizes if alloc[k] > 1]
        if not over:
            break
        worst = min(over, key=lambda k: (-(alloc[k] - quota[k]), sizes[k], k))
        alloc[worst] -= 1
    return alloc


@dataclass(frozen=True)
class Drawn:
    key: str
    stratum: str
    rank: str


@dataclass(frozen=True)
class Draw:
    seed: str
    population: int
    population_hash: str
    allocation: dict[str, int]
    items: tuple[Drawn, ...]  # by stratum, then rank


def draw(
    population: Sequence[tuple[str, str]], size: int, seed: str, *, stratify: bool = False
) -> Draw:
    """Draws ``size`` cases from ``population`` ((case key, stratum) pairs; the stratum is
    ignored unless ``stratify``). The input order does not matter."""
    if not seed:
        raise PlanError("种子不能为空。")
    members = sorted(set(population))
    keys = [k for k, _ in members]
    if len(keys) != len(set(keys)):
        raise PlanError("同一档案出现在多个层中。")
    groups: dict[str, list[str]] = {}
    for key, stratum in members:
        groups.setdefault(stratum if stratify else "", []).append(key)
    allocation = allocate({s: len(g) for s, g in groups.items()}, size)
    items: list[Drawn] = []
    for stratum in sorted(groups):
        ranked = sorted((rank(seed, key), key) for key in groups[stratum])
        items.extend(Drawn(key, stratum, r) for r, key in ranked[: allocation.get(stratum, 0)])
    return Draw(seed, len(keys), population_hash(keys), allocation, tuple(items))
