"""A comparison run over the archive: fed from the database, stored with its inputs, its
findings, the rules it could not evaluate and the difference from the previous run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import ProtectedError
from django.urls import reverse

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


def test_a_person_enrolment_or_county_a_finding_names_cannot_be_deleted(
    demo_people, run_comparison
):
    """The database does not check these references (review/models.py, Finding): Django's
    PROTECT must still refuse the deletion that would leave a finding pointing nowhere."""
    run = run_comparison("140425")
    finding = run.findings.filter(person__isnull=False, enrolment__isnull=False).first()
    for referenced in (finding.enrolment, finding.person, finding.county):
        with pytest.raises(ProtectedError) as refused:
            referenced.delete()
        assert finding in refused.value.protected_objects
    assert Person.objects.filter(pk=finding.person_id).exists()
    assert Enrolment.objects.filter(pk=finding.enrolment_id).exists()


def test_stopped_enrolment_is_not_a_beneficiary_any_more(
    demo_people, planted, django_user_model, run_comparison
):
    from archive.people.enrolments import stop

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
    from review import engine, services

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
    older = parsed.with_suffix(".csv")  # the CSV spool of the engines before Parquet
    older.write_text("stale,header\n", encoding="utf-8")
    run = run_comparison("140425", [death])
    assert run.findings.filter(code="DECEASED").exists()
    assert engine.spool_is_current(parsed, "death") and not older.exists()


# --- as a background job (review/jobs.py) ------------------------------------------------


def _submitted(division: str = "140425"):
    """A pending run and its queued job (on_commit never fires here: nothing is sent)."""
    from archive.models import Division
    from review import services
    from review.jobs import submit_run

    run = services.create_run(division=Division.objects.get(code=division), as_of=AS_OF, uploads=[])
    job = submit_run(run.pk)
    return ComparisonRun.objects.get(pk=run.pk), job


def _died_running(job, attempts: int) -> None:
    """What a worker killed mid-run leaves: the job and the run running, the beat stopped."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import Job

    old = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING, attempts=attempts, task_id="sent", heartbeat_at=old
    )
    ComparisonRun.objects.filter(pk=job.params["run"]).update(status=ComparisonRun.Status.RUNNING)


def test_a_comparison_job_runs_the_run_to_the_end_with_its_summary(demo_people):
    from jobs.runner import execute

    run, job = _submitted()
    assert run.job_id == job.pk and job.queue == "interactive" and job.division_code == "140425"
    assert execute(job.pk) == "done"
    run.refresh_from_db()
    job.refresh_from_db()
    assert run.status == ComparisonRun.Status.FINISHED and job.percent == 100
    assert job.result["url"] == reverse("review_run_detail", args=[run.pk])
    assert f"发现 {run.finding_count} 条" in job.result["summary"]


def test_a_comparison_whose_worker_died_is_run_again_to_the_end_by_the_reaper(demo_people):
    from jobs import services as jobs
    from jobs.runner import execute

    run, job = _submitted()
    _died_running(job, attempts=1)
    assert jobs.reap()["retried"] == [job.pk]
    assert execute(job.pk) == "done"
    run.refresh_from_db()
    job.refresh_from_db()
    assert run.status == ComparisonRun.Status.FINISHED and job.attempts == 2


def test_a_comparison_whose_worker_died_on_every_attempt_fails_with_the_reason():
    from jobs import services as jobs

    run, job = _submitted()
    _died_running(job, attempts=jobs.MAX_ATTEMPTS)
    assert jobs.reap()["failed"] == [job.pk]
    run.refresh_from_db()
    assert run.status == ComparisonRun.Status.FAILED and run.error == jobs.WORKER_DIED_AGAIN
    assert run.finished_at is not None and not run.findings.exists()


