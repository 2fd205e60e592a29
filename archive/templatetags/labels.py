"""`{{ code|retention_label }}`: a 保管期限 as people read it (10年, not D10), from
`core.codes.RETENTIONS`, the one definition of the retention periods (docs/ui.md)."""

from django import template

from core.codes import RETENTIONS

register = template.Library()


@register.filter
def retention_label(code) -> str:
    return RETENTIONS.get(code, code or "")
