"""Stored rule sets: turning `RuleSetVersion` rows into `core.eligibility.RuleSet`s and
back, and the form administrators use to add a version (versions are never edited)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms

from archive.models import RuleSetVersion
from archive.widgets import DateInput
from core.cells import FAMILY_TYPES
from core.eligibility import (
    ALLOWED,
    BENEFITS,
    EXCLUDED,
    SHANXI_2023,
    SUBSIDIES,
    SUSPENDED,
    RuleSet,
)
from core.numbers import CATEGORIES, GRADES

CONNECTION_CHOICES = [
    (EXCLUDED, "不可同时享受"),
    (ALLOWED, "可以同时享受"),
    (SUSPENDED, "暂停发放"),
]
PAIR_CHOICES = [
    (f"{c}-{g}", f"{CATEGORIES[c]}{GRADES[g]}") for c in sorted(CATEGORIES) for g in sorted(GRADES)
]


def version_on(day: date) -> RuleSetVersion | None:
    """The stored version in force on ``day``: the latest effective date not after it, and of
    two versions with that date the one saved last (an administrator correcting a version
    saves a new one with the same date; versions are never edited)."""
    return (
        RuleSetVersion.objects.filter(effective_from__lte=day)
        .order_by("-effective_from", "-created_at", "-id")
        .first()
    )


def rule_set_on(day: date) -> RuleSet:
    """The rules in force on ``day``; Shanxi 2023 when no version is stored for it."""
    version = version_on(day)
    return RuleSet.from_dict(version.data) if version else SHANXI_2023


class RuleSetForm(forms.Form):
    """A new version of the rules. Nursing amounts are entered per grade band (grades 1–2,
    grades 3–4) as the Shanxi notice sets them; the stored rule set keeps one per pair."""

    name = forms.CharField(label="名称", max_length=64)
    effective_from = forms.DateField(label="生效日期", widget=DateInput())
    legal_basis = forms.CharField(label="政策依据", widget=forms.Textarea(attrs={"rows": 4}))
    notice_citation = forms.CharField(
        label="告知书引用的文件",
        required=False,
        max_length=300,
        help_text="政策告知书中“根据……等规定”引用的发文机关、文件全称和文号；留空则引用政策依据。",
    )
    living_family_types = forms.MultipleChoiceField(
        label="生活补贴：符合条件的家庭类别",
        choices=[(t, t) for t in FAMILY_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )
    living_amount = forms.DecimalField(label="生活补贴标准（元/月）", min_value=0, decimal_places=2)
    nursing_pairs = forms.MultipleChoiceField(
        label="护理补贴：符合条件的残疾类别和等级",
        choices=PAIR_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    nursing_amount_severe = forms.DecimalField(
        label="护理补贴标准：一、二级（元/月）", min_value=0, decimal_places=2
    )
    nursing_amount_other = forms.DecimalField(
        label="护理补贴标准：三、四级（元/月）", min_value=0, decimal_places=2
    )
    expiring_days = forms.IntegerField(label="证件即将过期提醒（天）", min_value=0, max_value=3650)
    stop_from_next_month = forms.BooleanField(label="停发自事件发生的次月起", required=False)

    def __init__(self, *args, initial_rules: RuleSet | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for benefit, label in BENEFITS.items():
            for subsidy, subsidy_label in SUBSIDIES.items():
                self.fields[f"x_{benefit}_{subsidy}"] = forms.ChoiceField(
                    label=f"{label} × {subsidy_label}", choices=CONNECTION_CHOICES
                )
        if initial_rules is not None and not self.is_bound:
            self.initial = self._initial_from(initial_rules)

    @staticmethod
    def _initial_from(rules: RuleSet) -> dict:
        amounts = dict(rules.nursing_amounts)
        initial = {
            "name": rules.name,
            "effective_from": None,
            "legal_basis": rules.legal_basis,
            "notice_citation": rules.notice_citation,
            "living_family_types": sorted(rules.living_family_types),
            "living_amount": rules.living_amount,
            "nursing_pairs": [f"{c}-{g}" for c, g in sorted(rules.nursing_pairs)],
            "nursing_amount_severe": next(
                (a for (c, g), a in amounts.items() if g <= 2), Decimal("0")
            ),
            "nursing_amount_other": next(
                (a for (c, g), a in amounts.items() if g >= 3), Decimal("0")
            ),
            "expiring_days": rules.expiring_days,
            "stop_from_next_month": rules.stop_from_next_month,
        }
        for benefit, statuses in rules.exclusions.items():
            for subsidy, status in statuses.items():
                initial[f"x_{benefit}_{subsidy}"] = status
        return initial

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        pairs = [tuple(int(x) for x in pair.split("-")) for pair in data["nursing_pairs"]]
        try:
            data["rule_set"] = RuleSet(
                name=data["name"],
                effective_from=data["effective_from"],
                legal_basis=data["legal_basis"],
                notice_citation=data["notice_citation"],
                living_family_types=frozenset(data["living_family_types"]),
                nursing_pairs=frozenset(pairs),
                exclusions={
                    benefit: {s: data[f"x_{benefit}_{s}"] for s in SUBSIDIES}
                    for benefit in BENEFITS
                },
                living_amount=data["living_amount"],
                nursing_amounts={
                    (c, g): data["nursing_amount_severe"]
                    if g <= 2
                    else data["nursing_amount_other"]
                    for c, g in pairs
                },
                expiring_days=data["expiring_days"],
                stop_from_next_month=data["stop_from_next_month"],
            )
        except ValueError as error:
            raise forms.ValidationError(f"规则内容有误：{error}") from error
        if RuleSetVersion.objects.filter(effective_from=data["effective_from"]).exists():
            self.add_error("effective_from", "该生效日期已有规则版本；请选择其他日期。")
        return data


def save_rule_set(rules: RuleSet, user) -> RuleSetVersion:
    return RuleSetVersion.objects.create(
        name=rules.name,
        effective_from=rules.effective_from,
        legal_basis=rules.legal_basis,
        data=rules.to_dict(),
        created_by=user,
    )
