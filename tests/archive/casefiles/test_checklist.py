"""The checklist is data with history: an administrator saves a new version, completeness of
every case file follows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive import casefiles
from archive.access.roles import ADMINISTRATOR
from archive.models import AuditLog, ChecklistVersion
from tests.archive.conftest import COUNTY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


def test_default_checklist_comes_from_the_document_types():
    from core.doctypes import DOCUMENT_TYPES

    checklist = casefiles.current_checklist()
    assert [item["code"] for item in checklist.items] == [t.code for t in DOCUMENT_TYPES]
    assert casefiles.current_checklist().pk == checklist.pk  # made once


def test_administrator_saves_a_new_version_and_completeness_follows(
    client, make_user, case_file, monkeypatch
):
    from archive import tasks

    monkeypatch.setattr(tasks.refresh_completeness, "delay", lambda: casefiles.refresh_all())
    old = casefiles.current_checklist()
    assert ",bank_card," in case_file.missing
    admin = make_user("admin", COUNTY, role=ADMINISTRATOR)
    client.force_login(admin)
    response = client.post(
        reverse("archive_checklist"), {"required_bank_card": "", "note": "晋民发〔2026〕X号"}
    )
    assert response.status_code == 302
    new = casefiles.current_checklist()
    assert new.pk != old.pk and new.created_by == admin and new.note == "晋民发〔2026〕X号"
    assert ChecklistVersion.objects.count() == 2  # the old version is kept
    case_file.refresh_from_db()
    assert ",bank_card," not in case_file.missing and case_file.checklist_id == new.pk
    assert AuditLog.objects.filter(action="change_checklist", user=admin).exists()
    page = client.get(reverse("archive_checklist")).content.decode()
    assert "晋民发〔2026〕X号" in page


def test_the_checklist_names_materials_and_periods_not_their_codes(client, make_user):
    client.force_login(make_user("admin", COUNTY, role=ADMINISTRATOR))
    page = client.get(reverse("archive_checklist")).content.decode()
    assert "<td>残疾人证（复印件）</td>" in page and "<td>10年</td>" in page
    assert ">disability_certificate<" not in page and "<td>D10</td>" not in page


def test_archivist_cannot_change_the_checklist(client, archivist):
    client.force_login(archivist)
    response = client.post(reverse("archive_checklist"), {"required_id_card": ""})
    assert response.status_code in (302, 403)
    assert ChecklistVersion.objects.count() <= 1
