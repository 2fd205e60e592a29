"""Form widgets every app's forms share.

A browser's ``<input type="date">`` accepts only an ISO value. Django renders a date with the
locale's first input format, which for zh-hans is ``2026/11/30``: the picker then shows an empty
field and the first submit fails with "required" (the 发起比对 form lost its default reference
date this way). These widgets always render ISO, whatever the language.
"""

from __future__ import annotations

from django import forms


class DateInput(forms.DateInput):
    """A date picker (``YYYY-MM-DD``)."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class MonthInput(forms.DateInput):
    """A month picker (``YYYY-MM``); pair it with ``input_formats=["%Y-%m", "%Y-%m-%d"]``."""

    input_type = "month"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m")
