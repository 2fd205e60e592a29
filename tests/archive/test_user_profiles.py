"""Administrators assign divisions to users, within their own jurisdiction only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.models import UserProfile
from archive.roles import ADMINISTRATOR

pytestmark = pytest.mark.django_db


def test_city_administrator_assigns_a_county_to_a_user(client, make_user, django_user_model):
    client.force_login(make_user("cityadmin", "140400", role=ADMINISTRATOR))
    clerk = django_user_model.objects.create_user("clerk")
    response = client.post(reverse("user_profiles:add"), {"user": clerk.pk, "division": "140425"})
    assert response.status_code == 302
    assert UserProfile.objects.get(user=clerk).division_id == "140425"


def test_county_administrator_cannot_assign_the_city(client, make_user, django_user_model):
    client.force_login(make_user("countyadmin", "140425", role=ADMINISTRATOR))
    clerk = django_user_model.objects.create_user("clerk")
    response = client.post(reverse("user_profiles:add"), {"user": clerk.pk, "division": "140400"})
    assert response.status_code == 200
    assert not UserProfile.objects.filter(user=clerk).exists()


def test_county_administrator_does_not_see_other_counties_users(client, make_user):
    other = make_user("other", "140426")
    client.force_login(make_user("countyadmin", "140425", role=ADMINISTRATOR))
    body = client.get(reverse("user_profiles:index")).content.decode()
    assert "countyadmin" in body and "other" not in body
    edit = reverse("user_profiles:edit", args=[other.subsidy_profile.pk])
    assert client.get(edit).status_code == 404
