"""Every admin view of the archive shows only the user's jurisdiction; a guessed URL of
another county's record is a 404 that is written to the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive import access
from archive.access.roles import ADMINISTRATOR, INSPECTOR
from archive.models import AuditLog, Division, Enrolment, Person

pytestmark = pytest.mark.django_db


def _other_county_person(people: list[Person], county: str) -> Person:
    return next(p for p in people if p.county_id != county)


def test_county_user_lists_only_people_of_their_county(client, make_user, demo_people):
    county = demo_people[0].county_id
    client.force_login(make_user("county", county))
    response = client.get(reverse("archive_person_list"))
    assert response.status_code == 200
    listed = {p.pk for p in response.context["page"]}
    assert (
        listed == set(Person.objects.filter(county_id=county).values_list("pk", flat=True))
        or len(listed) == 50
    )


def test_list_masks_id_numbers(client, make_user, demo_people):
    person = demo_people[0]
    client.force_login(make_user("county", person.county_id))
    body = client.get(reverse("archive_person_list"), {"q": person.name}).content.decode()
    assert person.masked_id in body
    assert person.id_number not in body


def test_record_page_shows_full_id_and_is_audited(client, make_user, demo_people):
    person = demo_people[0]
    user = make_user("county", person.county_id)
    client.force_login(user)
    body = client.get(reverse("archive_person_detail", args=[person.pk])).content.decode()
    assert person.id_number in body
    entry = AuditLog.objects.get(action="view", object_id=str(person.pk))
    assert entry.user == user


def test_guessed_url_of_another_county_is_404_and_logged(client, make_user, demo_people):
    county = demo_people[0].county_id
    stranger = _other_county_person(demo_people, county)
    user = make_user("county", county)
    client.force_login(user)
    assert client.get(reverse("archive_person_detail", args=[stranger.pk])).status_code == 404
    assert AuditLog.objects.filter(action="denied", object_id=str(stranger.pk), user=user).exists()


def test_enrolment_action_on_another_county_is_404(client, make_user, demo_people):
    county = demo_people[0].county_id
    enrolment = Enrolment.objects.exclude(county_id=county).first()
    client.force_login(make_user("county", county))
    url = reverse("archive_enrolment_action", args=[enrolment.pk, "stop"])
    assert client.post(url, {"month": "2026-12", "reason": "DECEASED"}).status_code == 404
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE


def test_city_user_sees_every_county_of_the_city(client, make_user, demo_people):
    client.force_login(make_user("city", "140400"))
    response = client.get(reverse("archive_person_list"))
    assert response.context["total"] == len(demo_people)


def test_user_without_division_sees_nothing(client, make_user, demo_people):
    client.force_login(make_user("nobody", None))
    assert client.get(reverse("archive_person_list")).context["total"] == 0


def test_scope_of_pre_2018_prefix_follows_the_current_county(make_user, demo_people):
    user = make_user("luzhou", "140403")
    scoped = access.scope(Person.objects.all(), user, "county")
    assert all(p.county_id == "140403" for p in scoped)
    assert all(
        p.county_id == "140403" for p in Person.objects.filter(id_number__startswith="140402")
    )


def test_inspector_cannot_change_enrolments(client, make_user, demo_people):
    enrolment = Enrolment.objects.first()
    client.force_login(make_user("inspector", enrolment.county_id, role=INSPECTOR))
    url = reverse("archive_enrolment_action", args=[enrolment.pk, "stop"])
    response = client.post(url, {"month": "2026-12", "reason": "DECEASED"})
    # Wagtail turns a permission denial into a redirect to the dashboard with a message.
    assert (response.status_code, response.url) == (302, reverse("wagtailadmin_home"))
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE


def test_audit_log_is_for_administrators_only(client, make_user, demo_people):
    client.force_login(make_user("archivist", "140425"))
    denied = client.get(reverse("archive_audit_log"))
    assert (denied.status_code, denied.url) == (302, reverse("wagtailadmin_home"))
    client.force_login(make_user("admin1", "140400", role=ADMINISTRATOR))
    assert client.get(reverse("archive_audit_log")).status_code == 200


def test_audit_log_exports_csv_and_records_the_export(client, make_user, demo_people):
    admin = make_user("admin1", "140400", role=ADMINISTRATOR)
    client.force_login(admin)
    client.get(reverse("archive_person_detail", args=[demo_people[0].pk]))
    response = client.get(reverse("archive_audit_log"), {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("时间,用户,操作")
    assert "查看档案" in body  # the label, not the code
    assert AuditLog.objects.filter(action="export", user=admin).exists()


def test_a_county_user_filters_by_their_townships_by_name_and_is_offered_no_county(
    client, make_user, demo_people
):
    person = next(p for p in demo_people if len(p.hukou_code) >= 9)
    county, township = person.county_id, person.hukou_code[:9]
    client.force_login(make_user("county", county))
    response = client.get(reverse("archive_person_list"))
    form = response.context["form"]
    assert "county" not in form.fields
    offered = {d.code for d in form.fields["township"].queryset}
    assert township in offered and all(code.startswith(county) for code in offered)
    name = Division.objects.get(code=township).name
    body = response.content.decode()
    assert f'<option value="{township}">{name}</option>' in body
    listed = client.get(reverse("archive_person_list"), {"township": township}).context["page"]
    assert person.pk in {p.pk for p in listed}
    assert all(p.hukou_code.startswith(township) for p in listed)
    assert all(p.township_name == name for p in listed)  # the column names the township


def test_a_city_user_is_offered_only_the_citys_counties_then_that_countys_townships(
    client, make_user, demo_people
):
    client.force_login(make_user("city", "140400"))
    form = client.get(reverse("archive_person_list")).context["form"]
    counties = {d.code for d in form.fields["county"].queryset}
    assert counties and all(code.startswith("1404") for code in counties)
    assert "township" not in form.fields  # a township is chosen within a chosen county
    county = demo_people[0].county_id
    form = client.get(reverse("archive_person_list"), {"county": county}).context["form"]
    assert all(d.code.startswith(county) for d in form.fields["township"].queryset)


def test_a_township_of_another_county_is_not_accepted_as_a_filter(client, make_user, demo_people):
    mine = demo_people[0].county_id
    other = next(p for p in demo_people if p.county_id != mine and len(p.hukou_code) >= 9)
    client.force_login(make_user("county", mine))
    response = client.get(reverse("archive_person_list"), {"township": other.hukou_code[:9]})
    assert response.context["form"].errors["township"]
    assert other.pk not in {p.pk for p in response.context["page"]}


def test_the_person_and_case_file_pages_name_the_hukou_place(client, make_user, demo_people):
    person = next(p for p in demo_people if len(p.hukou_code) >= 9)
    township = Division.objects.get(code=person.hukou_code[:9]).name
    assert person.hukou_place.startswith(person.county.name + township)
    client.force_login(make_user("county", person.county_id))
    page = client.get(reverse("archive_person_detail", args=[person.pk])).content.decode()
    assert f"{person.hukou_place}（{person.hukou_code}）" in page


@pytest.mark.parametrize("url", ["archive_person_list", "archive_casefile_list", "search_records"])
def test_a_user_without_a_division_is_told_why_the_lists_are_empty(client, make_user, url):
    client.force_login(make_user("nobody", None))
    body = client.get(reverse(url)).content.decode()
    assert "您的账号尚未分配所属区划" in body


def test_a_user_with_a_division_gets_no_such_notice(client, make_user, demo_people):
    client.force_login(make_user("county", demo_people[0].county_id))
    assert "尚未分配所属区划" not in client.get(reverse("archive_person_list")).content.decode()
