"""`{% no_division_notice %}`: tells a user whose account has no division yet why every list
is empty (access.user_prefix is None), instead of a bare 共 0 人."""

from django import template

from archive import access

register = template.Library()


@register.inclusion_tag("archive/_no_division.html", takes_context=True)
def no_division_notice(context) -> dict[str, bool]:
    request = context.get("request")
    return {"show": request is not None and access.user_prefix(request.user) is None}
