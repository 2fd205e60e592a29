"""Forms of the spot-check and annual-review pages (labels and errors in Chinese)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from archive import access
from archive.forms import ANY
from archive.models import Division
from archive.people.enrolments import STOP_REASONS
from archive.widgets import DateInput, MonthInput
from inspection import sampling
from inspection.models import ReviewTask, SpotCheckItem
from inspection.population import FILTERS

YES_NO = [("yes", "是"), ("no", "否")]


def user_divisions(user):
    """Current county, city and province divisions inside the user's jurisdiction."""
    divisions = Division.objects.filter(
        successor__isnull=True,
        level__in=[Division.Level.PROVINCE, Division.Level.CITY, Division.Level.COUNTY],
    )
    prefix = access.user_prefix(user)
    if prefix is None:
        return divisions.none()
    return divisions if prefix == access.ALL else divisions.filter(code__startswith=prefix)


def _choices(field: str) -> list[tuple[str, str]]:
    return ANY + list(FILTERS[field][1].items())


class SpotCheckForm(forms.Form):
    division = forms.ModelChoiceField(label="抽查区划", queryset=Division.objects.none())
    query = forms.CharField(
        label="检索词",
        required=False,
        help_text="与档案检索相同：姓名、证号后几位、村或地址、扫描件文字；留空为全部",
    )
    subsidy = forms.ChoiceField(label="补贴类别", choices=_choices("subsidy"), required=False)
    status = forms.ChoiceField(label="享受状态", choices=_choices("status"), required=False)
    completeness = forms.ChoiceField(
        label="档案完整度", choices=_choices("completeness"), required=False
    )
    township = forms.RegexField(
        label="乡镇代码",
        regex=r"^\d{9}$",
        required=False,
        error_messages={"invalid": "乡镇代码应为 9 位数字。"},
    )
    plan = forms.ChoiceField(
        label="抽样方案",
        choices=list(sampling.PLAN_LABELS.items()),
        initial=sampling.FIXED,
        widget=forms.RadioSelect,
    )
    size = forms.IntegerField(label="抽取数量（份）", min_value=1, required=False)
    percent = forms.DecimalField(
        label="抽取比例（%）", min_value=Decimal("0.01"), max_value=100, required=False
    )
    confidence = forms.DecimalField(
        label="置信度（%）", initial=95, min_value=Decimal("50"), max_value=Decimal("99.9"),
        required=False,
    )  # fmt: skip
    error_rate = forms.DecimalField(
        label="可容忍误差率（%）", initial=5, min_value=Decimal("0.1"), max_value=Decimal("50"),
        required=False,
    )  # fmt: skip
    stratify = forms.BooleanField(
        label="按乡镇分层（各乡镇按人数比例分配，每个乡镇至少 1 份）", required=False
    )
    seed = forms.CharField(
        label="随机种子",
        max_length=64,
        required=False,
        help_text="留空则随机生成并记录；填写同一种子可复现抽样",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = user_divisions(user)

    def clean(self):
        data = super().clean()
        plan = data.get("plan")
        if plan == sampling.FIXED and not data.get("size"):
            self.add_error("size", "请填写抽取数量。")
        if plan == sampling.PERCENT and not data.get("percent"):
            self.add_error("percent", "请填写抽取比例。")
        if plan == sampling.ATTRIBUTE:
            for name in ("confidence", "error_rate"):
                if data.get(name) is None:
                    self.add_error(name, "属性抽样须填写置信度和可容忍误差率。")
        return data

    def sample_plan(self) -> sampling.SamplePlan:
        data = self.cleaned_data
        plan = data["plan"]
        if plan == sampling.FIXED:
            return sampling.SamplePlan(plan, size=data["size"])
        if plan == sampling.PERCENT:
            return sampling.SamplePlan(plan, percent=float(data["percent"]))
        if plan == sampling.ATTRIBUTE:
            return sampling.SamplePlan(
                plan,
                confidence=float(data["confidence"]) / 100,
                error_rate=float(data["error_rate"]) / 100,
            )
        return sampling.SamplePlan(plan)

    def filters(self) -> dict[str, str]:
        return {k: self.cleaned_data[k] for k in FILTERS if self.cleaned_data.get(k)}


class ResultForm(forms.Form):
    documents_complete = forms.ChoiceField(
        label="材料齐全？", choices=YES_NO, widget=forms.RadioSelect
    )
    certificate_valid = forms.ChoiceField(
        label="证件有效且与记录一致？", choices=YES_NO, widget=forms.RadioSelect
    )
    still_eligible = forms.ChoiceField(
        label="仍符合条件？", choices=YES_NO, widget=forms.RadioSelect
    )
    payment_complete = forms.ChoiceField(
        label="发放信息齐全？", choices=YES_NO, widget=forms.RadioSelect
    )
    result = forms.ChoiceField(
        label="检查结果", choices=SpotCheckItem.Result.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label="检查说明", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="不合格时必填",
    )  # fmt: skip
    evidence = forms.FileField(
        label="佐证材料（可选）", required=False, help_text="扫描件或照片，将归入本人的补贴档案"
    )

    def answers(self) -> dict[str, bool]:
        return {f: self.cleaned_data[f] == "yes" for f, _ in SpotCheckItem.CHECKLIST}


class AssignForm(forms.Form):
    inspector = forms.ChoiceField(label="检查员")

    def __init__(self, *args, inspectors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.inspectors = {str(u.pk): u for u in inspectors}
        self.fields["inspector"].choices = [("", "请选择")] + [
            (str(u.pk), u.get_full_name() or u.get_username()) for u in inspectors
        ]

    def chosen(self):
        return self.inspectors[self.cleaned_data["inspector"]]


class CampaignForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    division = forms.ModelChoiceField(label="复核区划", queryset=Division.objects.none())
    due_date = forms.DateField(label="完成期限", widget=DateInput(), input_formats=["%Y-%m-%d"])

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = user_divisions(user)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="复核结论", choices=ReviewTask.Outcome.choices, widget=forms.RadioSelect
    )
    reason = forms.ChoiceField(
        label="停发（暂停）原因",
        choices=[("", "请选择"), *STOP_REASONS.items()],
        required=False,
    )
    month = forms.DateField(
        label="生效年月",
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=MonthInput(),
        required=False,
        help_text="停发、暂停时必填：自该月起不再发放",
    )
    note = forms.CharField(
        label="说明", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="结论为“其他”时必填",
    )  # fmt: skip


class TaskFilterForm(forms.Form):
    township = forms.ChoiceField(label="乡镇", required=False)
    state = forms.ChoiceField(
        label="进度",
        required=False,
        choices=[("", "全部"), ("open", "未复核"), ("done", "已复核"), ("overdue", "已逾期")],
    )

    def __init__(self, *args, townships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].choices = ANY + list(townships)


class ItemFilterForm(forms.Form):
    township = forms.ChoiceField(label="乡镇", required=False)
    state = forms.ChoiceField(
        label="进度",
        required=False,
        choices=[
            ("", "全部"),
            ("unassigned", "未分配"),
            ("open", "未检查"),
            ("pass", "合格"),
            ("fail", "不合格"),
            ("mine", "分配给我的"),
        ],
    )

    def __init__(self, *args, townships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].choices = ANY + list(townships)
