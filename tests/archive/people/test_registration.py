"""Entering and changing a person (archive.people.registration, archive.people.person_views): the roster's rules,
dated certificate and family-status changes, history, audit, permissions."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils.timezone import localtime

from archive.access.roles import INSPECTOR
from archive.models import AuditLog, Certificate, FamilyStatus, ImportRecord, Person
from archive.people import registration
from core.numbers import id_check_char

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 28)
#: A day after the family status the roster opened on TODAY.
LATER = date(2026, 12, 10)


def make_id(county: str = "140425", seq: int = 123) -> str:
    first17 = f"{county}19800101{seq:03d}"
    return first17 + id_check_char(first17)


def cells(**extra) -> dict[str, str]:
    return {
        "姓名": "李明", "公民身份号码": make_id(), "户籍区划代码": "140425100201",
        "家庭类别": "低保", "享受生活补贴": "是", "享受护理补贴": "否",
        "联系电话": "13800000000", **extra,
    }  # fmt: skip


def cert_number(grade: int = 2) -> str:
    return f"{make_id()}4{grade}"


@pytest.fixture
def clerk(make_user):
    return make_user("clerk", "140425")


@pytest.fixture
def person(clerk) -> Person:
    return registration.create_person(
        cells(**{"残疾人证号": cert_number(), "残疾类别": "4", "残疾等级": "2"}),
        user=clerk,
        request=None,
        today=TODAY,
    )


def test_creating_a_person_writes_enrolment_case_file_and_audit(person):
    assert person.current_family_status.family_type == "低保"
    assert person.enrolments.get().subsidy == "living"
    assert person.case_files.count() == 1
    assert AuditLog.objects.filter(action="person_create", object_id=str(person.pk)).exists()
    assert ImportRecord.objects.get().filename == registration.FORM_SOURCE


def test_a_wrong_id_check_character_is_rejected(clerk):
    bad = make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")
    with pytest.raises(registration.PersonError, match="公民身份号码"):
        registration.create_person(
            cells(**{"公民身份号码": bad}), user=clerk, request=None, today=TODAY
        )
    assert not Person.objects.exists()


def test_a_division_outside_the_jurisdiction_is_rejected(clerk):
    with pytest.raises(registration.PersonError, match="不在您的辖区内"):
        registration.create_person(
            cells(**{"公民身份号码": make_id("140426"), "户籍区划代码": "140426100201"}),
            user=clerk,
            request=None,
            today=TODAY,
        )


def test_a_person_already_registered_is_not_created_twice(person, clerk):
    with pytest.raises(registration.PersonError, match="已登记"):
        registration.create_person(cells(), user=clerk, request=None, today=TODAY)


def test_editing_the_phone_updates_in_place_and_audits_what_changed(person, clerk):
    changed = registration.edit_contact(
        person, {"联系电话": "13900000000"}, user=clerk, request=None, today=TODAY
    )
    assert changed == ["联系电话：13800000000→13900000000"]
    assert Person.objects.get(pk=person.pk).phone == "13900000000"
    entry = AuditLog.objects.get(action="person_change")
    assert "13900000000" in entry.detail


def test_an_overlong_phone_is_rejected(person, clerk):
    with pytest.raises(registration.PersonError, match="最多32个字"):
        registration.edit_contact(
            person, {"联系电话": "1" * 40}, user=clerk, request=None, today=TODAY
        )


def test_a_new_grade_closes_the_current_certificate_and_keeps_it(person, clerk):
    new = registration.change_certificate(
        person, registration.CERT_REGRADE, date(2026, 10, 1), user=clerk, request=None, today=TODAY,
        number=cert_number(1), category="4", grade="1", expiry="长期",
    )  # fmt: skip
    old = Certificate.objects.get(person=person, is_current=False)
    assert old.grade == 2 and localtime(old.superseded_at).date() == date(2026, 10, 1)
    assert new.grade == 1 and new.long_term and new.issue_date == date(2026, 10, 1)
    assert AuditLog.objects.filter(action="certificate_change").count() == 1


def test_cancelling_a_certificate_opens_a_cancelled_row(person, clerk):
    registration.change_certificate(
        person, registration.CERT_CANCEL, date(2026, 11, 1), user=clerk, request=None, today=TODAY
    )
    assert Person.objects.get(pk=person.pk).current_certificate.status == "注销"
    with pytest.raises(registration.PersonError, match="已注销"):
        registration.change_certificate(
            Person.objects.get(pk=person.pk), registration.CERT_RENEW, date(2026, 11, 2),
            user=clerk, request=None, today=TODAY, expiry="2030-01-01",
        )  # fmt: skip


def test_a_renewal_without_an_expiry_is_rejected(person, clerk):
    with pytest.raises(registration.PersonError, match="有效期"):
        registration.change_certificate(
            person,
            registration.CERT_RENEW,
            date(2026, 11, 1),
            user=clerk,
            request=None,
            today=TODAY,
        )


def test_a_malformed_new_certificate_number_is_rejected(person, clerk):
    with pytest.raises(registration.PersonError, match="残疾人证号"):
        registration.change_certificate(
            person, registration.CERT_REGRADE, date(2026, 11, 1), user=clerk, request=None,
            today=TODAY, number="123", category="4", grade="1",
        )  # fmt: skip


def test_a_future_effective_date_is_rejected(person, clerk):
    with pytest.raises(registration.PersonError, match="不能晚于今天"):
        registration.change_family_status(
            person, "一般", date(2026, 12, 1), user=clerk, request=None, today=TODAY
        )


def test_leaving_dibao_closes_the_open_status_on_the_effective_date(person, clerk):
    registration.change_family_status(
        person, "一般", date(2026, 12, 5), user=clerk, request=None, today=LATER
    )
    closed = FamilyStatus.objects.get(person=person, end_date__isnull=False)
    assert closed.family_type == "低保" and closed.end_date == date(2026, 12, 5)
    assert Person.objects.get(pk=person.pk).current_family_status.family_type == "一般"


def test_an_effective_date_before_the_open_status_is_rejected(person, clerk):
    with pytest.raises(registration.PersonError, match="不能早于"):
        registration.change_family_status(
            person, "一般", date(2020, 1, 1), user=clerk, request=None, today=TODAY
        )


def test_the_same_family_type_again_is_rejected(person, clerk):
    with pytest.raises(registration.PersonError, match="无需变更"):
        registration.change_family_status(
            person, "低保", date(2026, 12, 5), user=clerk, request=None, today=LATER
        )


def test_an_inspector_sees_the_record_but_cannot_edit(person, client, make_user):
    client.force_login(make_user("inspector", "140425", role=INSPECTOR))
    body = client.get(reverse("archive_person_detail", args=[person.pk])).content.decode()
    assert "修改基本信息" not in body and "残疾人证变更" not in body
    # Wagtail turns PermissionDenied into a redirect to the dashboard with a message.
    assert client.get(reverse("archive_person_edit", args=[person.pk])).status_code in (302, 403)
    assert client.get(reverse("archive_person_new")).status_code in (302, 403)
    response = client.post(
        reverse("archive_family_change", args=[person.pk]),
        {"family_type": "一般", "effective": "2026-11-20"},
    )
    assert response.status_code in (302, 403)
    assert not FamilyStatus.objects.filter(family_type="一般").exists()


def test_another_countys_person_is_a_404_for_the_edit_page(person, client, make_user):
    client.force_login(make_user("neighbour", "140426"))
    assert client.get(reverse("archive_person_edit", args=[person.pk])).status_code == 404


def test_the_record_shows_township_names_and_the_change_history(person, client, clerk):
    registration.edit_contact(
        person, {"联系电话": "13900000000"}, user=clerk, request=None, today=TODAY
    )
    client.force_login(clerk)
    body = client.get(reverse("archive_person_detail", args=[person.pk])).content.decode()
    assert "信息变更记录" in body and "修改残疾人信息" in body and "登记残疾人" in body
    assert "平顺县" in body and "（140425100201）" in body


def test_the_list_offers_registering_only_to_those_who_may(person, client, clerk, make_user):
    client.force_login(clerk)
    new = reverse("archive_person_new")
    assert new in client.get(reverse("archive_person_list")).content.decode()
    client.force_login(make_user("inspector", "140425", role=INSPECTOR))
    assert new not in client.get(reverse("archive_person_list")).content.decode()
