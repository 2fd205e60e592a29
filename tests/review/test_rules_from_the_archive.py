"""The edge cases of docs/rules.md, fed from the database (the engine's own tests cover them on
plain data; these check that the archive reaches the engine as it should)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from archive.models import Certificate, Division, Enrolment, FamilyStatus, Person
from core.numbers import id_check_char
from tests.review.conftest import AS_OF

pytestmark = pytest.mark.django_db

COUNTY = "140425"


def _person(seq: int, *, category=4, grade=1, subsidies=("living", "nursing"), county=COUNTY):
    first17 = f"{county}19800101{seq:03d}"
    id_number = first17 + id_check_char(first17)
    person = Person.objects.create(
        name=f"测试{seq}",
        id_number=id_number,
        sex="男" if int(id_number[16]) % 2 else "女",
        birth_date=date(1980, 1, 1),
        hukou_code=f"{county}101",
        county_id=county,
    )
    Certificate.objects.create(
        person=person,
        number=f"{id_number}{category}{grade}",
        stem=f"{id_number}{category}{grade}",
        category=category,
        grade=grade,
        long_term=True,
    )
    FamilyStatus.objects.create(person=person, family_type="低保", start_date=date(2020, 1, 1))
    for subsidy in subsidies:
        Enrolment.objects.create(
            person=person,
            subsidy=subsidy,
            county_id=county,
            monthly_amount=Decimal("122"),
            start_month=date(2022, 1, 1),
        )
    return person


def _row(person, **values):
    return {"姓名": person.name, "公民身份号码": person.id_number, **values}


def _codes(run, person) -> set[str]:
    return set(run.findings.filter(id_number=person.id_number).values_list("code", flat=True))


def test_death_on_the_reference_date_counts_and_after_it_does_not(upload, run_comparison):
    on, after = _person(1), _person(2)
    death = upload(
        "death",
        [_row(on, 死亡日期=AS_OF.isoformat()), _row(after, 死亡日期="2026-12-01")],
        division=COUNTY,
    )
    run = run_comparison(COUNTY, [death])
    assert "DECEASED" in _codes(run, on)
    assert "DECEASED" not in _codes(run, after)


def test_a_move_within_the_county_is_not_a_finding_and_to_another_county_is(upload, run_comparison):
    within, away = _person(3), _person(4)
    moves = upload(
        "hukou_out",
        [
            _row(within, 迁出日期="2026-10-01", 迁入地区划代码="140425102"),
            _row(away, 迁出日期="2026-10-01", 迁入地区划代码="140426101"),
        ],
        division=COUNTY,
    )
    run = run_comparison(COUNTY, [moves])
    assert "HUKOU_MOVED" not in _codes(run, within)
    moved = run.findings.get(id_number=away.id_number, code="HUKOU_MOVED")
    assert moved.action == "STOP" and moved.subsidy == "both"


def test_assistance_ending_after_the_reference_date_is_still_active(upload, run_comparison):
    still, ended = _person(5, subsidies=("living",)), _person(6, subsidies=("living",))
    assistance = upload(
        "assistance",
        [
            _row(still, 保障类别="低保", 开始日期="2020-01-01", 终止日期="2026-12-31"),
            _row(ended, 保障类别="低保", 开始日期="2020-01-01", 终止日期="2026-11-29"),
        ],
        division=COUNTY,
    )
    run = run_comparison(COUNTY, [assistance])
    assert "LEFT_ASSISTANCE" not in _codes(run, still)
    left = run.findings.get(id_number=ended.id_number, code="LEFT_ASSISTANCE")
    assert left.event_date == date(2026, 11, 29) and left.subsidy == "living"


def test_grade_3_intellectual_keeps_nursing_and_grade_3_physical_does_not(run_comparison):
    intellectual = _person(7, category=5, grade=3, subsidies=("nursing",))
    physical = _person(8, category=4, grade=3, subsidies=("nursing",))
    run = run_comparison(COUNTY)
    assert "GRADE_INSUFFICIENT" not in _codes(run, intellectual)
    finding = run.findings.get(id_number=physical.id_number, code="GRADE_INSUFFICIENT")
    assert finding.subsidy == "nursing" and finding.action == "STOP"


def test_a_reassessed_certificate_in_the_base_is_a_data_fix_and_its_grade_is_used(
    upload, run_comparison
):
    person = _person(9, category=4, grade=1, subsidies=("nursing",))
    reassessed = f"{person.id_number}43"  # physical grade 3 after re-assessment
    base = upload(
        "cert_base",
        [
            _row(
                person,
                残疾人证号=reassessed,
                残疾类别="肢体",
                残疾等级="三级",
                证件状态="正常",
                有效期至="长期",
                户籍区划代码="140425101",
            )
        ],
        division=COUNTY,
    )
    run = run_comparison(COUNTY, [base])
    codes = _codes(run, person)
    assert {"CERT_CHANGED", "GRADE_INSUFFICIENT"} <= codes
    assert run.findings.get(id_number=person.id_number, code="CERT_CHANGED").action == "FIX_DATA"


def test_suspended_enrolment_is_still_checked(upload, run_comparison, django_user_model):
    from archive.people.enrolments import suspend

    person = _person(10, subsidies=("living",))
    user = django_user_model.objects.create_user("u")
    suspend(
        Enrolment.objects.get(person=person), month=date(2026, 9, 1), reason="IMPRISONED", user=user
    )
    death = upload("death", [_row(person, 死亡日期="2026-10-01")], division=COUNTY)
    run = run_comparison(COUNTY, [death])
    assert "DECEASED" in _codes(run, person)


def test_a_person_paid_by_another_county_is_not_eligible_not_enrolled(upload, run_comparison):
    # registered (户籍) in 140425 but paid by 140426: not 应享未享 in 140425
    person = _person(11, subsidies=())
    Enrolment.objects.create(person=person, subsidy="nursing", county_id="140426")
    base = upload(
        "cert_base",
        [
            _row(
                person,
                残疾人证号=f"{person.id_number}41",
                残疾类别="肢体",
                残疾等级="一级",
                证件状态="正常",
                有效期至="长期",
                户籍区划代码="140425101",
            )
        ],
        division=COUNTY,
    )
    run = run_comparison(COUNTY, [base])
    assert "ELIGIBLE_NOT_ENROLLED" not in _codes(run, person)
    assert Division.objects.filter(code="140426").exists()
