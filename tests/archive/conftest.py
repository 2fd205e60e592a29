"""Fixtures for the archive: users of each role in a division, and demo people."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from archive.management.commands.demo_data import load_demo
from archive.models import Person, UserProfile
from archive.roles import ADMINISTRATOR, ARCHIVIST, INSPECTOR


@pytest.fixture
def make_user(db, django_user_model):
    def make(
        username: str, division: str | None, role: str = ARCHIVIST, password: str = "pw-Secret-123"
    ):
        user = django_user_model.objects.create_user(username, password=password)
        user.groups.add(Group.objects.get(name=role))
        if division:
            UserProfile.objects.create(user=user, division_id=division)
        return user

    return make


@pytest.fixture
def demo_people(db) -> list[Person]:
    load_demo(60, seed=7)
    return list(Person.objects.order_by("id"))


@pytest.fixture
def roles():
    return {"archivist": ARCHIVIST, "inspector": INSPECTOR, "administrator": ADMINISTRATOR}
