"""A comparison run over the archive: fed from the database, stored with its inputs, its
findings, the rules it could not evaluate and the difference from the previous run."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from archive.models import Enrolment, Person, RuleSetVersion
from review.models import ComparisonRun, Finding
from tests.review.conftest import AS_OF, CITY, cert_base_rows

pytestmark = pytest.mark.django_db


def _codes(run, person: Person) -> set[str]:
    return set(run.findings.filter(id_number=person.id_number).values_list("code", flat=True))


def test_city_run_over_demo_people_finds_the_planted_problems(
    demo_people, planted, upload, run_comparison
):
    tekun = planted["TEKUN_WITH_LIVING"]
    base = upload("cert_base", cert_base_rows(demo_people))
    assistance = upload(
        "assistance",
        [
            {
                "姓名": tekun.name,
                "公民身份号码": tekun.id_number,
                "保障类别": "特困",
                "开始日期": "2020-01-01",
            }
        ],
    )
    dead = planted["CODE_MISMATCH"]
    death = upload(
        "death", [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}]
    )
    run = run_comparison(CITY, [base, assistance, death])

    assert run.status == ComparisonRun.Status.FINISHED
    assert "DECEASED" in _codes(run, dead)
    assert "CERT_CODE_MISMATCH" in _codes(run, dead)
    assert "CERT_EXPIRED" in _codes(run, planted["EXPIRED_CERTIFICATE"])
    assert "GRADE_INSUFFICIENT" in _codes(run, planted["GRADE3_PHYSICAL_WITH_NURSING"])
    assert {"DUPLICATE_BENEFIT", "LEFT_ASSISTANCE"} <= _codes(run, tekun)
    assert "ELIGIBLE_NOT_ENROLLED" in _codes(run, planted["NOT_ENROLLED"])
    twice = run.findings.get(
        id_number=planted["TWO_COUNTIES"].id_number, code="DUPLICATE_ENROLMENT"
    )
    assert twice.action == "STOP"
    assert twice.county_id == "140404"  # the one not in the person's 户籍 county is stopped


def test_finding_rows_carry_person_enrolment_evidence_and_township(
    demo_people, planted, upload, run_comparison
):
    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    death = upload(
        "death", [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026年10月15日"}]
    )
    run = run_comparison("140425", [death])
    finding = run.findings.get(code="DECEASED")
    assert finding.person == dead
    assert finding.enrolment == Enrolment.objects.get(person=dead, subsidy="living")
    assert finding.subsidy == "both"
    assert finding.event_date.isoformat() == "2026-10-15"
    assert finding.evidence == {
        "roster": "death",
        "row": 2,
        "values": {"死亡日期": "2026年10月15日"},
    }
    assert finding.township_code == dead.hukou_code[:9]
    assert finding.key == f"DECEASED|{dead.id_number}|140425|death"


def test_not_enrolled_certificate_holder_unknown_to_the_archive_is_a_finding_without_person(
    demo_people, upload, run_comparison
):
    stranger = {
        "姓名": "张三",
        "公民身份号码": "140425199001011234",
        "残疾人证号": "14042519900101123441",
        "残疾类别": "肢体",
        "残疾等级": "一级",
        "证件状态": "正常",
        "有效期至": "长期",
        "户籍区划代码": "140425101",
    }
    from core.numbers import id_check_char

    first17 = stranger["公民身份号码"][:17]
    stranger["公民身份号码"] = first17 + id_check_char(first17)
    stranger["残疾人证号"] = stranger["公民身份号码"] + "41"
    people = [p for p in demo_people if p.county_id == "140425"]
    base = upload("cert_base", [*cert_base_rows(people), stranger], division="140425")
    run = run_comparison("140425", [base])
    finding = run.findings.get(id_number=stranger["公民身份号码"])
    assert finding.code == "ELIGIBLE_NOT_ENROLLED"
    assert finding.person is None and finding.enrolment is None
    assert finding.action == "NOTIFY"
    assert finding.township_code == "140425101"


def test_rules_without_their_roster_are_listed_as_not_evaluated(demo_people, run_comparison):
    run = run_comparison("140425")
    not_evaluated = dict((code, kinds) for code, kinds in run.not_evaluated)
    assert not_evaluated["DECEASED"] == ["death"]
    assert not_evaluated["IMPRISONED"] == ["prison"]
    assert not_evaluated["DUPLICATE_BENEFIT"] == ["assistance", "work_injury_care", "orphan"]
    assert "DECEASED" not in run.evaluated_rules
    assert not run.findings.filter(code__in=["DECEASED", "IMPRISONED"]).exists()


def test_run_records_inputs_hashes_and_rule_set_version(demo_people, upload, run_comparison):
    death = upload("death", [])
    run = run_comparison("140425", [death])
    assert list(run.rosters.all()) == [death]
    assert len(death.sha256) == 64
    assert run.rule_set == RuleSetVersion.objects.get()
    assert (
        run.checked
        == Enrolment.objects.filter(county_id="140425").values("person").distinct().count()
    )


def test_bad_roster_rows_are_reported_and_do_not_stop_the_run(demo_people, upload, run_comparison):
    person = next(p for p in demo_people if p.county_id == "140425" and p.enrolments.exists())
    death = upload(
        "death",
        [
            {"姓名": "甲", "公民身份号码": "140425190001011111", "死亡日期": "2026-01-01"},
            {"姓名": person.name, "公民身份号码": person.id_number, "死亡日期": "2026-02-30"},
            {"姓名": person.name, "公民身份号码": person.id_number, "死亡日期": "2026-02-03"},
        ],
        division="140425",
    )
    assert death.row_count == 1
    assert {e["row"] for e in death.errors} == {2, 3}
    run = run_comparison("140425", [death])
    assert run.status == ComparisonRun.Status.FINISHED
    assert run.roster_errors == {"death": 2}
    assert run.findings.filter(code="DECEASED", id_number=person.id_number).exists()


def test_rerun_shows_new_resolved_and_still_open(demo_people, planted, upload, run_comparison):
    a = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    b = next(p for p in demo_people if p.county_id == "140425" and p != a and p.enrolments.exists())
    first = run_comparison(
        "140425",
        [
            upload(
                "death",
                [{"姓名": a.name, "公民身份号码": a.id_number, "死亡日期": "2026-10-01"}],
                division="140425",
            )
        ],
    )
    second = run_comparison(
        "140425",
        [
            upload(
                "death",
                [{"姓名": b.name, "公民身份号码": b.id_number, "死亡日期": "2026-11-01"}],
                division="140425",
            )
        ],
    )
    assert second.previous == first
    assert second.findings.get(code="DECEASED").id_number == b.id_number
    assert second.findings.get(code="DECEASED").diff == Finding.Diff.NEW
    assert second.findings.get(code="GRADE_INSUFFICIENT").diff == Finding.Diff.STILL_OPEN
    from review.services import resolved_findings

    resolved = resolved_findings(second)
    assert [f.id_number for f in resolved.filter(code="DECEASED")] == [a.id_number]
    assert second.resolved_count == resolved.count()
    assert second.new_count == second.findings.filter(diff="new").count()


def test_finished_runs_and_findings_are_immutable(demo_people, run_comparison):
    run = run_comparison("140425")
    run.checked = 0
    with pytest.raises(PermissionDenied):
        run.save()
    assert ComparisonRun.objects.filter(pk=run.pk).update(checked=0) == 0
    run.refresh_from_db()
    assert run.checked > 0
    with pytest.raises(PermissionDenied):
        run.delete()
    finding = run.findings.first()
    finding.code = "DECEASED"
    with pytest.raises(PermissionDenied):
        finding.save()
    with pytest.raises(PermissionDenied):
        run.findings.update(code="DECEASED")
    with pytest.raises(PermissionDenied):
        run.findings.all().delete()


def test_stopped_enrolment_is_not_a_beneficiary_any_more(
    demo_people, planted, django_user_model, run_comparison
):
    from archive.enrolments import stop

    person = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    user = django_user_model.objects.create_user("stopper")
    stop(
        Enrolment.objects.get(person=person, subsidy="nursing"),
        month=AS_OF,
        reason="OTHER",
        user=user,
    )
    run = run_comparison("140425")
    assert not run.findings.filter(id_number=person.id_number, code="GRADE_INSUFFICIENT").exists()


def test_a_run_uses_the_rows_parsed_on_upload_and_reparses_when_they_are_stale(
    demo_people, planted, upload, run_comparison
):
    from review import services

    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    death = upload(
        "death",
        [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}],
        division="140425",
    )
    parsed = services.normalised_path(death.sha256, "death")
    original = services.roster_path(death.sha256)
    kept = original.read_bytes()
    original.unlink()  # the parsed rows alone are enough
    run = run_comparison("140425", [death])
    assert run.findings.filter(code="DECEASED").exists()

    original.write_bytes(kept)
    parsed.write_text("stale,header\n", encoding="utf-8")  # written by an older engine
    run = run_comparison("140425", [death])
    assert run.findings.filter(code="DECEASED").exists()
    assert parsed.read_text(encoding="utf-8").splitlines()[0] != "stale,header"


def _running(heartbeat_age_seconds: float, attempts: int) -> ComparisonRun:
    from datetime import timedelta

    from django.utils import timezone

    from archive.models import Division
    from review import services

    run = services.create_run(division=Division.objects.get(code="140425"), as_of=AS_OF, uploads=[])
    ComparisonRun.objects.filter(pk=run.pk).update(
        status=ComparisonRun.Status.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_seconds),
    )
    return run


def test_a_run_whose_worker_died_is_queued_again_once_then_failed_with_the_reason(settings):
    from review import services

    dead = settings.WORKER_DEAD_AFTER_SECONDS + 10
    working = _running(1, attempts=1)
    first_death = _running(dead, attempts=1)
    second_death = _running(dead, attempts=2)
    assert services.reap_runs() == {"retried": [first_death.pk], "failed": [second_death.pk]}
    statuses = dict(ComparisonRun.objects.values_list("pk", "status"))
    assert statuses[working.pk] == ComparisonRun.Status.RUNNING
    assert statuses[first_death.pk] == ComparisonRun.Status.PENDING
    failed = ComparisonRun.objects.get(pk=second_death.pk)
    assert failed.status == ComparisonRun.Status.FAILED and "意外中止" in failed.error
    assert failed.finished_at is not None


def test_a_requeued_run_runs_to_the_end_and_counts_its_attempts(demo_people):
    from review import services

    run = _running(10_000, attempts=1)
    services.reap_runs()
    finished = services.execute_run(run.pk)
    assert finished.status == ComparisonRun.Status.FINISHED and finished.attempts == 2
