"""Eligibility for the two subsidies (残疾人两项补贴) and the policy-connection (政策衔接) rules.

Provinces differ and rules change on a date, so the rules are DATA: a :class:`RuleSet` with
an effective date and its legal basis, which an administrator can edit and the database keeps
with history (:meth:`RuleSet.to_dict` / :meth:`RuleSet.from_dict` give a JSON-safe form).
The functions here take the rule set as an argument and hold no policy themselves; the
defaults of :class:`RuleSet` are Shanxi's from 2023-01-01 (``spec/rules.md``).

Subsidies: ``living`` (困难残疾人生活补贴) and ``nursing`` (重度残疾人护理补贴).

Reason codes in a :class:`Decision` (blocking unless marked *warning*):

``NO_HUKOU``        household registration unknown
``HUKOU_OUTSIDE``   household registration outside the division asked about
``NO_CERTIFICATE``  no disability certificate
``CERT_CANCELLED``  certificate cancelled (注销)
``CERT_FROZEN``     certificate frozen (冻结) — *warning*, to be verified
``CERT_EXPIRED``    expiry date before the reference date
``CERT_EXPIRING``   expires within ``expiring_days`` — *warning*
``GRADE``           (category, grade) does not qualify for nursing
``FAMILY_TYPE``     family type does not qualify for living
``EXCLUDED``        an excluded benefit is received (``Reason.benefit`` says which)
``SUSPENDED``       a suspending situation, e.g. serving a sentence (``Reason.benefit``)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from core.cells import FAMILY_TYPES, Expiry
from core.codes import SUBSIDY_NAMES
from core.divisions import division_contains
from core.months import add_months
from core.numbers import CATEGORIES, GRADES

__all__ = [
    "ALLOWED",
    "BENEFITS",
    "CERT_STATUSES",
    "EXCLUDED",
    "SHANXI_2023",
    "SUBSIDIES",
    "SUSPENDED",
    "Decision",
    "Facts",
    "Reason",
    "RuleSet",
    "decide",
    "is_expired",
    "is_expiring",
    "monthly_amount",
    "qualifies_for_nursing",
    "stop_month",
]

SUBSIDIES: dict[str, str] = SUBSIDY_NAMES

#: Other benefits relevant to policy connection; keys match the comparison roster kinds.
BENEFITS: dict[str, str] = {
    "assistance_tekun": "特困人员救助供养",
    "work_injury_care": "工伤保险生活护理费",
    "orphan": "孤儿、事实无人抚养儿童基本生活保障",
    "prison": "在监服刑",
}

EXCLUDED = "excluded"
ALLOWED = "allowed"
SUSPENDED = "suspended"
_CONNECTION_STATUSES = frozenset({EXCLUDED, ALLOWED, SUSPENDED})

CERT_STATUSES: tuple[str, ...] = ("正常", "冻结", "注销")

_CENT = Decimal("0.01")
_LIVING_AMOUNT = Decimal("122.00")
_NURSING_AMOUNT_SEVERE = Decimal("122.00")
_NURSING_AMOUNT_GRADE_3_4 = Decimal("61.00")
_GRADE_3_4_PAIRS = frozenset({(5, 3), (5, 4), (6, 3), (6, 4)})
_SEVERE_PAIRS = frozenset((category, grade) for category in CATEGORIES for grade in (1, 2))


def _default_living_family_types() -> frozenset[str]:
    return frozenset({"低保", "低保边缘"})


def _default_nursing_pairs() -> frozenset[tuple[int, int]]:
    return _SEVERE_PAIRS | _GRADE_3_4_PAIRS


def _default_exclusions() -> Mapping[str, Mapping[str, str]]:
    return {
        "assistance_tekun": {"living": EXCLUDED, "nursing": EXCLUDED},
        "work_injury_care": {"living": EXCLUDED, "nursing": EXCLUDED},
        "orphan": {"living": EXCLUDED, "nursing": ALLOWED},
        "prison": {"living": SUSPENDED, "nursing": SUSPENDED},
    }


def _default_nursing_amounts() -> Mapping[tuple[int, int], Decimal]:
    amounts = dict.fromkeys(sorted(_SEVERE_PAIRS), _NURSING_AMOUNT_SEVERE)
    amounts.update(dict.fromkeys(sorted(_GRADE_3_4_PAIRS), _NURSING_AMOUNT_GRADE_3_4))
    return amounts


def _to_amount(value: object, what: str) -> Decimal:
    """Coerce an amount to a non-negative 2-place Decimal; floats are refused (inexact)."""
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise ValueError(f"{what}: amount must be a Decimal, int or string, not {value!r}")
    try:
        amount = Decimal(value)
        rounded = amount.quantize(_CENT)
    except InvalidOperation:
        raise ValueError(f"{what}: invalid amount {value!r}") from None
    if amount < 0 or rounded != amount:
        raise ValueError(f"{what}: amount must be non-negative with at most 2 decimals")
    return rounded


def _check_pair(pair: object, what: str) -> tuple[int, int]:
    if (
        not isinstance(pair, tuple | list)
        or len(pair) != 2
        or pair[0] not in CATEGORIES
        or pair[1] not in GRADES
        or isinstance(pair[0], bool)
        or isinstance(pair[1], bool)
    ):
        raise ValueError(f"{what}: {pair!r} is not a (category 1–7, grade 1–4) pair")
    return (int(pair[0]), int(pair[1]))


@dataclass(frozen=True)
class RuleSet:
    """One version of the configurable rules, in force from ``effective_from``.

    Defaults are Shanxi's (晋民发〔2023〕1号): living for 低保 and 低保边缘 families; nursing for
    grades 1–2 of every category plus grades 3–4 of intellectual and mental disability;
    policy connection per 民发〔2016〕99号. Mappings are frozen on construction so a shared
    rule set cannot be altered behind the back of a running comparison.
    """

    name: str
    effective_from: date
    legal_basis: str
    living_family_types: frozenset[str] = field(default_factory=_default_living_family_types)
    nursing_pairs: frozenset[tuple[int, int]] = field(default_factory=_default_nursing_pairs)
    exclusions: Mapping[str, Mapping[str, str]] = field(default_factory=_default_exclusions)
    living_amount: Decimal = _LIVING_AMOUNT
    nursing_amounts: Mapping[tuple[int, int], Decimal] = field(
        default_factory=_default_nursing_amounts
    )
    expiring_days: int = 90
    stop_from_next_month: bool = True
    #: The document a letter to citizens (政策告知书) cites by its full title and number; the
    #: notice falls back to ``legal_basis`` when a stored version has none.
    notice_citation: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("RuleSet.name must not be empty")
        if not isinstance(self.effective_from, date) or isinstance(self.effective_from, datetime):
            raise ValueError("RuleSet.effective_from must be a date")
        family_types = frozenset(self.living_family_types)
        unknown = family_types - set(FAMILY_TYPES)
        if unknown:
            raise ValueError(f"living_family_types: unknown family types {sorted(unknown)}")
        pairs = frozenset(_check_pair(pair, "nursing_pairs") for pair in self.nursing_pairs)
        exclusions: dict[str, Mapping[str, str]] = {}
        for benefit, statuses in self.exclusions.items():
            if set(statuses) != set(SUBSIDIES):
                raise ValueError(f"exclusions[{benefit!r}] must give living and nursing")
            bad = {status for status in statuses.values() if status not in _CONNECTION_STATUSES}
            if bad:
                raise ValueError(f"exclusions[{benefit!r}]: unknown status {sorted(bad)}")
            exclusions[str(benefit)] = MappingProxyType(dict(statuses))
        amounts = {
            _check_pair(pair, "nursing_amounts"): _to_amount(amount, f"nursing_amounts[{pair}]")
            for pair, amount in self.nursing_amounts.items()
        }
        if set(amounts) != pairs:
            # An amount without a qualifying pair, or a pair without an amount, is an editing
            # mistake; refusing it beats paying nothing (or something) by accident.
            raise ValueError("nursing_amounts must give exactly one amount per nursing pair")
        if isinstance(self.expiring_days, bool) or not isinstance(self.expiring_days, int):
            raise ValueError("expiring_days must be an int")
        if self.expiring_days < 0:
            raise ValueError("expiring_days must not be negative")
        object.__setattr__(self, "living_family_types", family_types)
        object.__setattr__(self, "nursing_pairs", pairs)
        object.__setattr__(self, "exclusions", MappingProxyType(exclusions))
        object.__setattr__(self, "living_amount", _to_amount(self.living_amount, "living_amount"))
        object.__setattr__(self, "nursing_amounts", MappingProxyType(amounts))

    def __hash__(self) -> int:
        # Mappings are unhashable; name and date identify a version (consistent with __eq__).
        return hash((self.name, self.effective_from))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (strings, ints, bools, lists) for a database JSONField."""
        return {
            "name": self.name,
            "effective_from": self.effective_from.isoformat(),
            "legal_basis": self.legal_basis,
            "notice_citation": self.notice_citation,
            "living_family_types": [t for t in FAMILY_TYPES if t in self.living_family_types],
            "nursing_pairs": [list(pair) for pair in sorted(self.nursing_pairs)],
            "exclusions": {
                benefit: {subsidy: statuses[subsidy] for subsidy in SUBSIDIES}
                for benefit, statuses in self.exclusions.items()
            },
            "living_amount": str(self.living_amount),
            "nursing_amounts": [
                {"category": category, "grade": grade, "amount": str(amount)}
                for (category, grade), amount in sorted(self.nursing_amounts.items())
            ],
            "expiring_days": self.expiring_days,
            "stop_from_next_month": self.stop_from_next_month,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """Inverse of :meth:`to_dict`; missing optional keys take the defaults.

        Unknown keys are refused, so that a misspelt setting in an edited rule set is an
        error rather than silently ignored.
        """
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rule-set keys: {sorted(unknown)}")
        kwargs: dict[str, Any] = {
            "name": data["name"],
            "effective_from": date.fromisoformat(data["effective_from"]),
            "legal_basis": data["legal_basis"],
        }
        if "living_family_types" in data:
            kwargs["living_family_types"] = frozenset(data["living_family_types"])
        if "nursing_pairs" in data:
            kwargs["nursing_pairs"] = frozenset(
                _check_pair(tuple(pair), "nursing_pairs") for pair in data["nursing_pairs"]
            )
        if "exclusions" in data:
            kwargs["exclusions"] = data["exclusions"]
        if "living_amount" in data:
            kwargs["living_amount"] = data["living_amount"]
        if "nursing_amounts" in data:
            amounts: dict[tuple[int, int], Any] = {}
            for item in data["nursing_amounts"]:
                pair = _check_pair((item["category"], item["grade"]), "nursing_amounts")
                if pair in amounts:
                    raise ValueError(f"nursing_amounts: {pair} given twice")
                amounts[pair] = item["amount"]
            kwargs["nursing_amounts"] = amounts
        for key in ("expiring_days", "stop_from_next_month", "notice_citation"):
            if key in data:
                kwargs[key] = data[key]
        return cls(**kwargs)


SHANXI_2023 = RuleSet(
    name="山西省残疾人两项补贴规则（2023年1月1日起）",
    effective_from=date(2023, 1, 1),
    legal_basis=(
        "晋民发〔2023〕1号《关于贯彻落实民政部 财政部 中国残联〈关于加强残疾人两项补贴精准管理的意见〉"
        "的通知》（落实民发〔2022〕79号）及晋民发〔2022〕53号：自2023年1月1日起，困难残疾人生活补贴"
        "范围扩大到低保边缘家庭的残疾人，重度残疾人护理补贴范围扩大到三、四级智力、精神残疾人；"
        "政策衔接按国发〔2015〕52号、民发〔2016〕99号。补贴标准：生活补贴122元/月，护理补贴122元/月，"
        "三、四级智力、精神残疾人护理补贴61元/月。"
    ),
    notice_citation=(
        "山西省民政厅、山西省财政厅、山西省残疾人联合会《关于贯彻落实民政部 财政部 中国残联"
        "〈关于加强残疾人两项补贴精准管理的意见〉的通知》（晋民发〔2023〕1号）"
    ),
)


@dataclass(frozen=True)
class Facts:
    """What eligibility needs to know about a person on one date.

    ``category``/``grade`` are ``None`` when the person holds no certificate. ``cert_status``
    is ``None`` when no certificate-base record was consulted. ``other_benefits`` holds the
    keys of :data:`BENEFITS` (``RuleSet.exclusions``) active on the date.
    """

    county_code: str | None = None
    category: int | None = None
    grade: int | None = None
    cert_status: str | None = None
    cert_expiry: Expiry = None
    family_type: str | None = None
    other_benefits: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if (self.category is None) != (self.grade is None):
            raise ValueError("Facts: category and grade must both be given or both be None")
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"Facts: category {self.category!r} is not 1–7")
        if self.grade is not None and self.grade not in GRADES:
            raise ValueError(f"Facts: grade {self.grade!r} is not 1–4")
        if self.cert_status is not None and self.cert_status not in CERT_STATUSES:
            raise ValueError(
                f"Facts: cert_status {self.cert_status!r} is not one of {CERT_STATUSES}"
            )
        if self.family_type is not None and self.family_type not in FAMILY_TYPES:
            raise ValueError(
                f"Facts: family_type {self.family_type!r} is not one of {FAMILY_TYPES}"
            )
        object.__setattr__(self, "other_benefits", frozenset(self.other_benefits))

    @property
    def has_certificate(self) -> bool:
        """True when a certificate (category and grade) is known."""
        return self.category is not None


