"""Forms of the archive admin: list filters and the enrolment actions."""

from __future__ import annotations

import re

from django import forms

from archive import access
from archive.models import Division, Enrolment
from archive.people.enrolments import STOP_REASONS
from archive.widgets import MonthInput
from core import numbers
from core.cells import CellError, format_expiry, parse_expiry
from core.codes import FLAG_LABELS, OCR_FIELD_LABELS
from core.eligibility import SUBSIDIES

ANY = [("", "全部")]
_NAME = re.compile(r"[\u4e00-\u9fff·•]{1,32}")
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


class OcrReviewForm(forms.Form):
    """The fields of the OCR 核对 page, prefilled with what OCR read: each submitted value is
    the confirmed one. Numbers and dates are checked by the project's one set of validators
    (`core.numbers`, `core.cells`): a certificate number with a wrong check character is
    refused with its reason. An empty value means the page shows no such field."""

    certificate_number = forms.CharField(
        label=OCR_FIELD_LABELS["certificate_number"], required=False, max_length=32
    )
    id_number = forms.CharField(label=OCR_FIELD_LABELS["id_number"], required=False, max_length=32)
    name = forms.CharField(label=OCR_FIELD_LABELS["name"], required=False, max_length=64)
    category = forms.ChoiceField(
        label=OCR_FIELD_LABELS["category"],
        required=False,
        choices=[("", "（无）")] + [(str(k), v) for k, v in numbers.CATEGORIES.items()],
    )
    grade = forms.ChoiceField(
        label=OCR_FIELD_LABELS["grade"],
        required=False,
        choices=[("", "（无）")] + [(str(k), v) for k, v in numbers.GRADES.items()],
    )
    valid_until = forms.CharField(
        label=OCR_FIELD_LABELS["valid_until"],
        required=False,
        max_length=32,
        help_text="如 2030-05-01、2030年5月1日或“长期”",
    )
    doc_type = forms.ChoiceField(label=OCR_FIELD_LABELS["doc_type"], required=False)

    def __init__(self, *args, types: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doc_type"].choices = [("", "（未确定）"), *types]

    def clean_certificate_number(self) -> str:
        raw = self.cleaned_data["certificate_number"].strip()
        if not raw:
            return ""
        try:
            return numbers.parse_certificate(raw).value
        except numbers.NumberError as error:
            raise forms.ValidationError(error.message) from None

    def clean_id_number(self) -> str:
        raw = self.cleaned_data["id_number"].strip()
        if not raw:
            return ""
        try:
            return numbers.parse_id(raw).value
        except numbers.NumberError as error:
            raise forms.ValidationError(error.message) from None

    def clean_name(self) -> str:
        name = "".join(self.cleaned_data["name"].split())
        if name and not _NAME.fullmatch(name):
            raise forms.ValidationError("姓名只能由汉字（及间隔号“·”）组成")
        return name

    def clean_valid_until(self) -> str:
        raw = self.cleaned_data["valid_until"].strip()
        try:
            return format_expiry(parse_expiry(raw))
        except CellError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self) -> dict:
        data = super().clean()
        number = data.get("certificate_number")
        if not number:
            return data
        cert = numbers.parse_certificate(number)
        if data.get("id_number") and data["id_number"] != cert.id_number.value:
            self.add_error("id_number", "公民身份号码与残疾人证号前18位不一致")
        if data.get("category") and int(data["category"]) != cert.category:
            self.add_error("category", f"残疾类别与证号第19位（{cert.category_name}）不一致")
        if data.get("grade") and int(data["grade"]) != cert.grade:
            self.add_error("grade", f"残疾等级与证号第20位（{cert.grade_name}）不一致")
        return data
