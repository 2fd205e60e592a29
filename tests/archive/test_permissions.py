"""Permission names (archive.permissions): each names a real permission, and the code spells
none of them as a string literal."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from archive import permissions, roles
from tests.helpers import source_matches

NAMES = {k: v for k, v in vars(permissions).items() if k.isupper() and isinstance(v, str)}

#: Files still spelling permissions, with the reason they wait.
NOT_YET = ("archive/document_views.py",)  # being cut by another change; its names are here


@pytest.mark.django_db
@pytest.mark.parametrize("constant", sorted(NAMES))
def test_every_permission_name_is_a_permission_of_its_app(constant: str) -> None:
    app_label, codename = permissions.split(NAMES[constant])
    assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()


def test_every_role_grants_only_named_permissions() -> None:
    granted = {name for names in roles.ROLE_PERMISSIONS.values() for name in names}
    assert granted <= set(NAMES.values())


def test_no_permission_is_spelled_outside_archive_permissions() -> None:
    spelled = "|".join(f'"{name}"' for name in NAMES.values()).replace(".", r"\.")
    assert source_matches(spelled, allowed=("archive/permissions.py", *NOT_YET)) == []
