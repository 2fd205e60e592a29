"""Refused accesses are audited (permission_denied), a 403 and Wagtail's admin refusal alike."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.access.roles import EDITOR
from archive.models import AuditLog

pytestmark = pytest.mark.django_db


def test_an_editor_refused_the_audit_log_is_audited(client, make_user):
    client.force_login(make_user("editor", "140425", role=EDITOR))
    response = client.get(reverse("archive_audit_log"))
    assert response.status_code in (302, 403)
    entry = AuditLog.objects.get(action="permission_denied")
    assert entry.username == "editor" and reverse("archive_audit_log") in entry.detail


def test_an_editor_refused_user_management_is_audited(client, make_user):
    client.force_login(make_user("editor", "140425", role=EDITOR))
    client.get(reverse("wagtailusers_users:index"))
    assert AuditLog.objects.filter(action="permission_denied", username="editor").exists()


def test_an_allowed_page_writes_no_refusal(client, make_user):
    client.force_login(make_user("clerk", "140425"))
    assert client.get(reverse("archive_person_list")).status_code == 200
    assert not AuditLog.objects.filter(action="permission_denied").exists()