def test_a_comparison_cancelled_before_it_started_ends_cancelled_and_never_runs():
    from jobs import services as jobs
    from jobs.runner import execute

    run, job = _submitted()
    assert jobs.cancel(job)
    run.refresh_from_db()
    assert run.status == ComparisonRun.Status.CANCELLED
    assert execute(job.pk) == "cancelled"
    assert ComparisonRun.objects.get(pk=run.pk).started_at is None


def test_a_comparison_cancelled_while_it_runs_stores_no_finding(demo_people, planted):
    from jobs import services as jobs
    from jobs.models import Job
    from jobs.runner import execute

    run, job = _submitted()

    def cancel_on_saving(done: int, total: int, message: str) -> None:
        if message == "保存比对发现":
            assert jobs.cancel(Job.objects.get(pk=job.pk))

    assert execute(job.pk, cancel_on_saving) == "cancelled"
    run.refresh_from_db()
    assert run.status == ComparisonRun.Status.CANCELLED and run.finished_at is not None
    assert not Finding.objects.exists() and run.finding_count == 0


def test_a_run_stopped_just_before_it_is_stored_keeps_no_finding(demo_people, planted):
    """The last check is inside the transaction, after every finding is written: stopping
    there rolls all of them back."""
    from archive.models import Division
    from jobs.runner import Cancelled
    from review import services

    run = services.create_run(division=Division.objects.get(code="140425"), as_of=AS_OF, uploads=[])
    checks = []

    def check() -> None:
        checks.append(Finding.objects.filter(run=run).count())
        if len(checks) == 2:  # one batch written, then the check before the commit
            raise Cancelled

    with pytest.raises(Cancelled):
        services.execute_run(run.pk, check=check)
    run.refresh_from_db()
    assert checks[-1] > 0  # the findings were written ...
    assert (
        run.status == ComparisonRun.Status.CANCELLED and not Finding.objects.exists()
    )  # ... and rolled back


def test_an_unexpected_error_fails_the_run_with_a_chinese_reason_and_no_finding(demo_people):
    from archive.models import Division
    from review import services
    from review.services.runs import UNEXPECTED

    run = services.create_run(division=Division.objects.get(code="140425"), as_of=AS_OF, uploads=[])

    def broken() -> None:
        raise ZeroDivisionError("deep inside")

    with pytest.raises(ZeroDivisionError):
        services.execute_run(run.pk, check=broken)
    run.refresh_from_db()
    assert run.status == ComparisonRun.Status.FAILED and run.error == UNEXPECTED
    assert not Finding.objects.exists()


def test_a_second_attempt_that_finds_the_run_stored_stores_nothing_again(demo_people, planted):
    """Should the reaper take a slow attempt for dead, the two attempts may both compare; the
    one that comes to store second finds the run finished and adds no finding."""
    from archive.models import Division
    from review import services

    run = services.create_run(division=Division.objects.get(code="140425"), as_of=AS_OF, uploads=[])

    def the_other_attempt_stores_first(stage: str, percent: int) -> None:
        if stage == "保存比对发现":  # the other attempt has just stored the run
            ComparisonRun.objects.filter(pk=run.pk).update(
                status=ComparisonRun.Status.FINISHED, finding_count=7
            )

    finished = services.execute_run(run.pk, progress=the_other_attempt_stores_first)
    assert finished.status == ComparisonRun.Status.FINISHED and finished.finding_count == 7
    assert not finished.findings.exists()


class Handed(NamedTuple):
    """What a run handed over to be stored: the engine's findings as objects, the previous
    run, and (on PostgreSQL) a copy of the findings file the run stored them from."""

    findings: list
    previous: ComparisonRun | None
    file: Path | None


