"""Forms of the archive admin: list filters and the enrolment actions."""

from __future__ import annotations

from django import forms

from archive.enrolments import STOP_REASONS
from archive.models import Division, Enrolment
from archive.widgets import MonthInput
from core import numbers
from core.codes import FLAG_LABELS
from core.eligibility import SUBSIDIES

ANY = [("", "全部")]
#: The person list's choice of "any open flag" besides each flag code.
ANY_FLAG = "any"


class PersonFilterForm(forms.Form):
    q = forms.CharField(label="姓名或身份号码", required=False)
    county = forms.ModelChoiceField(
        label="县（区）",
        queryset=Division.objects.filter(level=Division.Level.COUNTY, successor__isnull=True),
        required=False,
        empty_label="全部",
    )
    subsidy = forms.ChoiceField(
        label="补贴类别", choices=ANY + list(SUBSIDIES.items()), required=False
    )
    status = forms.ChoiceField(
        label="发放状态", choices=ANY + list(Enrolment.Status.choices), required=False
    )
    category = forms.TypedChoiceField(
        label="残疾类别",
        choices=ANY + sorted(numbers.CATEGORIES.items()),
        coerce=int,
        required=False,
        empty_value=None,
    )
    grade = forms.TypedChoiceField(
        label="残疾等级",
        choices=ANY + sorted(numbers.GRADES.items()),
        coerce=int,
        required=False,
        empty_value=None,
    )
    flag = forms.ChoiceField(
        label="数据问题",
        choices=[*ANY, (ANY_FLAG, "有任一问题标记"), *FLAG_LABELS.items()],
        required=False,
    )


class EnrolmentActionForm(forms.Form):
    month = forms.DateField(
        label="生效年月",
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=MonthInput(),
        help_text="停发、暂停：自该月起不再发放；恢复：自该月起恢复发放。",
    )
    reason = forms.ChoiceField(
        label="原因", choices=[("", "请选择"), *list(STOP_REASONS.items())], required=False
    )
    note = forms.CharField(label="说明", widget=forms.Textarea(attrs={"rows": 3}), required=False)
