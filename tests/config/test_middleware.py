"""Content-Security-Policy: on every HTML page, strict on the public site, Wagtail's inline
scripts allowed in the admin only, none on files and JSON."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def directive(response, name: str) -> str:
    policy = response["Content-Security-Policy"]
    return next(d for d in policy.split(";") if d.strip().startswith(name + " ")).strip()


def test_public_pages_allow_no_inline_script_and_the_admin_only_wagtails(client):
    response = client.get("/admin/login/")  # an HTML page of the admin, for comparison
    assert "'unsafe-inline'" in directive(response, "script-src")
    public = client.get("/no-such-page/")
    assert directive(public, "script-src") == "script-src 'self'"
    assert directive(public, "object-src") == "object-src 'none'"
    assert directive(public, "frame-ancestors") == "frame-ancestors 'self'"


def test_json_and_files_carry_no_policy(client):
    response = client.get("/healthz")
    assert "Content-Security-Policy" not in response


def test_error_pages_are_chinese(client):
    from django.test import Client

    refused = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x"})
    assert refused.status_code == 403 and "页面已过期" in refused.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "页面不存在" in missing.content.decode()