@pytest.fixture
def engine_findings(monkeypatch, tmp_path) -> dict[int, Handed]:
    """What each run handed over to be stored, by run id (the run stores it as it always
    does): the engine is asked a second time for its findings as objects."""
    from review.services import runs

    handed: dict[int, Handed] = {}
    listed: list[list] = []
    compare, store = runs.engine.compare, runs._store

    def compare_both_ways(*args, findings_file=None, **kwargs):
        listed.append(compare(*args, **kwargs).findings)
        return compare(*args, findings_file=findings_file, **kwargs)

    def keep(run, result, findings_file, *rest):
        kept = None
        if findings_file is not None:
            kept = tmp_path / f"findings-{run.pk}.csv"
            shutil.copy(findings_file, kept)
        handed[run.pk] = Handed(listed.pop(), runs.previous_run(run), kept)
        store(run, result, findings_file, *rest)

    monkeypatch.setattr(runs.engine, "compare", compare_both_ways)
    monkeypatch.setattr(runs, "_store", keep)
    return handed


#: Every stored field of a finding but its id and run.
FIELDS = [f.attname for f in Finding._meta.concrete_fields if f.attname not in ("id", "run_id")]


def _rows(run) -> list[tuple]:
    return list(Finding.objects.filter(run_id=run.pk).order_by("id").values_list(*FIELDS))


def _stored_again(run, handed: Handed, *, copy: bool = False) -> ComparisonRun:
    """The findings a run was handed stored into a twin of it by ``bulk_create`` (the way of
    SQLite), or again by COPY from the engine's file."""
    from django.db import transaction

    from review import services
    from review.services import runs

    twin = services.create_run(division=run.division, as_of=run.as_of, uploads=[])
    with transaction.atomic():
        if copy:
            runs._copy_findings(twin, handed.file, handed.previous, lambda: None)
        else:
            runs._store_findings(twin, handed.findings, handed.previous, lambda: None)
    twin.previous = handed.previous
    return twin


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's; elsewhere bulk_create"
)


@postgresql_only
def test_findings_stored_by_copy_are_field_by_field_the_rows_bulk_create_stores(
    demo_people, planted, upload, run_comparison, engine_findings
):
    from core.numbers import id_check_char
    from review.findings import finding_key

    first17 = "14040319900101123"
    stranger_id = first17 + id_check_char(first17)
    stranger = {
        "姓名": "张三" * 40,  # longer than a stored name: cut at 64 both ways
        "公民身份号码": stranger_id,
        "残疾人证号": stranger_id + "41",
        "残疾类别": "肢体",
        "残疾等级": "一级",
        "证件状态": "正常",
        "有效期至": "长期",
        "户籍区划代码": "140403101",
    }
    tekun, dead = planted["TEKUN_WITH_LIVING"], planted["CODE_MISMATCH"]
    run = run_comparison(
        CITY,
        [
            upload("cert_base", [*cert_base_rows(demo_people), stranger]),
            upload(
                "assistance",
                [{"姓名": tekun.name, "公民身份号码": tekun.id_number, "保障类别": "特困"}],
            ),
            upload(
                "death",
                [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}],
            ),
        ],
    )
    rows = _rows(run)
    assert rows == _rows(_stored_again(run, engine_findings[run.pk]))

    findings = engine_findings[run.pk].findings
    assert run.finding_count == len(rows) == len(findings) > 10
    assert len({f.code for f in findings}) >= 6
    stored = list(run.findings.order_by("id"))
    for finding, row in zip(findings, stored, strict=True):  # stored in the engine's order
        assert (row.code, row.id_number, row.subsidy, row.action, row.event_date) == (
            finding.code,
            finding.id_number,
            finding.subsidy,
            finding.action,
            finding.event_date,
        )
        assert row.evidence == finding.evidence.to_dict() and row.key == finding_key(finding)
        assert row.diff == Finding.Diff.NEW
    unknown = run.findings.get(id_number=stranger_id)
    assert unknown.person is None and unknown.enrolment is None
    assert unknown.name == ("张三" * 40)[:64] and unknown.township_code == "140403101"
    death = run.findings.get(code="DECEASED")
    assert death.person == dead and death.township_code == dead.hukou_code[:9]
    assert death.enrolment == Enrolment.objects.get(
        person=dead, county_id=death.county_id, subsidy=death.subsidies[0]
    )


