"""Forms of the comparison pages."""

from __future__ import annotations

from datetime import date

from django import forms

from archive.models import Division
from archive.widgets import DateInput
from core.tabular import DEFAULT_MAX_BYTES
from review.findings import ACTIONS, CODE_LABELS
from review.models import (
    ACTION_LABELS,
    KIND_CHOICES,
    NotifyOutcome,
    RosterUpload,
    Verification,
)


def _month(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date().replace(day=1)
        except ValueError:
            continue
    raise forms.ValidationError("请按 YYYY-MM 填写月份。")


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month"})

    def to_python(self, value):
        value = super().to_python(value)
        return _month(value) if value else None


class DivisionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Division) -> str:
        return f"{obj.name}（{obj.code}）"


class RosterUploadForm(forms.Form):
    kind = forms.ChoiceField(label="比对数据类别", choices=KIND_CHOICES)
    division = DivisionChoiceField(label="适用区划", queryset=Division.objects.none())
    period = MonthField(label="数据期间（月）", help_text="这份数据反映的月份，如 2026-11。")
    file = forms.FileField(
        label="文件", help_text="Excel（.xlsx）或 CSV（UTF-8 或 GBK 编码）；第一行为表头。"
    )

    def __init__(self, *args, divisions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = divisions

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size and upload.size > DEFAULT_MAX_BYTES:
            raise forms.ValidationError(
                f"文件大小 {upload.size} 字节，超过上限 {DEFAULT_MAX_BYTES} 字节。"
            )
        return upload


class NewRunForm(forms.Form):
    division = DivisionChoiceField(label="比对区划", queryset=Division.objects.none())
    as_of = forms.DateField(label="比对基准日", widget=DateInput())
    rosters = forms.ModelMultipleChoiceField(
        label="比对数据",
        queryset=RosterUpload.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="每类最多选一个；未选的类别对应的规则不比对，并在结果中列出。",
    )

    def __init__(self, *args, divisions=None, uploads=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = divisions
        self.fields["rosters"].queryset = uploads
        self.fields["rosters"].label_from_instance = lambda u: (
            f"{u.get_kind_display()} · {u.division.name} · {u.period:%Y-%m} · {u.filename}"
            f"（有效 {u.row_count} 行，上传于 {u.uploaded_at:%Y-%m-%d}）"
        )

    def clean(self):
        data = super().clean()
        uploads = data.get("rosters") or []
        kinds = [u.kind for u in uploads]
        if len(kinds) != len(set(kinds)):
            raise forms.ValidationError("每类比对数据只能选择一个文件。")
        return data


STATUS_CHOICES = [
    ("", "全部"),
    ("open", "待处理"),
    ("confirmed", "经查属实"),
    ("not_confirmed", "经查不属实"),
    ("notified", "已登记告知结果"),
]


class FindingFilterForm(forms.Form):
    code = forms.ChoiceField(
        label="问题类型", required=False, choices=[("", "全部"), *CODE_LABELS.items()]
    )
    action = forms.ChoiceField(
        label="处理方式",
        required=False,
        choices=[("", "全部"), *((a, ACTION_LABELS[a]) for a in ACTIONS)],
    )
    township = forms.ChoiceField(label="乡镇（街道）", required=False)
    status = forms.ChoiceField(label="状态", required=False, choices=STATUS_CHOICES)
    diff = forms.ChoiceField(
        label="与上次比较",
        required=False,
        choices=[("", "全部"), ("new", "新增"), ("still_open", "仍存在")],
    )
    q = forms.CharField(label="姓名或身份号码", required=False, max_length=32)

    def __init__(self, *args, townships: dict[str, str], **kwargs) -> None:
        """``townships``: code → name of the townships the run's findings (in the user's
        jurisdiction) lie in, the only ones offered, by name."""
        super().__init__(*args, **kwargs)
        by_name = sorted(townships.items(), key=lambda item: (item[1], item[0]))
        self.fields["township"].choices = [("", "全部"), *by_name]


class VerificationForm(forms.Form):
    outcome = forms.ChoiceField(
        label="核查结论", choices=Verification.Outcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label="核查说明", widget=forms.Textarea(attrs={"rows": 3}))
    evidence = forms.FileField(
        label="佐证材料（可选）", required=False, help_text="扫描件：JPEG、PNG、TIFF 或 PDF。"
    )


class BulkVerificationForm(forms.Form):
    """One verdict and note for the findings ticked on a list page (批量核查)."""

    outcome = forms.ChoiceField(
        label="核查结论", choices=Verification.Outcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label="核查说明（适用于所选全部）", max_length=2000)
    findings = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False)

    def __init__(self, *args, choices: list[int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["findings"].choices = [(pk, pk) for pk in choices or ()]


class ReversalForm(forms.Form):
    reason = forms.CharField(label="撤销原因", widget=forms.Textarea(attrs={"rows": 2}))


class NotifyOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="告知结果", choices=NotifyOutcome.Outcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))
