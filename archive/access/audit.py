"""Writing to the append-only audit log (审计日志)."""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

from archive.models import AuditLog
from core.numbers import mask_ids_in

logger = logging.getLogger("archive.access.audit")


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the
    address the outermost trusted proxy saw (X-Forwarded-For, counted from the right, so a
    client cannot forge it). Used for lockouts (AXES_CLIENT_IP_CALLABLE) and the audit log alike."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if count and len(forwarded) >= count:
        try:
            return str(ipaddress.ip_address(forwarded[-count]))
        except ValueError:
            pass  # a proxy that passes garbage on: fall back to the connection's address
    return request.META.get("REMOTE_ADDR", "")


def record(
    request: HttpRequest | None,
    action: str,
    *,
    obj_type: str = "",
    obj_id: str = "",
    detail: str = "",
    user=None,
) -> AuditLog:
    """Logs who did what to which record. `request` gives the user and IP address; commands
    pass `user` directly. ID numbers in the detail (file names people chose) are masked
    before they are stored: the log names records by their key, never by an ID number."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    ip = client_ip(request) if request is not None else None
    entry = AuditLog.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action,
        object_type=obj_type,
        object_id=mask_ids_in(obj_id)[:64],
        detail=mask_ids_in(detail)[:500],
        ip=ip or None,
    )
    logger.info("audit %s %s %s:%s", entry.username or "-", action, obj_type, obj_id)
    return entry
