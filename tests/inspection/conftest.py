"""Fixtures for spot checks and the annual review: people with enrolments and case files in
two townships of 平顺县 and one of 黎城县, and users of each role."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from archive import casefiles
from archive.access.roles import INSPECTOR
from archive.models import Division, Enrolment, Person, UserProfile
from core.numbers import id_check_char

COUNTY = "140425"  # 平顺县
OTHER_COUNTY = "140426"  # 黎城县
TOWN_A = "140425100"
TOWN_B = "140425101"
OTHER_TOWN = "140426100"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path: Path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def make_user(db, django_user_model):
    def make(
        username: str, division: str | None, role: str = INSPECTOR, password: str = "pw-Secret-123"
    ):
        user = django_user_model.objects.create_user(username, password=password)
        user.groups.add(Group.objects.get(name=role))
        if division:
            UserProfile.objects.create(user=user, division_id=division)
        return user

    return make


def make_id(serial: int, county: str = COUNTY) -> str:
    first17 = f"{county}19800101{serial:03d}"
    return first17 + id_check_char(first17)


def ensure_township(code: str) -> None:
    Division.objects.get_or_create(
        code=code,
        defaults={"name": f"测试镇{code[-3:]}", "level": "township", "parent_id": code[:6]},
    )


def make_person(
    serial: int,
    township: str = TOWN_A,
    name: str | None = None,
    subsidies: tuple[str, ...] = ("living",),
    status: str = Enrolment.Status.ACTIVE,
) -> Person:
    county = township[:6]
    ensure_township(township)
    person = Person.objects.create(
        name=name or f"测试{serial:03d}",
        id_number=make_id(serial, county),
        sex="男",
        birth_date=date(1980, 1, 1),
        hukou_code=f"{township}201",
        county_id=county,
    )
    for subsidy in subsidies:
        Enrolment.objects.create(
            person=person,
            subsidy=subsidy,
            county_id=county,
            status=status,
            start_month=date(2024, 1, 1),
        )
    casefiles.case_file_for(person, county)
    return person


@pytest.fixture
def people(db) -> list[Person]:
    """30 case files in 平顺县 (20 in town A, 10 in town B) and 5 in 黎城县."""
    made = [make_person(i, TOWN_A) for i in range(1, 21)]
    made += [make_person(i, TOWN_B, subsidies=("nursing",)) for i in range(21, 31)]
    made += [make_person(i, OTHER_TOWN) for i in range(31, 36)]
    return made
