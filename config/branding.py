"""The system's own name on every page, instead of Wagtail's (docs/ui.md)."""

from django.conf import settings
from django.http import HttpRequest


def branding(request: HttpRequest) -> dict[str, str]:
    """Context processor: SYSTEM_NAME for the admin's title, login heading and emblem."""
    return {"SYSTEM_NAME": settings.WAGTAIL_SITE_NAME}
