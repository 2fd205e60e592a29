"""Deterministic synthetic beneficiaries for 长治市 (demo and benchmarks).

Everything is generated from a seed, so the same command gives the same people on every
machine. The people are plausible — valid check characters, real birth dates, some pre-2018
ID prefixes, the national category and grade mix — and consistent with the rules
(`core.eligibility.decide` picks who is enrolled), except for a few planted problems that
the data comparison must find. Nothing here touches the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from core.divisions import BUILT_IN, CURRENT_COUNTIES, current_county
from core.eligibility import SHANXI_2023, Facts, RuleSet, decide, monthly_amount
from core.numbers import id_check_char

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰红梅建国建华志强文斌晓东海燕丽娟凤英春花金凤玉梅淑珍秀珍桂兰德明振华永红"

#: Roughly the national mix of certificate holders by category (第二次全国残疾人抽样调查).
CATEGORY_WEIGHTS = {1: 12, 2: 20, 3: 1, 4: 30, 5: 7, 6: 8, 7: 17}
GRADE_WEIGHTS = {1: 12, 2: 20, 3: 33, 4: 35}
FAMILY_WEIGHTS = {"低保": 45, "低保边缘": 15, "特困": 5, "一般": 35}
OLD_PREFIXES = tuple(row.code for row in BUILT_IN if row.successor)

#: The demo townships (乡镇代码 = county + 100…111), named as Shanxi townships commonly are, so
#: that lists and printed outreach sheets show names as they will with an office's own data.
DEMO_TOWNSHIPS = (
    "城关镇",
    "东关街道",
    "西关街道",
    "王庄镇",
    "东王庄乡",
    "西王庄乡",
    "李村镇",
    "张店镇",
    "马坊乡",
    "杨庄乡",
    "石门乡",
    "龙泉镇",
)


def demo_township_names(county: str) -> dict[str, str]:
    """The demo townships of a county, by 9-digit code."""
    return {f"{county}{100 + i:03d}": name for i, name in enumerate(DEMO_TOWNSHIPS)}


PLANTED = (
    "EXPIRED_CERTIFICATE",
    "TWO_COUNTIES",
    "TEKUN_WITH_LIVING",
    "GRADE3_PHYSICAL_WITH_NURSING",
    "CODE_MISMATCH",
    "NOT_ENROLLED",
)


@dataclass
class DemoEnrolment:
    subsidy: str
    county: str
    amount: Decimal | None
    start_month: date


@dataclass
class DemoPerson:
    name: str
    id_number: str
    sex: str
    birth_date: date
    hukou_code: str
    county: str
    address: str
    phone: str
    cert_number: str | None
    category: int | None
    grade: int | None
    expiry: date | None
    long_term: bool
    family_type: str
    enrolments: list[DemoEnrolment] = field(default_factory=list)
    planted: str = ""


def _pick(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def make_id(rng: random.Random, prefix: str, birth: date, sex: str) -> str:
    seq = rng.randrange(0, 100) * 10 + rng.choice(
        (1, 3, 5, 7, 9) if sex == "男" else (0, 2, 4, 6, 8)
    )
    first17 = f"{prefix}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def generate(
    count: int, seed: int = 2026, today: date = date(2026, 11, 1), rules: RuleSet = SHANXI_2023
) -> list[DemoPerson]:
    """`count` people; the first len(PLANTED) of them carry one planted problem each."""
    rng = random.Random(seed)
    people: list[DemoPerson] = []
    seen: set[str] = set()
    while len(people) < count:
        person = _person(rng, today, rules)
        if person.id_number in seen:
            continue
        seen.add(person.id_number)
        if len(people) < len(PLANTED):
            _plant(person, PLANTED[len(people)], rng, today, rules)
        people.append(person)
    return people


def _person(rng: random.Random, today: date, rules: RuleSet) -> DemoPerson:
    sex = rng.choice(("男", "女"))
    birth = date(1940, 1, 1) + timedelta(
        days=rng.randrange(0, (date(2020, 12, 31) - date(1940, 1, 1)).days)
    )
    prefix = (
        rng.choice(OLD_PREFIXES)
        if birth.year < 2015 and rng.random() < 0.15
        else rng.choice(CURRENT_COUNTIES)
    )
    county = current_county(prefix)
    id_number = make_id(rng, prefix, birth, sex)
    category, grade = _pick(rng, CATEGORY_WEIGHTS), _pick(rng, GRADE_WEIGHTS)
    long_term = rng.random() < 0.2
    expiry = None if long_term else today + timedelta(days=rng.randrange(120, 3650))
    family = _pick(rng, FAMILY_WEIGHTS)
    township = rng.choice(sorted(demo_township_names(county)))
    person = DemoPerson(
        name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
        id_number=id_number,
        sex=sex,
        birth_date=birth,
        hukou_code=township,
        county=county,
        address=f"第{rng.randrange(1, 30)}组{rng.randrange(1, 200)}号",
        phone=f"13{rng.randrange(0, 10**9):09d}",
        cert_number=f"{id_number}{category}{grade}",
        category=category,
        grade=grade,
        expiry=expiry,
        long_term=long_term,
        family_type=family,
    )
    facts = Facts(
        county_code=county,
        category=category,
        grade=grade,
        cert_status="正常",
        cert_expiry=expiry,
        family_type=family,
    )
    start = date(rng.randrange(2016, 2026), rng.randrange(1, 13), 1)
    for subsidy in ("living", "nursing"):
        if decide(subsidy, facts, today, rules).eligible and rng.random() < 0.97:
            person.enrolments.append(
                DemoEnrolment(
                    subsidy, county, monthly_amount(subsidy, category, grade, rules), start
                )
            )
    return person


def _plant(
    person: DemoPerson, problem: str, rng: random.Random, today: date, rules: RuleSet
) -> None:
    person.planted = problem
    person.category, person.grade = (
        (4, 3)
        if problem == "GRADE3_PHYSICAL_WITH_NURSING"
        else (person.category or 4, person.grade or 1)
    )
    person.cert_number = f"{person.id_number}{person.category}{person.grade}"
    person.family_type = "特困" if problem == "TEKUN_WITH_LIVING" else "低保"
    person.long_term, person.expiry = False, today + timedelta(days=400)
    month = date(2022, 3, 1)
    living = DemoEnrolment("living", person.county, rules.living_amount, month)
    nursing = DemoEnrolment("nursing", person.county, Decimal("122.00"), month)
    person.enrolments = [living]
    if problem == "EXPIRED_CERTIFICATE":
        person.expiry = today - timedelta(days=40)
    elif problem == "TWO_COUNTIES":
        other = next(c for c in CURRENT_COUNTIES if c != person.county)
        person.enrolments.append(DemoEnrolment("living", other, rules.living_amount, month))
    elif problem == "GRADE3_PHYSICAL_WITH_NURSING":
        person.enrolments.append(nursing)
    elif problem == "CODE_MISMATCH":
        person.cert_number = f"{person.id_number}{person.category}{person.grade % 4 + 1}"
    elif problem == "NOT_ENROLLED":
        person.grade, person.category = 1, 4
        person.cert_number = f"{person.id_number}41"
        person.enrolments = []
