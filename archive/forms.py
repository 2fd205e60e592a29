"""Forms of the archive admin: list filters and the enrolment actions."""

from __future__ import annotations

from django import forms

from archive import access
from archive.models import Division, Enrolment
from archive.people.enrolments import STOP_REASONS
from archive.widgets import MonthInput
from core import numbers
from core.codes import FLAG_LABELS
from core.eligibility import SUBSIDIES

ANY = [("", "全部")]
#: The person list's choice of "any open flag" besides each flag code.
ANY_FLAG = "any"


class DivisionNameField(forms.ModelChoiceField):
    """A division chosen by its name (the code is what the query string carries)."""

    def label_from_instance(self, obj: Division) -> str:
        return obj.name


class PersonFilterForm(forms.Form):
    """The person list's filters. Places are offered by name and only within the user's
    jurisdiction: a user of one county chooses among its townships and is not offered a
    county; a city or province user chooses a county first, then its townships."""

    q = forms.CharField(label="姓名或身份号码", required=False)
    county = DivisionNameField(
        label="县（区）", queryset=Division.objects.none(), required=False, empty_label="全部"
    )
    township = DivisionNameField(
        label="乡镇（街道）", queryset=Division.objects.none(), required=False, empty_label="全部"
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

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        prefix = access.user_prefix(user)
        counties = Division.objects.counties_within(prefix)
        self.fields["county"].queryset = counties
        if counties.count() <= 1:
            del self.fields["county"]
        else:
            chosen = self.data.get("county", "")
            prefix = chosen if counties.filter(code=chosen).exists() else None
        if prefix is None:
            del self.fields["township"]
        else:
            self.fields["township"].queryset = Division.objects.townships_within(prefix)


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
