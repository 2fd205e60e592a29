"""Refused accesses go to the audit log (审计日志) as `permission_denied`, wherever the refusal
comes from: a 403 from any view (Django's PermissionDenied, a CSRF failure), and Wagtail's
admin refusal, which is not a 403 but a redirect to the dashboard with its "no permission"
message. Refusals of records outside one's jurisdiction are 404s, audited as `denied` where
they happen (`archive.access.get_scoped_or_404`)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from archive.access.audit import record

#: Wagtail's message on refusing an admin page (wagtail.admin.auth.permission_denied).
WAGTAIL_REFUSAL = "Sorry, you do not have permission to access this area."


def _wagtail_refusal(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status_code != 302:
        return False
    try:
        home = reverse("wagtailadmin_home")
    except NoReverseMatch:
        return False
    if response.get("Location") != home:
        return False
    storage = messages.get_messages(request)
    texts = [str(m.message) for m in storage]
    storage.used = False  # looked at, not consumed: the page still shows them
    refusal = gettext(WAGTAIL_REFUSAL)  # Wagtail renders it into HTML with its buttons
    return any(refusal in text for text in texts)


class AuditRefusalsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403 or _wagtail_refusal(request, response):
            record(
                request,
                "permission_denied",
                obj_type="url",
                obj_id=str(response.status_code),
                detail=f"{request.method} {request.path}",
            )
        return response
