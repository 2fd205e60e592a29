"""Demo data is deterministic, consistent with the rules, marked, and removable."""

from __future__ import annotations

from datetime import date

import pytest

from archive.demo import PLANTED, generate
from archive.management.commands.demo_data import load_demo, remove_demo
from archive.models import DataFlag, Person
from core.eligibility import SHANXI_2023, Facts, decide
from core.numbers import parse_id

pytestmark = pytest.mark.django_db


def test_same_seed_gives_the_same_people():
    assert [p.id_number for p in generate(50, seed=3)] == [
        p.id_number for p in generate(50, seed=3)
    ]


def test_every_demo_id_number_is_valid_and_agrees_with_sex():
    for person in generate(200, seed=5):
        parsed = parse_id(person.id_number)
        assert (parsed.sex, parsed.birth_date) == (person.sex, person.birth_date)


def test_some_demo_people_carry_pre_2018_prefixes():
    assert any(p.id_number[:6] != p.county for p in generate(300))


def test_unplanted_enrolments_follow_the_rules():
    for person in generate(200, seed=9)[len(PLANTED) :]:
        facts = Facts(
            county_code=person.county,
            category=person.category,
            grade=person.grade,
            cert_status="正常",
            cert_expiry=person.expiry,
            family_type=person.family_type,
        )
        for enrolment in person.enrolments:
            assert decide(enrolment.subsidy, facts, date(2026, 11, 1), SHANXI_2023).eligible


def test_demo_load_is_idempotent_and_marked():
    assert load_demo(30, seed=1) == 30
    assert load_demo(30, seed=1) == 0
    assert Person.objects.filter(is_demo=True).count() == 30


def test_demo_data_is_removable_in_one_command():
    load_demo(30, seed=1)
    assert remove_demo() == 30
    assert not Person.objects.exists()
    assert not DataFlag.objects.exists()


def test_demo_people_with_planted_contradictions_carry_the_import_flags():
    load_demo(30, seed=1)
    flagged = {flag.code for flag in DataFlag.objects.open()}
    assert flagged == {"CERT_CODE_MISMATCH", "LIVING_NOT_QUALIFIED", "NURSING_NOT_QUALIFIED"}
    nursing = DataFlag.objects.get(code="NURSING_NOT_QUALIFIED")
    assert nursing.enrolment is not None and nursing.enrolment.subsidy == "nursing"


def test_demo_scans_are_filed_to_case_files_with_archival_codes():
    from archive.management.commands.demo_data import file_demo_scans
    from archive.models import Document

    load_demo(10, seed=1)
    pages = file_demo_scans(2, seed=1)
    assert pages == 6
    codes = list(Document.objects.values_list("archival_code", flat=True))
    assert len(codes) == 6 and all(code.startswith("J014-MZ·") for code in codes)
    assert file_demo_scans(2, seed=1) == 6  # the next two people; the first two are skipped
    assert remove_demo() == 10
    assert not Document.objects.exists()
