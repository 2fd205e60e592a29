"""Fixtures for the archive: users of each role in a division, demo people, and for case
files and scanned documents a private media root per test, people with enrolments in a
county, and uploading helpers. The roles' permissions are archive.access.roles', synced on migrate."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from archive import casefiles
from archive.access.roles import ADMINISTRATOR, ARCHIVIST, INSPECTOR
from archive.documents import ingest
from archive.management.commands.demo_data import load_demo
from archive.models import Division, Enrolment, Person, UserProfile
from core.numbers import id_check_char

COUNTY = "140425"  # 平顺县
OTHER_COUNTY = "140426"  # 黎城县


@pytest.fixture
def private_media(settings, tmp_path: Path) -> Path:
    """A private media root of the test's own (autouse in tests/archive/documents; modules that
    store scans ask for it with ``pytestmark``)."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def make_id(serial: int, county: str = COUNTY, birth: str = "19800101") -> str:
    first17 = f"{county}{birth}{serial:03d}"
    return first17 + id_check_char(first17)


def make_person(
    serial: int = 1,
    county: str = COUNTY,
    name: str = "张三",
    subsidies: tuple[str, ...] = ("living", "nursing"),
    guardian: str = "",
) -> Person:
    person = Person.objects.create(
        name=name,
        id_number=make_id(serial, county),
        sex="男" if serial % 2 else "女",
        birth_date=date(1980, 1, 1),
        hukou_code=county,
        county=Division.objects.get(code=county),
        guardian=guardian,
    )
    for subsidy in subsidies:
        Enrolment.objects.create(
            person=person,
            subsidy=subsidy,
            county_id=county,
            # Enrolled this month, whatever today is: no annual review record is due yet, so
            # completeness depends only on the documents a test uploads.
            start_month=date.today().replace(day=1),
        )
    return person


@pytest.fixture
def person(db) -> Person:
    return make_person()


@pytest.fixture
def case_file(person):
    return casefiles.case_file_for(person)


@pytest.fixture
def archivist(make_user):
    return make_user("archivist", COUNTY)


@pytest.fixture
def other_archivist(make_user):
    return make_user("other", OTHER_COUNTY)


@pytest.fixture
def upload():
    """Files bytes through the real ingest path; returns the outcomes."""

    def do(data: bytes, name: str, target, user, request=None):
        return ingest.ingest_stream(io.BytesIO(data), name, target, user, request)

    return do


def stored_files(root: Path) -> list[Path]:
    """Everything left on disk under originals/, derived/ and tmp/."""
    return sorted(p for p in root.rglob("*") if p.is_file())


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
