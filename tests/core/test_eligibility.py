"""Eligibility and policy connection (spec/rules.md): every Shanxi default, rule sets as data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.cells import LONG_TERM
from core.eligibility import (
    SHANXI_2023,
    Decision,
    Facts,
    RuleSet,
    decide,
    is_expired,
    is_expiring,
    monthly_amount,
    qualifies_for_nursing,
    stop_month,
)

ON = date(2026, 11, 30)
RULES = SHANXI_2023
ALL_CATEGORIES = range(1, 8)


def facts(**changes: object) -> Facts:
    """A person who qualifies for both subsidies; each test changes one thing."""
    base = Facts(
        county_code="140425",
        category=5,
        grade=1,
        cert_status="正常",
        cert_expiry=date(2030, 5, 1),
        family_type="低保",
        other_benefits=frozenset(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def living(f: Facts, on: date = ON, rules: RuleSet = RULES) -> Decision:
    return decide("living", f, on, rules)


def nursing(f: Facts, on: date = ON, rules: RuleSet = RULES) -> Decision:
    return decide("nursing", f, on, rules)


# --- the baseline ------------------------------------------------------------------------


@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_a_qualifying_person_is_eligible_with_no_reasons(subsidy: str) -> None:
    decision = decide(subsidy, facts(), ON, RULES)
    assert decision.eligible
    assert decision.reasons == ()
    assert decision.subsidy == subsidy


def test_unknown_subsidy_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown subsidy"):
        decide("pension", facts(), ON, RULES)


# --- living subsidy: family type ---------------------------------------------------------


@pytest.mark.parametrize("family_type", ["低保", "低保边缘"])
def test_dibao_and_near_dibao_families_qualify_for_living(family_type: str) -> None:
    assert living(facts(family_type=family_type)).eligible


@pytest.mark.parametrize("family_type", ["特困", "一般", None])
def test_tekun_ordinary_and_unknown_families_do_not_qualify_for_living(
    family_type: str | None,
) -> None:
    decision = living(facts(family_type=family_type))
    assert not decision.eligible
    assert "FAMILY_TYPE" in decision.codes


@pytest.mark.parametrize("family_type", ["低保边缘", "一般"])
def test_nursing_is_not_means_tested(family_type: str) -> None:
    assert nursing(facts(family_type=family_type)).eligible


def test_family_types_that_qualify_are_configurable() -> None:
    before_2023 = replace(RULES, living_family_types=frozenset({"低保"}))
    assert not living(facts(family_type="低保边缘"), rules=before_2023).eligible
    assert living(facts(family_type="低保"), rules=before_2023).eligible


@pytest.mark.parametrize("category", ALL_CATEGORIES)
@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_living_accepts_any_category_and_grade(category: int, grade: int) -> None:
    assert living(facts(category=category, grade=grade)).eligible


# --- nursing subsidy: category and grade -------------------------------------------------


@pytest.mark.parametrize("category", ALL_CATEGORIES)
@pytest.mark.parametrize("grade", [1, 2])
def test_grades_1_and_2_of_every_category_qualify_for_nursing(category: int, grade: int) -> None:
    assert qualifies_for_nursing(category, grade, RULES)
    assert nursing(facts(category=category, grade=grade)).eligible


@pytest.mark.parametrize(("category", "grade"), [(5, 3), (5, 4), (6, 3), (6, 4)])
def test_grades_3_and_4_intellectual_and_mental_qualify_for_nursing(
    category: int, grade: int
) -> None:
    assert qualifies_for_nursing(category, grade, RULES)
    assert nursing(facts(category=category, grade=grade)).eligible


@pytest.mark.parametrize("category", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("grade", [3, 4])
def test_grades_3_and_4_of_other_categories_do_not_qualify_for_nursing(
    category: int, grade: int
) -> None:
    assert not qualifies_for_nursing(category, grade, RULES)
    decision = nursing(facts(category=category, grade=grade))
    assert not decision.eligible
    assert decision.codes == ("GRADE",)


def test_grade_3_intellectual_qualifies_while_grade_3_physical_does_not() -> None:
    assert nursing(facts(category=5, grade=3)).eligible
    assert not nursing(facts(category=4, grade=3)).eligible


@pytest.mark.parametrize(("grade", "eligible"), [(1, True), (2, True), (3, False), (4, False)])
def test_multiple_disability_qualifies_for_nursing_at_grades_1_and_2_only(
    grade: int, eligible: bool
) -> None:
    assert nursing(facts(category=7, grade=grade)).eligible is eligible


def test_nursing_pairs_are_configurable() -> None:
    pairs = RULES.nursing_pairs - {(5, 3), (5, 4), (6, 3), (6, 4)}
    amounts = {pair: amount for pair, amount in RULES.nursing_amounts.items() if pair in pairs}
    before_2023 = replace(RULES, nursing_pairs=pairs, nursing_amounts=amounts)
    assert not nursing(facts(category=5, grade=3), rules=before_2023).eligible


# --- certificate -------------------------------------------------------------------------


@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_no_certificate_means_not_eligible(subsidy: str) -> None:
    decision = decide(subsidy, facts(category=None, grade=None), ON, RULES)
    assert not decision.eligible
    assert decision.codes == ("NO_CERTIFICATE",)


@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_cancelled_certificate_means_not_eligible(subsidy: str) -> None:
    decision = decide(subsidy, facts(cert_status="注销"), ON, RULES)
    assert not decision.eligible
    assert decision.codes == ("CERT_CANCELLED",)


def test_frozen_certificate_is_a_warning_not_a_refusal() -> None:
    decision = nursing(facts(cert_status="冻结"))
    assert decision.eligible
    assert decision.codes == ("CERT_FROZEN",)
    assert decision.warnings == decision.reasons


def test_unknown_certificate_status_counts_as_normal() -> None:
    assert nursing(facts(cert_status=None)).eligible


@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_expired_certificate_means_not_eligible(subsidy: str) -> None:
    decision = decide(subsidy, facts(cert_expiry=date(2026, 11, 29)), ON, RULES)
    assert not decision.eligible
    assert decision.codes == ("CERT_EXPIRED",)


def test_certificate_expiring_on_the_reference_date_is_not_yet_expired() -> None:
    decision = nursing(facts(cert_expiry=ON))
    assert decision.eligible
    assert decision.codes == ("CERT_EXPIRING",)


@pytest.mark.parametrize(("days", "expiring"), [(0, True), (90, True), (91, False)])
def test_certificate_expiring_within_90_days_is_a_warning(days: int, expiring: bool) -> None:
    expiry = date.fromordinal(ON.toordinal() + days)
    assert is_expiring(expiry, ON, RULES) is expiring
    assert ("CERT_EXPIRING" in nursing(facts(cert_expiry=expiry)).codes) is expiring


def test_expiring_window_is_configurable() -> None:
    expiry = date(2027, 1, 29)  # 60 days after ON
    assert is_expiring(expiry, ON, RULES)
    assert not is_expiring(expiry, ON, replace(RULES, expiring_days=30))


def test_long_term_certificate_never_expires() -> None:
    assert not is_expired(LONG_TERM, date(9999, 12, 31))
    assert not is_expiring(LONG_TERM, ON, RULES)
    assert nursing(facts(cert_expiry=LONG_TERM), on=date(2099, 1, 1)).reasons == ()


def test_unknown_expiry_is_not_evidence_of_expiry() -> None:
    assert not is_expired(None, ON)
    assert nursing(facts(cert_expiry=None)).eligible


# --- household registration --------------------------------------------------------------


@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_unknown_household_registration_means_not_eligible(subsidy: str) -> None:
    assert decide(subsidy, facts(county_code=None), ON, RULES).codes == ("NO_HUKOU",)


@pytest.mark.parametrize(
    ("division", "eligible"),
    [("140425", True), ("140400", True), ("140000", True), ("140426", False)],
)
def test_household_registration_must_lie_in_the_division_asked_about(
    division: str, eligible: bool
) -> None:
    decision = decide("living", facts(county_code="140425100200"), ON, RULES, division=division)
    assert decision.eligible is eligible
    assert ("HUKOU_OUTSIDE" in decision.codes) is not eligible


# --- policy connection -------------------------------------------------------------------


@pytest.mark.parametrize("benefit", ["assistance_tekun", "work_injury_care"])
@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_tekun_support_and_work_injury_care_exclude_both_subsidies(
    benefit: str, subsidy: str
) -> None:
    decision = decide(subsidy, facts(other_benefits=frozenset({benefit})), ON, RULES)
    assert not decision.eligible
    assert decision.codes == ("EXCLUDED",)
    assert decision.reasons[0].benefit == benefit


def test_orphan_support_excludes_living() -> None:
    decision = living(facts(other_benefits=frozenset({"orphan"})))
    assert not decision.eligible
    assert decision.codes == ("EXCLUDED",)
    assert decision.reasons[0].benefit == "orphan"


def test_orphan_support_allows_nursing() -> None:
    assert nursing(facts(other_benefits=frozenset({"orphan"}))).eligible


@pytest.mark.parametrize("subsidy", ["living", "nursing"])
def test_serving_a_prison_sentence_suspends_both_subsidies(subsidy: str) -> None:
    decision = decide(subsidy, facts(other_benefits=frozenset({"prison"})), ON, RULES)
    assert not decision.eligible
    assert decision.codes == ("SUSPENDED",)
    assert decision.reasons[0].benefit == "prison"


def test_tekun_family_type_implies_tekun_support_for_nursing() -> None:
    decision = nursing(facts(family_type="特困"))
    assert not decision.eligible
    assert decision.codes == ("EXCLUDED",)
    assert decision.reasons[0].benefit == "assistance_tekun"


def test_exclusions_are_configurable() -> None:
    exclusions = dict(RULES.exclusions)
    exclusions["orphan"] = {"living": "allowed", "nursing": "allowed"}
    lenient = replace(RULES, exclusions=exclusions)
    assert living(facts(other_benefits=frozenset({"orphan"})), rules=lenient).eligible


def test_benefit_the_rule_set_does_not_mention_is_allowed() -> None:
    assert nursing(facts(other_benefits=frozenset({"pension"}))).eligible


def test_every_reason_is_listed_not_just_the_first() -> None:
    decision = living(
        facts(
            cert_expiry=date(2020, 1, 1),
            family_type="一般",
            other_benefits=frozenset({"prison", "work_injury_care"}),
        )
    )
    assert decision.codes == ("CERT_EXPIRED", "FAMILY_TYPE", "EXCLUDED", "SUSPENDED")
    assert all(reason.message for reason in decision.reasons)


# --- amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize("category", ALL_CATEGORIES)
@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_living_amount_is_122_for_every_certificate(category: int, grade: int) -> None:
    assert monthly_amount("living", category, grade, RULES) == Decimal("122")


@pytest.mark.parametrize("category", ALL_CATEGORIES)
@pytest.mark.parametrize("grade", [1, 2])
def test_nursing_amount_is_122_for_grades_1_and_2(category: int, grade: int) -> None:
    assert monthly_amount("nursing", category, grade, RULES) == Decimal("122")


@pytest.mark.parametrize(("category", "grade"), [(5, 3), (5, 4), (6, 3), (6, 4)])
def test_nursing_amount_is_61_for_grades_3_and_4_intellectual_and_mental(
    category: int, grade: int
) -> None:
    assert monthly_amount("nursing", category, grade, RULES) == Decimal("61")


@pytest.mark.parametrize(("category", "grade"), [(4, 3), (7, 3), (1, 4)])
def test_nursing_amount_is_none_when_the_pair_does_not_qualify(category: int, grade: int) -> None:
    assert monthly_amount("nursing", category, grade, RULES) is None


def test_eligible_decision_carries_the_monthly_amount() -> None:
    assert nursing(facts(category=6, grade=4)).amount == Decimal("61.00")
    assert living(facts()).amount == Decimal("122.00")


def test_refused_decision_carries_no_amount() -> None:
    assert nursing(facts(category=4, grade=3)).amount is None


def test_monthly_amount_of_unknown_subsidy_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown subsidy"):
        monthly_amount("pension", 1, 1, RULES)


# --- stopping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "month"),
    [(date(2026, 10, 15), date(2026, 11, 1)), (date(2026, 12, 31), date(2027, 1, 1))],
)
def test_a_confirmed_stop_takes_effect_from_the_next_month(event: date, month: date) -> None:
    assert stop_month(event, RULES) == month


def test_stop_from_the_event_month_is_configurable() -> None:
    same_month = replace(RULES, stop_from_next_month=False)
    assert stop_month(date(2026, 10, 15), same_month) == date(2026, 10, 1)


# --- the rule set as data ----------------------------------------------------------------


def test_shanxi_2023_takes_effect_on_1_january_2023_and_cites_its_legal_basis() -> None:
    assert SHANXI_2023.effective_from == date(2023, 1, 1)
    assert "晋民发〔2023〕1号" in SHANXI_2023.legal_basis
    assert "民发〔2016〕99号" in SHANXI_2023.legal_basis


def test_shanxi_defaults_match_the_spec() -> None:
    assert SHANXI_2023.living_family_types == {"低保", "低保边缘"}
    assert len(SHANXI_2023.nursing_pairs) == 7 * 2 + 4
    assert SHANXI_2023.exclusions["orphan"] == {"living": "excluded", "nursing": "allowed"}
    assert SHANXI_2023.exclusions["prison"] == {"living": "suspended", "nursing": "suspended"}
    assert SHANXI_2023.living_amount == Decimal("122")
    assert SHANXI_2023.expiring_days == 90
    assert SHANXI_2023.stop_from_next_month is True


def test_rule_set_survives_a_json_round_trip() -> None:
    stored = json.loads(json.dumps(SHANXI_2023.to_dict(), ensure_ascii=False))
    assert RuleSet.from_dict(stored) == SHANXI_2023


def test_rule_set_from_dict_fills_missing_settings_with_defaults() -> None:
    minimal = {"name": "t", "effective_from": "2024-01-01", "legal_basis": "b"}
    assert RuleSet.from_dict(minimal).nursing_pairs == SHANXI_2023.nursing_pairs


def test_rule_set_from_dict_refuses_unknown_keys() -> None:
    data = SHANXI_2023.to_dict() | {"expiring_dayz": 30}
    with pytest.raises(ValueError, match="expiring_dayz"):
        RuleSet.from_dict(data)


def test_rule_set_from_dict_refuses_an_amount_given_twice_for_one_pair() -> None:
    data = SHANXI_2023.to_dict()
    data["nursing_amounts"].append({"category": 1, "grade": 1, "amount": "100"})
    with pytest.raises(ValueError, match="twice"):
        RuleSet.from_dict(data)


def test_rule_set_is_immutable() -> None:
    with pytest.raises(TypeError):
        SHANXI_2023.exclusions["orphan"] = {"living": "allowed", "nursing": "allowed"}  # type: ignore[index]
    with pytest.raises(AttributeError):
        SHANXI_2023.living_amount = Decimal("1")  # type: ignore[misc]


def test_rule_set_is_hashable() -> None:
    assert len({SHANXI_2023, RuleSet.from_dict(SHANXI_2023.to_dict())}) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"living_family_types": frozenset({"低保", "小康"})},
        {"nursing_pairs": RULES.nursing_pairs | {(8, 1)}},
        {"nursing_pairs": RULES.nursing_pairs | {(4, 3)}},  # pair without an amount
        {"exclusions": {"orphan": {"living": "maybe", "nursing": "allowed"}}},
        {"exclusions": {"orphan": {"living": "excluded"}}},
        {"living_amount": Decimal("-1")},
        {"living_amount": Decimal("122.005")},
        {"living_amount": 122.0},
        {"living_amount": "abc"},
        {"expiring_days": -1},
        {"expiring_days": "90"},
        {"effective_from": "2023-01-01"},
        {"effective_from": datetime(2023, 1, 1)},
        {"name": " "},
    ],
)
def test_inconsistent_rule_set_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(RULES, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [{"category": 8, "grade": 1}, {"category": 1, "grade": 5}, {"category": 1, "grade": None}],
)
def test_inconsistent_facts_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        facts(**changes)


@pytest.mark.parametrize("changes", [{"cert_status": "挂失"}, {"family_type": "小康"}])
def test_facts_with_unknown_status_or_family_type_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        facts(**changes)


# --- choosing the rule set in force ------------------------------------------------------


OLD = replace(SHANXI_2023, name="2016", effective_from=date(2016, 1, 1))
NEW = replace(SHANXI_2023, name="2027", effective_from=date(2027, 1, 1))
