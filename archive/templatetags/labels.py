"""Codes as people read them, each from its one definition (docs/ui.md):
`{{ code|retention_label }}` a 保管期限 (10年, not D10) from `core.codes.RETENTIONS`;
`{{ code|doc_type_label }}` a document type (残疾人证（复印件）, not disability_certificate)
from `core.doctypes`."""

from django import template

from core.codes import RETENTIONS
from core.doctypes import BY_CODE

register = template.Library()


@register.filter
def retention_label(code) -> str:
    return RETENTIONS.get(code, code or "")


@register.filter
def doc_type_label(code) -> str:
    known = BY_CODE.get(code or "")
    return known.name if known else "未识别类型"
