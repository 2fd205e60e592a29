"""`demo_data --remove` still works after spot checks and reviews of demo people."""

from __future__ import annotations

from datetime import date

import pytest

from archive.casefiles import case_file_for
from archive.management.commands.demo_data import load_demo, remove_demo
from archive.models import Division, Person
from inspection import campaigns, spot_checks
from inspection.models import ReviewCampaign, SpotCheck
from inspection.sampling import FIXED, SamplePlan

pytestmark = pytest.mark.django_db


def test_removing_demo_people_removes_their_spot_checks_and_review_tasks():
    load_demo(30, seed=3)
    for person in Person.objects.filter(enrolments__isnull=False).distinct():
        case_file_for(person)
    city = Division.objects.get(code="140400")
    spot_checks.create(division=city, plan=SamplePlan(FIXED, size=5), seed="d")
    campaigns.create(year=2026, division=city, due_date=date(2026, 12, 31))
    assert remove_demo() > 0
    assert not Person.objects.exists()
    assert not SpotCheck.objects.exists() and not ReviewCampaign.objects.exists()
