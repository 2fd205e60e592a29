"""Staff names are shown family name first (李明), on our pages and Wagtail's (archive/access/user_names.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR
from archive.access.user_names import full_name


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        ("明", "李", "李明"),
        ("娜娜", "欧阳", "欧阳娜娜"),
        ("", "李", "李"),
        ("明", "", "明"),
        ("John", "Smith", "John Smith"),
        ("", "", ""),
    ],
)
def test_a_chinese_name_is_family_name_first_and_a_latin_one_keeps_its_order(first, last, shown):
    assert full_name(User(first_name=first, last_name=last)) == shown


def test_every_user_object_uses_the_family_name_first_rule():
    assert User(first_name="明", last_name="李").get_full_name() == "李明"


@pytest.mark.django_db
def test_the_wagtail_user_list_shows_family_name_first(client, make_user):
    admin = make_user("countyadmin", "140425", role=ADMINISTRATOR)
    client.force_login(admin)
    clerk = make_user("clerk", "140425")
    clerk.first_name, clerk.last_name = "小明", "王"
    clerk.save()
    body = client.get(reverse("wagtailusers_users:index")).content.decode()
    assert "王小明" in body
    assert "小明 王" not in body
