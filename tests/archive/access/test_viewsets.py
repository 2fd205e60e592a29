"""User management (用户管理) is scoped like records: an administrator sees and changes only
users of their own jurisdiction and rank, never makes a superuser, and every change is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR, ARCHIVIST, INSPECTOR
from archive.models import AuditLog, UserProfile

pytestmark = pytest.mark.django_db

PASSWORD = "Zk3-long-enough-pw"


def user_form(username: str, division: str, *groups: int, **extra) -> dict:
    return {
        "username": username,
        "email": f"{username}@example.gov.cn",
        "first_name": "张",
        "last_name": "三",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "division": division,
        "groups": list(groups),
        **extra,
    }


def group(name: str) -> int:
    return Group.objects.get_or_create(name=name)[0].pk


@pytest.fixture
def county_admin(client, make_user):
    admin = make_user("countyadmin", "140425", role=ADMINISTRATOR)
    client.force_login(admin)
    return admin


def test_county_administrator_lists_only_users_of_their_county(
    client, county_admin, make_user, django_user_model
):
    make_user("clerk", "140425")
    make_user("neighbour", "140426")
    make_user("cityclerk", "140400")
    django_user_model.objects.create_superuser("root", "", "x")
    body = client.get(reverse("wagtailusers_users:index")).content.decode()
    assert "clerk" in body
    assert "neighbour" not in body and "cityclerk" not in body and "root" not in body


def test_county_administrator_creates_a_user_in_their_county_and_it_is_audited(
    client, county_admin, django_user_model
):
    response = client.post(
        reverse("wagtailusers_users:add"), user_form("newclerk", "140425", group(ARCHIVIST))
    )
    assert response.status_code == 302
    user = django_user_model.objects.get(username="newclerk")
    assert user.subsidy_profile.division_id == "140425"
    assert list(user.groups.values_list("name", flat=True)) == [ARCHIVIST]
    entry = AuditLog.objects.get(action="user_create", object_id=str(user.pk))
    assert entry.username == "countyadmin"
    assert "档案管理员" in entry.detail and "140425" in entry.detail


def test_county_administrator_cannot_make_a_superuser(client, county_admin, django_user_model):
    client.post(
        reverse("wagtailusers_users:add"),
        user_form("sneaky", "140425", group(ARCHIVIST), is_superuser="on"),
    )
    user = django_user_model.objects.get(username="sneaky")
    assert not user.is_superuser and not user.is_staff


def test_county_administrator_cannot_create_a_user_without_a_division_or_in_the_city(
    client, county_admin, django_user_model
):
    for division in ("", "140400", "140426"):
        response = client.post(
            reverse("wagtailusers_users:add"), user_form("outsider", division, group(ARCHIVIST))
        )
        assert response.status_code == 200
    assert not django_user_model.objects.filter(username="outsider").exists()


def test_county_administrator_cannot_grant_a_group_above_the_roles(
    client, county_admin, django_user_model
):
    response = client.post(
        reverse("wagtailusers_users:add"), user_form("approver", "140425", group("审核发布"))
    )
    assert response.status_code == 200
    assert not django_user_model.objects.filter(username="approver").exists()


def test_county_administrator_cannot_edit_or_reset_the_password_of_a_superuser(
    client, county_admin, django_user_model
):
    root = django_user_model.objects.create_superuser("root", "", "root-pw-original")
    UserProfile.objects.create(user=root, division_id="140425")
    url = reverse("wagtailusers_users:edit", args=[root.pk])
    assert client.get(url).status_code == 404
    response = client.post(url, user_form("root", "140425", is_superuser="on"))
    assert response.status_code == 404
    root.refresh_from_db()
    assert root.check_password("root-pw-original")
    assert AuditLog.objects.filter(action="denied", object_id=str(root.pk)).exists()


def test_county_administrator_cannot_edit_users_of_another_county(client, county_admin, make_user):
    other = make_user("neighbour", "140426")
    url = reverse("wagtailusers_users:edit", args=[other.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, user_form("neighbour", "140425")).status_code == 404
    assert other.subsidy_profile.division_id == "140426"


def test_city_administrator_moves_a_clerk_and_resets_the_password_all_audited(client, make_user):
    client.force_login(make_user("cityadmin", "140400", role=ADMINISTRATOR))
    clerk = make_user("clerk", "140425")
    response = client.post(
        reverse("wagtailusers_users:edit", args=[clerk.pk]),
        user_form("clerk", "140426", group(INSPECTOR), is_active="on"),
    )
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.subsidy_profile.division_id == "140426"
    assert clerk.check_password(PASSWORD)
    change = AuditLog.objects.get(action="user_change", object_id=str(clerk.pk))
    assert "140425→140426" in change.detail
    assert "档案管理员→检查员" in change.detail
    assert AuditLog.objects.filter(action="password_reset", object_id=str(clerk.pk)).exists()


def test_bulk_role_assignment_refuses_users_out_of_reach(client, county_admin, make_user):
    other = make_user("neighbour", "140426")
    url = reverse("wagtail_bulk_action", args=["auth", "user", "assign_role"])
    client.post(f"{url}?id={other.pk}", {"role": group(ADMINISTRATOR)})
    assert not other.groups.filter(name=ADMINISTRATOR).exists()
    assert AuditLog.objects.filter(action="denied", object_id=str(other.pk)).exists()


def test_bulk_role_assignment_refuses_a_group_above_the_roles(client, county_admin, make_user):
    clerk = make_user("clerk", "140425")
    url = reverse("wagtail_bulk_action", args=["auth", "user", "assign_role"])
    client.post(f"{url}?id={clerk.pk}", {"role": group("审核发布")})
    assert not clerk.groups.filter(name="审核发布").exists()
    assert AuditLog.objects.filter(action="denied", object_id=str(clerk.pk)).exists()


def test_bulk_role_assignment_within_reach_is_audited(client, county_admin, make_user):
    clerk = make_user("clerk", "140425")
    url = reverse("wagtail_bulk_action", args=["auth", "user", "assign_role"])
    response = client.post(f"{url}?id={clerk.pk}", {"role": group(INSPECTOR)})
    assert response.status_code == 302
    assert clerk.groups.filter(name=INSPECTOR).exists()
    assert AuditLog.objects.filter(action="user_change", object_id=str(clerk.pk)).exists()
