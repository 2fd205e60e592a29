"""Login throttling (django-axes): a username, and an address, are locked out after too many
wrong passwords, the right password no longer helps, the message is Chinese, and every
failure and lockout is in the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.models import AuditLog

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


def attempt(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("wagtailadmin_login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def test_the_right_password_after_many_wrong_ones_does_not_log_in(client, make_user, settings):
    make_user("clerk", "140425", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "clerk", "wrong")
    response = attempt(client, "clerk", PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "登录已暂时锁定" in body and "分钟后再试" in body
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(action="login_failed").count() >= settings.AXES_FAILURE_LIMIT
    lockouts = list(AuditLog.objects.filter(action="lockout"))
    assert lockouts and all("clerk" in e.detail and e.ip == "10.0.0.1" for e in lockouts)


def test_a_locked_username_is_locked_from_another_address_too(client, make_user, settings):
    make_user("clerk", "140425", password=PASSWORD)
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "clerk", "wrong", ip=f"10.0.1.{i}")
    assert attempt(client, "clerk", PASSWORD, ip="10.0.2.1").status_code == 429


def test_an_address_trying_many_usernames_is_locked_out(client, make_user, settings):
    make_user("clerk", "140425", password=PASSWORD)
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"guess{i}", "wrong", ip="10.0.3.3")
    assert attempt(client, "clerk", PASSWORD, ip="10.0.3.3").status_code == 429
    assert attempt(client, "clerk", PASSWORD, ip="10.0.4.4").status_code == 302


def test_a_failure_is_audited_with_the_username(client, make_user):
    make_user("clerk", "140425", password=PASSWORD)
    attempt(client, "clerk", "wrong")
    entry = AuditLog.objects.get(action="login_failed")
    assert "clerk" in entry.detail and entry.user is None
    assert attempt(client, "clerk", PASSWORD).status_code == 302
    assert AuditLog.objects.filter(action="login", username="clerk").exists()
