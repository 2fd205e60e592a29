"""Logins: the audit of every login, failure and lockout.

Throttling is django-axes (settings: AXES_*): after AXES_FAILURE_LIMIT failures a username,
and separately an address, is locked out for AXES_COOLOFF_TIME, and the login page answers
with a Chinese message (archive/lockout.html, HTTP 429). Each failure and each lockout is
written to the audit log here, from the signals Django and axes send.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from archive.access.audit import record


@receiver(user_login_failed, dispatch_uid="archive.login_failed")
def audit_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    record(request, "login_failed", obj_type="auth.User", detail=f"用户名「{username}」密码错误")


@receiver(user_logged_in, dispatch_uid="archive.logged_in")
def audit_logged_in(sender, request: HttpRequest | None, user, **kwargs):
    if request is not None:
        record(
            request,
            "login",
            obj_type="auth.User",
            obj_id=str(user.pk),
            detail="登录成功",
            user=user,
        )


def audit_lockout(sender, request: HttpRequest | None = None, username="", ip_address="", **kw):
    record(
        request,
        "lockout",
        obj_type="auth.User",
        detail=f"登录失败次数过多，已锁定：用户名「{username or ''}」，地址 {ip_address or ''}",
    )


def connect() -> None:
    """Called from ArchiveConfig.ready (axes' signal needs axes loaded)."""
    from axes.signals import user_locked_out

    user_locked_out.connect(audit_lockout, dispatch_uid="archive.lockout")
