"""The workbench counts what waits in the user's jurisdiction only, shows each line only to
those who may open its list, and replaces Wagtail's page counts on the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from archive.access.roles import ARCHIVIST, INSPECTOR
from archive.models import CaseFile, Certificate, Document
from search.query import EXPIRING_DAYS
from workbench.items import items_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


def _by_label(items) -> dict[str, object]:
    return {item.label: item for item in items}


def _expiring_soon(county: str) -> int:
    """Sets one current certificate of the county to expire soon; returns how many do."""
    cert = Certificate.objects.filter(is_current=True, person__county_id=county).first()
    cert.expiry_date, cert.long_term = TODAY + timedelta(days=10), False
    cert.save(update_fields=["expiry_date", "long_term"])
    return Certificate.objects.filter(
        is_current=True,
        long_term=False,
        person__county_id=county,
        expiry_date__range=(TODAY, TODAY + timedelta(days=EXPIRING_DAYS)),
    ).count()


def test_an_archivist_sees_the_counts_of_their_own_county_only(make_user, demo_people):
    county = demo_people[0].county_id
    expected = _expiring_soon(county)
    _expiring_soon(next(p.county_id for p in demo_people if p.county_id != county))
    items = _by_label(items_for(make_user("archivist", county, role=ARCHIVIST), TODAY))
    assert items[f"{EXPIRING_DAYS}天内到期的残疾人证"].count == expected
    incomplete = CaseFile.objects.filter(county_id=county, completeness__lt=100).count()
    assert items["材料不齐全的档案"].count == incomplete
    inbox = Document.objects.filter(
        county_id=county, case_file__isnull=True, deleted_at__isnull=True
    ).count()
    assert items["收件箱中待归档的扫描件"].count == inbox


def test_a_city_user_counts_every_county_of_the_city(make_user, demo_people):
    items = _by_label(items_for(make_user("city", "140400", role=ARCHIVIST), TODAY))
    assert items["材料不齐全的档案"].count == CaseFile.objects.filter(completeness__lt=100).count()


def test_each_line_is_shown_only_with_the_permission_of_its_list(make_user, demo_people):
    county = demo_people[0].county_id
    inspector = {i.label for i in items_for(make_user("insp", county, role=INSPECTOR), TODAY)}
    assert "进行中的抽查" in inspector
    assert "收件箱中待归档的扫描件" not in inspector  # an inspector uploads nothing


def test_a_user_without_a_division_counts_nothing(make_user, demo_people):
    items = items_for(make_user("nobody", None), TODAY)
    assert items and all(item.count == 0 for item in items)


def test_the_annual_review_line_says_when_none_was_started_this_year(make_user, demo_people):
    items = _by_label(items_for(make_user("insp", "140425", role=INSPECTOR), TODAY))
    line = items["2026年度集中复核待复核"]
    assert (line.count, line.note) == (0, "本年度尚未发起")


def test_the_dashboard_shows_the_workbench_instead_of_wagtails_page_counts(
    client, make_user, demo_people
):
    client.force_login(make_user("archivist", demo_people[0].county_id))
    body = client.get(reverse("wagtailadmin_home")).content.decode()
    assert 'id="workbench"' in body and "材料不齐全的档案" in body
    assert reverse("archive_casefile_list") + "?completeness=incomplete" in body
    assert "site_summary" not in body and "Pages" not in body


def test_findings_waiting_for_verification_are_those_of_the_latest_run(make_user, demo_people):
    from archive.models import Division
    from review import services
    from review.models import Finding

    county = Division.objects.get(code="140425")
    for as_of in (TODAY - timedelta(days=31), TODAY):
        services.execute_run(services.create_run(division=county, as_of=as_of, uploads=()).pk)
    latest = Finding.objects.filter(run__as_of=TODAY, action__in=["STOP", "SUSPEND"]).count()
    assert latest > 0
    items = _by_label(items_for(make_user("clerk", "140425", role=ARCHIVIST), TODAY))
    line = items["待核查的比对发现（停发、暂停）"]
    assert (line.count, line.urgent) == (latest, True)
    assert line.url.endswith("?status=open")
    assert items["逾期未做的定期比对"].count == 0  # the county compared this month
