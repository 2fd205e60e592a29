"""Administrators see every rule-set version with its legal basis and add new versions;
stored versions are chosen by effective date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR, ARCHIVIST
from archive.models import AuditLog, RuleSetVersion
from archive.rulesets import RuleSetForm, rule_set_on
from core.eligibility import SHANXI_2023

pytestmark = pytest.mark.django_db


def _post_data(**overrides) -> dict:
    form = RuleSetForm(initial_rules=SHANXI_2023)
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(effective_from="2027-01-01", name="2027年标准调整", living_amount="130.00")
    data.update(overrides)
    data["stop_from_next_month"] = "on"
    return data


def test_shanxi_2023_rules_ship_as_the_first_version():
    version = RuleSetVersion.objects.get()
    assert version.effective_from == date(2023, 1, 1)
    assert "晋民发〔2023〕1号" in version.legal_basis


def test_rule_set_page_shows_legal_basis(client, make_user):
    client.force_login(make_user("admin1", "140400", role=ADMINISTRATOR))
    body = client.get(reverse("archive_rule_sets")).content.decode()
    assert "晋民发〔2023〕1号" in body
    assert "智力残疾三级：61.00 元/月" in body


def test_administrator_adds_a_version_that_applies_from_its_date(client, make_user):
    client.force_login(make_user("admin1", "140400", role=ADMINISTRATOR))
    response = client.post(reverse("archive_rule_set_new"), _post_data())
    assert response.status_code == 302, response.context["form"].errors
    assert rule_set_on(date(2026, 12, 31)).living_amount == Decimal("122.00")
    assert rule_set_on(date(2027, 1, 1)).living_amount == Decimal("130.00")
    assert AuditLog.objects.filter(action="ruleset_add").exists()


def test_two_versions_on_the_same_date_are_refused(client, make_user):
    client.force_login(make_user("admin1", "140400", role=ADMINISTRATOR))
    response = client.post(reverse("archive_rule_set_new"), _post_data(effective_from="2023-01-01"))
    assert response.status_code == 200
    assert "该生效日期已有规则版本" in response.content.decode()


def test_a_version_without_nursing_pairs_is_refused(client, make_user):
    client.force_login(make_user("admin1", "140400", role=ADMINISTRATOR))
    response = client.post(reverse("archive_rule_set_new"), _post_data(nursing_pairs=[]))
    assert response.status_code == 200
    assert RuleSetVersion.objects.count() == 1


def test_archivists_cannot_add_rule_sets(client, make_user):
    client.force_login(make_user("arch", "140425", role=ARCHIVIST))
    response = client.post(reverse("archive_rule_set_new"), _post_data())
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert RuleSetVersion.objects.count() == 1


def test_only_those_who_may_add_a_version_see_the_button(client, make_user):
    client.force_login(make_user("admin1", "140400", role=ADMINISTRATOR))
    assert "新增规则版本" in client.get(reverse("archive_rule_sets")).content.decode()
    client.force_login(make_user("arch", "140425", role=ARCHIVIST))
    assert "新增规则版本" not in client.get(reverse("archive_rule_sets")).content.decode()