@postgresql_only
def test_cells_with_quotes_commas_backslashes_and_line_breaks_reach_the_database_as_read(
    demo_people, planted, upload, run_comparison, engine_findings
):
    """The findings file is CSV holding JSON: what a roster cell may hold survives both."""
    dead = planted["CODE_MISMATCH"]
    hostile = '戴"梅",\\x\n二行\t{"a": 1}'
    run = run_comparison(
        CITY,
        [
            upload(
                "death",
                [{"姓名": hostile, "公民身份号码": dead.id_number, "死亡日期": "2026年10月15日"}],
            )
        ],
    )
    assert _rows(run) == _rows(_stored_again(run, engine_findings[run.pk]))
    death = run.findings.get(code="DECEASED")
    assert hostile in death.note and death.evidence["values"] == {"死亡日期": "2026年10月15日"}


@postgresql_only
def test_a_second_run_stored_by_copy_marks_new_and_still_open_and_counts_the_gone_as_before(
    demo_people, upload, run_comparison, engine_findings
):
    gone, stays, new = [
        p for p in demo_people if p.county_id == "140425" and p.enrolments.exists()
    ][:3]

    def deaths(*people):
        rows = [
            {"姓名": p.name, "公民身份号码": p.id_number, "死亡日期": "2026-10-01"} for p in people
        ]
        return run_comparison("140425", [upload("death", rows, division="140425")])

    first = deaths(gone, stays)
    second = deaths(stays, new)

    diff = {f.id_number: f.diff for f in second.findings.filter(code="DECEASED")}
    assert diff == {stays.id_number: Finding.Diff.STILL_OPEN, new.id_number: Finding.Diff.NEW}
    before = set(first.findings.values_list("key", flat=True))
    keys = set(second.findings.values_list("key", flat=True))
    # The counts runs.py computed in Python from the two sets of keys, now counted in SQL.
    assert (second.new_count, second.still_open_count, second.resolved_count) == (
        len(keys - before),
        len(keys & before),
        len(before - keys),
    )
    assert second.resolved_count >= 1
    from review.services import resolved_findings
    from review.services.runs import diff_counts

    assert gone.id_number in {f.id_number for f in resolved_findings(second)}
    twin = _stored_again(second, engine_findings[second.pk])
    assert _rows(twin) == _rows(second)
    assert diff_counts(twin) == (second.new_count, second.still_open_count, second.resolved_count)

    # A key raised twice counts once, on either side of the diff.
    handed = engine_findings[second.pk]
    lines = handed.file.read_text(encoding="utf-8").splitlines(keepends=True)
    handed.file.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    handed = handed._replace(findings=[*handed.findings, handed.findings[0]])
    for copy in (False, True):
        twice = _stored_again(second, handed, copy=copy)
        assert twice.findings.count() == len(handed.findings)
        assert diff_counts(twice) == (
            second.new_count,
            second.still_open_count,
            second.resolved_count,
        )


@postgresql_only
@pytest.mark.parametrize(
    "code",
    [
        "140425101",
        "140425101203",
        " 140425\u3000101 ",
        "14042510\t1",
        "\xa0140425101\u2028",
        "140425",
        "14042510x",
        "１４０４２５１０１",
        "",
        None,
    ],
)
def test_the_township_a_finding_is_stored_with_on_postgresql_is_township_of(code) -> None:
    """The township COPY stores is ``core.divisions.township_of`` in SQL; the two agree."""
    from django.db import transaction

    from core.divisions import township_of
    from review.services import runs

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(runs._TOWNSHIP_FUNCTION)
        cursor.execute("SELECT pg_temp.township_of(%s)", [code])
        assert cursor.fetchone()[0] == township_of(code)
        transaction.set_rollback(True)
