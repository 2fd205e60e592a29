"""Guarding admin views: the admin login and one permission, whatever URLconf a view is
mounted in (review, search and inspection pages use it; Wagtail's own refusal applies)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from wagtail.admin.auth import permission_denied, require_admin_access


def guarded(permission: str) -> Callable:
    """Admin login and a permission, whatever URLconf the view is mounted in."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                return permission_denied(request)
            return view(request, *args, **kwargs)

        return require_admin_access(wrapped)

    return decorate