@dataclass(frozen=True)
class Reason:
    """Why a subsidy is refused (``blocking``) or needs attention (a warning)."""

    code: str
    message: str
    blocking: bool = True
    benefit: str | None = None  # for EXCLUDED / SUSPENDED: the BENEFITS key concerned


@dataclass(frozen=True)
class Decision:
    """The answer for one subsidy: eligible unless a blocking reason exists.

    ``amount`` is the monthly standard when eligible, else ``None``.
    """

    subsidy: str
    eligible: bool
    reasons: tuple[Reason, ...]
    amount: Decimal | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        """Reason codes in order, for tests and JSON."""
        return tuple(reason.code for reason in self.reasons)

    @property
    def warnings(self) -> tuple[Reason, ...]:
        """Non-blocking reasons (frozen or soon-expiring certificate)."""
        return tuple(reason for reason in self.reasons if not reason.blocking)


def _check_subsidy(subsidy: str) -> None:
    if subsidy not in SUBSIDIES:
        raise ValueError(f"unknown subsidy {subsidy!r}; expected one of {tuple(SUBSIDIES)}")


def is_expired(expiry: Expiry, on: date) -> bool:
    """A certificate is expired when its expiry date is before ``on``; 长期 and unknown never are."""
    return isinstance(expiry, date) and expiry < on


