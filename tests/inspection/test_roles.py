"""The inspection permissions are declared once, in archive.access.roles, and reach the role groups."""

from __future__ import annotations

import pytest

from archive.access import permissions as perms
from archive.access.roles import ADMINISTRATOR, ARCHIVIST, EDITOR, INSPECTOR
from inspection.population import township_of
from tests.inspection.conftest import COUNTY

pytestmark = pytest.mark.django_db


def test_each_role_gets_its_inspection_permissions(make_user):
    inspector = make_user("i", COUNTY, role=INSPECTOR)
    archivist = make_user("a", COUNTY, role=ARCHIVIST)
    administrator = make_user("d", COUNTY, role=ADMINISTRATOR)
    editor = make_user("e", COUNTY, role=EDITOR)
    spot = (
        perms.VIEW_SPOT_CHECK,
        perms.ADD_SPOT_CHECK,
        perms.ASSIGN_SPOT_CHECK,
        perms.EXPORT_SPOT_CHECK,
        perms.RECORD_SPOT_CHECK_ITEM,
    )
    assert all(inspector.has_perm(p) for p in spot)
    assert all(administrator.has_perm(p) for p in spot)
    assert not any(archivist.has_perm(p) for p in spot)
    assert inspector.has_perm(perms.RECORD_REVIEW_TASK)
    assert not inspector.has_perm(perms.ADD_CAMPAIGN)
    assert archivist.has_perm(perms.ADD_CAMPAIGN)
    assert administrator.has_perm(perms.ADD_CAMPAIGN)
    assert not editor.has_perm(perms.VIEW_SPOT_CHECK)
    assert not editor.has_perm(perms.VIEW_CAMPAIGN)


def test_the_township_of_a_case_file_comes_from_the_hukou_code_within_its_county():
    assert township_of("140425100201", "140425") == "140425100"
    assert township_of("140425", "140425") == ""
    assert township_of("140426100201", "140425") == ""
