"""Every enrolled person has a case file from the moment they are enrolled (archive.casefiles
.open_case_files), opened set-wise with its completeness; viewing a page never writes one."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.urls import reverse

from archive import casefiles
from archive.access.roles import ARCHIVIST, INSPECTOR
from archive.casefiles.checklist import facts_of
from archive.models import AuditLog, CaseFile, Enrolment, EnrolmentChange, Person
from tests.archive.conftest import COUNTY, OTHER_COUNTY, make_person

pytestmark = pytest.mark.django_db


def _pairs() -> set[tuple[int, str]]:
    return set(Enrolment.objects.values_list("person_id", "county_id"))


def test_every_enrolled_demo_person_has_a_case_file_per_enrolment_county(demo_people):
    opened = set(CaseFile.objects.values_list("person_id", "county_id"))
    assert _pairs() and _pairs() <= opened


def test_opening_is_idempotent_and_matches_the_completeness_a_refresh_computes(db):
    living = make_person(1, subsidies=("living",))
    both = make_person(2, subsidies=("living", "nursing"), guardian="李四")
    assert CaseFile.objects.count() == 2  # each opened by its first enrolment's post_save
    CaseFile.objects.all().delete()
    assert casefiles.open_case_files(_pairs()) == 2
    assert casefiles.open_case_files(_pairs()) == 0
    for person in (living, both):
        opened = CaseFile.objects.get(person=person)
        stored = (opened.completeness, opened.missing, opened.checklist_id)
        casefiles.refresh(opened)
        opened.refresh_from_db()
        assert stored == (opened.completeness, opened.missing, opened.checklist_id)
    assert "guardian_authorization" in CaseFile.objects.get(person=both).missing
    assert "guardian_authorization" not in CaseFile.objects.get(person=living).missing


def test_each_fact_opens_the_case_file_with_the_completeness_a_refresh_computes(db):
    plain = make_person(1, subsidies=("living",))
    guarded = make_person(2, subsidies=("living", "nursing"), guardian="李四")
    institution = make_person(3, subsidies=("nursing",))
    institution.enrolments.update(payee=Enrolment.Payee.INSTITUTION)
    long_enrolled = make_person(4, subsidies=("living",))
    long_enrolled.enrolments.update(start_month=date(2000, 1, 1))  # before any "this year"
    changed = make_person(5, subsidies=("living",))
    EnrolmentChange.objects.create(
        enrolment=changed.enrolments.get(), action="stop", to_status="stopped"
    )
    elsewhere = make_person(6, subsidies=("living",))
    Enrolment.objects.create(person=elsewhere, subsidy="nursing", county_id=OTHER_COUNTY)
    unenrolled = make_person(7, subsidies=())
    CaseFile.objects.all().delete()
    pairs = _pairs() | {(unenrolled.pk, unenrolled.county_id)}

    assert casefiles.open_case_files(pairs) == len(pairs) == 8
    facts = facts_of(pairs)
    assert facts[(guarded.pk, COUNTY)]["guardian"]
    assert facts[(guarded.pk, COUNTY)]["subsidies"] == {"living", "nursing"}
    assert facts[(institution.pk, COUNTY)]["institution"]
    assert facts[(long_enrolled.pk, COUNTY)]["enrolled_over_a_year"]
    assert facts[(changed.pk, COUNTY)]["changed"]
    assert facts[(elsewhere.pk, COUNTY)]["subsidies"] == {"living"}
    assert facts[(elsewhere.pk, OTHER_COUNTY)]["subsidies"] == {"nursing"}
    assert facts[(unenrolled.pk, COUNTY)]["subsidies"] == set()
    assert not any(facts[(plain.pk, COUNTY)][f] for f in ("guardian", "institution", "changed"))
    for opened in CaseFile.objects.all():
        stored = (opened.completeness, opened.missing, opened.checklist_id, opened.page_count)
        casefiles.refresh(opened)
        opened.refresh_from_db()
        assert stored == (opened.completeness, opened.missing, opened.checklist_id, 0)
    assert len(set(CaseFile.objects.values_list("missing", flat=True))) >= 5


def test_the_migration_opens_the_case_files_missing_for_existing_enrolments(db):
    make_person(3)
    CaseFile.objects.all().delete()
    migration = importlib.import_module("archive.migrations.0005_open_case_files")
    migration.open_missing(apps, None)
    assert set(CaseFile.objects.values_list("person_id", "county_id")) == _pairs()


def test_viewing_a_person_without_enrolment_writes_nothing_and_offers_to_open_one(
    client, make_user
):
    person = make_person(4, subsidies=())
    client.force_login(make_user("archivist", "140425", ARCHIVIST))
    url = reverse("archive_casefile_for_person", args=[person.pk])
    page = client.get(url)
    assert page.status_code == 200 and "尚未享受补贴，还没有补贴档案" in page.content.decode()
    assert not CaseFile.objects.filter(person=person).exists()
    opened = client.post(url)
    case_file = CaseFile.objects.get(person=person)
    assert opened.url == reverse("archive_casefile_detail", args=[case_file.pk])
    assert AuditLog.objects.filter(action="open_casefile", object_id=str(case_file.pk)).exists()


def test_an_inspector_may_look_but_not_open_a_case_file(client, make_user):
    person = make_person(5, subsidies=())
    client.force_login(make_user("inspector", "140425", INSPECTOR))
    url = reverse("archive_casefile_for_person", args=[person.pk])
    assert "为其建立补贴档案" not in client.get(url).content.decode()
    client.post(url)
    assert not CaseFile.objects.filter(person=person).exists()


def test_an_enrolled_persons_link_goes_straight_to_the_case_file_opened_at_enrolment(
    client, make_user, demo_people
):
    person = Person.objects.filter(enrolments__county_id="140425").first()
    case_file = CaseFile.objects.get(person=person, county_id="140425")
    count = CaseFile.objects.count()
    client.force_login(make_user("archivist", "140425", ARCHIVIST))
    answer = client.get(reverse("archive_casefile_for_person", args=[person.pk]))
    assert answer.url == reverse("archive_casefile_detail", args=[case_file.pk])
    assert CaseFile.objects.count() == count


def test_a_second_enrolment_updates_the_completeness_of_the_case_file_it_joins(db):
    person = make_person(6, subsidies=("living",))
    before = CaseFile.objects.get(person=person).missing
    Enrolment.objects.create(
        person=person, subsidy="nursing", county_id="140425", payee=Enrolment.Payee.INSTITUTION
    )
    after = CaseFile.objects.get(person=person)
    assert "institution_statement" in after.missing and "institution_statement" not in before
    stored = (after.completeness, after.missing)
    casefiles.refresh(after)
    after.refresh_from_db()
    assert stored == (after.completeness, after.missing)