def is_expiring(expiry: Expiry, on: date, rules: RuleSet) -> bool:
    """``on ≤ expiry ≤ on + rules.expiring_days``: time to remind the holder to renew."""
    return isinstance(expiry, date) and on <= expiry <= on + timedelta(days=rules.expiring_days)


def qualifies_for_nursing(category: int, grade: int, rules: RuleSet) -> bool:
    """True when the (category, grade) pair is in the rule set's nursing pairs."""
    return (category, grade) in rules.nursing_pairs


def monthly_amount(subsidy: str, category: int, grade: int, rules: RuleSet) -> Decimal | None:
    """The monthly standard (元/月) for a certificate, or ``None`` when it does not qualify.

    The living subsidy has one standard for every category and grade; the nursing subsidy's
    standard depends on the (category, grade) pair.
    """
    _check_subsidy(subsidy)
    if subsidy == "living":
        return rules.living_amount if category in CATEGORIES and grade in GRADES else None
    return rules.nursing_amounts.get((category, grade))


def stop_month(event: date, rules: RuleSet) -> date:
    """First month no longer paid after a confirmed stop event (configurable: next month)."""
    return add_months(event, 1 if rules.stop_from_next_month else 0)


def _certificate_reasons(facts: Facts, on: date, rules: RuleSet) -> list[Reason]:
    """Reasons about the certificate itself; a cancelled one needs no further checks."""
    if not facts.has_certificate:
        return [Reason("NO_CERTIFICATE", "未持有残疾人证")]
    if facts.cert_status == "注销":
        return [Reason("CERT_CANCELLED", "残疾人证已注销")]
    reasons: list[Reason] = []
    if facts.cert_status == "冻结":
        reasons.append(Reason("CERT_FROZEN", "残疾人证已冻结，请核实", blocking=False))
    expiry = facts.cert_expiry
    if not isinstance(expiry, date):
        return reasons  # 长期 never expires; an unknown expiry is not evidence of expiry
    if is_expired(expiry, on):
        reasons.append(Reason("CERT_EXPIRED", f"残疾人证已于{expiry.isoformat()}到期"))
    elif is_expiring(expiry, on, rules):
        reasons.append(
            Reason(
                "CERT_EXPIRING",
                f"残疾人证将于{expiry.isoformat()}到期（{rules.expiring_days}天内），请提醒换证",
                blocking=False,
            )
        )
    return reasons


