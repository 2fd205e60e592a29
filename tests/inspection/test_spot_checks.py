"""Spot checks on the database: the population, the stored draw, jurisdiction, results."""

from __future__ import annotations

import hashlib
import io

import pytest

from archive.documents import ingest
from archive.models import AuditLog, CaseFile, Division, Document
from inspection import population, sampling, spot_checks
from inspection.models import SpotCheck, SpotCheckItem
from inspection.sampling import FIXED, PERCENT, SamplePlan
from tests.archive.documents import samples
from tests.inspection.conftest import COUNTY, OTHER_COUNTY, TOWN_A, TOWN_B, make_person

pytestmark = pytest.mark.django_db

YES = {field: True for field, _ in SpotCheckItem.CHECKLIST}


def evidence_file(data: bytes, name: str) -> ingest.Received:
    """An uploaded file received for `record_result`, from bytes."""
    return ingest.receive(io.BytesIO(data), name)


def county() -> Division:
    return Division.objects.get(code=COUNTY)


def keys_of(spot_check: SpotCheck) -> list[str]:
    return list(spot_check.items.order_by("position").values_list("case_key", flat=True))


def test_population_is_the_case_files_of_the_division_with_stable_keys(people):
    members = population.select("", county())
    assert len(members) == 30
    key, township, pk = sorted(members)[0]
    cf = CaseFile.objects.get(pk=pk)
    assert key == f"{cf.person.id_number}:{COUNTY}" and township in (TOWN_A, TOWN_B)


def test_population_filters_by_subsidy_township_and_a_name_or_number_substring(people):
    assert len(population.select("", county(), {"subsidy": "nursing"})) == 10
    assert len(population.select("", county(), {"township": TOWN_A})) == 20
    assert len(population.select("测试00", county())) == 9
    assert len(population.select(people[0].id_number[-5:], county())) == 1


def test_population_rejects_a_filter_value_that_is_not_allowed():
    with pytest.raises(population.FilterError, match="补贴类别"):
        population.validate_filters({"subsidy": "gold"})
    with pytest.raises(population.FilterError, match="9 位"):
        population.validate_filters({"township": "1404"})


def test_a_spot_check_stores_seed_population_hash_and_the_drawn_items(people):
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=5), seed="abc")
    members = population.select("", county())
    expected = sampling.draw([(k, t) for k, t, _ in members], 5, "abc")
    assert check.population == 30 and check.seed == "abc"
    assert (
        check.population_hash
        == hashlib.sha256("\n".join(sorted(k for k, _, _ in members)).encode()).hexdigest()
    )
    assert keys_of(check) == [d.key for d in expected.items]
    assert AuditLog.objects.filter(action="spot_check_create", object_id=str(check.pk)).exists()


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(people):
    a = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=8), seed="s1")
    b = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=8), seed="s1")
    c = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=8), seed="s2")
    assert keys_of(a) == keys_of(b) and keys_of(a) != keys_of(c)
    assert a.population_hash == c.population_hash


def test_the_sample_does_not_depend_on_the_order_records_were_inserted(db):
    serials = list(range(1, 16))
    for serial in serials:
        make_person(serial, TOWN_A if serial % 2 else TOWN_B)
    first = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=4), seed="o")
    keys, digest = keys_of(first), first.population_hash
    SpotCheckItem.objects.all().delete()
    SpotCheck.objects.all().delete()
    for cf in CaseFile.objects.all():
        cf.delete()
    from archive.models import Enrolment, Person

    Enrolment.objects.all().delete()
    Person.objects.all().delete()
    for serial in reversed(serials):  # other pks, other physical order
        make_person(serial, TOWN_A if serial % 2 else TOWN_B)
    second = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=4), seed="o")
    assert keys_of(second) == keys and second.population_hash == digest


def test_stratified_by_township_in_proportion_with_at_least_one_each(people):
    check = spot_checks.create(
        division=county(), plan=SamplePlan(PERCENT, percent=10), stratify="township", seed="t"
    )
    per = {}
    for item in check.items.all():
        per[item.township_code] = per.get(item.township_code, 0) + 1
    assert per == {TOWN_A: 2, TOWN_B: 1} == check.allocation
    assert "向上取整" in check.explanation


