"""Permission names (archive.access.permissions): each names a real permission, and the code spells
none of them as a string literal."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission

from archive.access import permissions, roles
from tests.helpers import SOURCE_PACKAGES, source_matches

NAMES = {k: v for k, v in vars(permissions).items() if k.isupper() and isinstance(v, str)}


@pytest.mark.django_db
@pytest.mark.parametrize("constant", sorted(NAMES))
def test_every_permission_name_is_a_permission_of_its_app(constant: str) -> None:
    app_label, codename = permissions.split(NAMES[constant])
    assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()


def test_every_permission_is_named_once() -> None:
    assert sorted(NAMES.values()) == sorted(set(NAMES.values()))


def test_every_role_grants_only_named_permissions() -> None:
    granted = {name for names in roles.ROLE_PERMISSIONS.values() for name in names}
    assert granted <= set(NAMES.values())


@pytest.mark.django_db
def test_no_permission_is_spelled_outside_archive_permissions() -> None:
    """Every permission Django has, named in archive.access.permissions or not yet: a check of one
    that has no name there fails too, so the name is added rather than the string spelled."""
    every = Permission.objects.values_list("content_type__app_label", "codename")
    spelled = "|".join(re.escape(f"{app_label}.{codename}") for app_label, codename in every)
    found = source_matches(rf"[\"']({spelled})[\"']", allowed=("archive/access/permissions.py",))
    assert found == []


def test_no_template_checks_a_permission_by_its_name() -> None:
    """Templates are told what the user may do by their view (``can_…``), whose check uses
    the name from archive.access.permissions; ``perms.app.codename`` would spell it again."""
    templates = (*SOURCE_PACKAGES, "templates")
    assert source_matches(r"\bperms\.", files="*.html", packages=templates) == []