def decide(
    subsidy: str,
    facts: Facts,
    on: date,
    rules: RuleSet,
    *,
    division: str | None = None,
) -> Decision:
    """Decide whether ``facts`` qualify for ``subsidy`` on ``on`` under ``rules``.

    Every applicable reason is listed, not just the first, so that each department's data can
    be corrected at once. Household registration is required for both subsidies (a move out
    stops both, ``spec/rules.md``); ``division``, when given, is the division it must lie in.
    A family type of 特困 implies 特困人员救助供养 (``assistance_tekun``) for policy connection
    even when that roster was not supplied. Benefits the rule set does not mention are allowed.
    """
    _check_subsidy(subsidy)
    reasons: list[Reason] = []
    if facts.county_code is None:
        reasons.append(Reason("NO_HUKOU", "户籍区划代码未知，无法确认本地户籍"))
    elif division is not None and not division_contains(division, facts.county_code):
        reasons.append(
            Reason("HUKOU_OUTSIDE", f"户籍区划代码{facts.county_code}不在{division}辖区内")
        )
    reasons.extend(_certificate_reasons(facts, on, rules))
    category, grade = facts.category, facts.grade
    if (
        subsidy == "nursing"
        and category is not None
        and grade is not None
        and not qualifies_for_nursing(category, grade, rules)
    ):
        reasons.append(Reason("GRADE", f"{CATEGORIES[category]}{GRADES[grade]}不在护理补贴范围内"))
    if subsidy == "living" and facts.family_type not in rules.living_family_types:
        allowed = "、".join(t for t in FAMILY_TYPES if t in rules.living_family_types)
        found = f"家庭类别为{facts.family_type}" if facts.family_type else "家庭类别未知"
        reasons.append(Reason("FAMILY_TYPE", f"{found}，生活补贴限{allowed}家庭"))
    benefits = set(facts.other_benefits)
    if facts.family_type == "特困":
        benefits.add("assistance_tekun")
    for benefit, statuses in rules.exclusions.items():
        if benefit not in benefits:
            continue
        name = BENEFITS.get(benefit, benefit)
        status = statuses[subsidy]
        if status == EXCLUDED:
            reasons.append(
                Reason(
                    "EXCLUDED",
                    f"享受{name}，按政策衔接规定不得同时享受{SUBSIDIES[subsidy]}",
                    benefit=benefit,
                )
            )
        elif status == SUSPENDED:
            reasons.append(
                Reason("SUSPENDED", f"{name}期间暂停发放{SUBSIDIES[subsidy]}", benefit=benefit)
            )
    eligible = not any(reason.blocking for reason in reasons)
    amount = None
    if eligible and facts.category is not None and facts.grade is not None:
        amount = monthly_amount(subsidy, facts.category, facts.grade, rules)
    return Decision(subsidy=subsidy, eligible=eligible, reasons=tuple(reasons), amount=amount)