def test_no_case_from_another_county_is_ever_drawn(people, make_user):
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=100), seed="x")
    assert check.items.count() == 30
    assert not check.items.filter(case_file__county_id=OTHER_COUNTY).exists()
    city = Division.objects.get(code="140400")
    inspector = make_user("pingshun", COUNTY)
    scoped = spot_checks.create(
        division=city, plan=SamplePlan(FIXED, size=100), seed="x", user=inspector
    )
    assert scoped.population == 30
    assert set(scoped.items.values_list("case_file__county_id", flat=True)) == {COUNTY}


def test_an_empty_population_is_rejected_and_nothing_is_stored(people):
    with pytest.raises(spot_checks.SpotCheckError, match="总体为空"):
        spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=3), query="不存在的人")
    assert not SpotCheck.objects.exists()


def test_without_a_seed_one_is_generated_and_recorded(people):
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=3))
    assert len(check.seed) == 16


def test_the_json_of_a_spot_check_is_the_cli_shape(people):
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=2), seed="j")
    data = spot_checks.as_json(check)
    assert set(data) == {"id", "seed", "population", "population_hash", "items"}
    assert all(set(i) == {"id_number", "township"} for i in data["items"])
    assert data["items"][0]["id_number"] == keys_of(check)[0].split(":")[0]


def test_recording_a_result_needs_every_answer_and_a_note_when_failed(people, make_user):
    inspector = make_user("insp", COUNTY)
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=2), seed="r")
    item, other = check.items.order_by("position")
    with pytest.raises(spot_checks.SpotCheckError, match="检查清单"):
        spot_checks.record_result(item, answers={}, result="pass", notes="", user=inspector)
    with pytest.raises(spot_checks.SpotCheckError, match="检查说明"):
        spot_checks.record_result(item, answers=YES, result="fail", notes="", user=inspector)
    no = {**YES, "still_eligible": False}
    with pytest.raises(spot_checks.SpotCheckError, match="不能为合格"):
        spot_checks.record_result(item, answers=no, result="pass", notes="", user=inspector)
    spot_checks.record_result(item, answers=no, result="fail", notes="已迁出", user=inspector)
    item.refresh_from_db()
    assert item.result == "fail" and item.still_eligible is False and item.recorded_by == inspector
    check.refresh_from_db()
    assert check.status == SpotCheck.Status.OPEN
    spot_checks.record_result(other, answers=YES, result="pass", notes="", user=inspector)
    check.refresh_from_db()
    assert check.status == SpotCheck.Status.DONE
    progress = spot_checks.progress(check.items.all())
    assert sum(p.done for p in progress) == 2 and sum(p.failed for p in progress) == 1


def test_an_evidence_scan_is_filed_into_the_persons_case_file(people, make_user):
    inspector = make_user("insp", COUNTY)
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=1), seed="e")
    item = check.items.get()
    scan = evidence_file(samples.jpeg(5, size=(400, 300)), "现场照片.jpg")
    spot_checks.record_result(
        item, answers=YES, result="pass", notes="", user=inspector, evidence=scan
    )
    item.refresh_from_db()
    document = Document.objects.get(pk=item.evidence_id)
    assert document.case_file_id == item.case_file_id and document.archival_code
    assert "抽查佐证材料" in document.title


def test_a_rejected_evidence_file_rejects_the_result(people, make_user):
    inspector = make_user("insp", COUNTY)
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=1), seed="e")
    item = check.items.get()
    with pytest.raises(spot_checks.SpotCheckError, match="佐证材料未能归档"):
        spot_checks.record_result(
            item, answers=YES, result="pass", notes="", user=inspector,
            evidence=evidence_file(b"not a scan", "a.txt"),
        )  # fmt: skip
    item.refresh_from_db()
    assert item.result == ""


def test_items_are_assigned_only_to_inspectors_whose_division_covers_them(people, make_user):
    lead = make_user("lead", COUNTY)
    local = make_user("local", COUNTY)
    outsider = make_user("outsider", OTHER_COUNTY)
    check = spot_checks.create(division=county(), plan=SamplePlan(FIXED, size=3), seed="a")
    assert spot_checks.assignable_inspectors(lead, county()) == [lead, local]
    assert spot_checks.assign(check.items.all(), local, user=lead) == 3
    assert set(check.items.values_list("inspector__username", flat=True)) == {"local"}
    with pytest.raises(spot_checks.SpotCheckError, match="辖区"):
        spot_checks.assign(check.items.all(), outsider, user=lead)
