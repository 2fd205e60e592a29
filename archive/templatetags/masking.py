"""`{{ name|mask_ids }}`: file names and other free texts shown in lists, with every ID
number in them masked (`core.numbers.mask_ids_in`, the one masker)."""

from django import template

from core.numbers import mask_ids_in

register = template.Library()


@register.filter
def mask_ids(value) -> str:
    return mask_ids_in(str(value or ""))
