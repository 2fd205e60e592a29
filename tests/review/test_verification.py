"""Verification (核查) of STOP/SUSPEND findings: a confirmed stop ends the enrolment from the
month after the event, with the code as reason and a change record; not confirmed changes
nothing; a wrong verdict is reversed with a reason, resuming payment, all audited."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR, ARCHIVIST, INSPECTOR
from archive.documents import storage
from archive.jobs import SCAN_INGEST
from archive.models import (
    AuditLog,
    Division,
    Enrolment,
    EnrolmentChange,
    RuleSetVersion,
    StoredFile,
)
from jobs.models import Job
from review import services
from review.models import NotifyOutcome, Verification
from tests.archive.documents import samples
from tests.helpers import run_dying_past_commit_then_retry, run_submitted_job, submitted_job_id
from tests.review.conftest import cert_base_rows

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("L", (120, 80), 200).save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def dead(planted):
    return planted["GRADE3_PHYSICAL_WITH_NURSING"]  # living + nursing in 140425


@pytest.fixture
def deceased(dead, upload, run_comparison):
    death = upload(
        "death",
        [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}],
        division="140425",
    )
    run = run_comparison("140425", [death])
    return run.findings.get(code="DECEASED")


@pytest.fixture
def clerk(make_user):
    return make_user("clerk", "140425", ARCHIVIST)


def test_confirming_a_stop_ends_each_enrolment_from_the_month_after_the_event(
    client, clerk, dead, deceased
):
    client.force_login(clerk)
    response = client.post(
        reverse("review_finding_verify", args=[deceased.pk]),
        {"outcome": "confirmed", "note": "经村委会核实已于10月死亡"},
    )
    assert response.status_code == 302
    for enrolment in Enrolment.objects.filter(person=dead, county_id="140425"):
        assert enrolment.status == Enrolment.Status.STOPPED
        assert enrolment.stop_month == date(2026, 11, 1)
        assert enrolment.stop_reason == "DECEASED"
        change = enrolment.changes.latest("id")
        assert change.action == EnrolmentChange.Action.STOP
        assert change.month == date(2026, 11, 1)
        assert change.reason == "DECEASED"
        assert change.source == f"核查 #{deceased.pk}"
        assert change.changed_by == clerk
    verification = Verification.objects.get(finding=deceased)
    assert verification.outcome == "confirmed" and verification.changes.count() == 2
    assert AuditLog.objects.filter(action="review_verify", object_id=str(deceased.pk)).exists()


def test_stop_month_follows_the_rule_set_of_the_run(clerk, dead, upload, run_comparison):
    rules = RuleSetVersion.objects.get()
    data = {**rules.data, "stop_from_next_month": False}
    RuleSetVersion.objects.create(
        name="当月停发", effective_from=date(2026, 1, 1), legal_basis="测试", data=data
    )
    death = upload(
        "death",
        [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}],
        division="140425",
    )
    finding = run_comparison("140425", [death]).findings.get(code="DECEASED")
    assert finding.run.rule_set.name == "当月停发"
    services.verify(finding, outcome="confirmed", note="属实", user=clerk)
    assert Enrolment.objects.filter(person=dead, stop_month=date(2026, 10, 1)).count() == 2


def test_not_confirmed_leaves_the_enrolment_alone(clerk, dead, deceased):
    services.verify(deceased, outcome="not_confirmed", note="同名不同人", user=clerk)
    assert set(Enrolment.objects.filter(person=dead).values_list("status", flat=True)) == {"active"}
    assert not EnrolmentChange.objects.filter(source__startswith="核查").exists()


def test_a_second_verdict_needs_the_first_reversed(clerk, deceased):
    services.verify(deceased, outcome="not_confirmed", note="同名不同人", user=clerk)
    with pytest.raises(services.ReviewError):
        services.verify(deceased, outcome="confirmed", note="再查", user=clerk)


def test_reversal_resumes_with_the_reason_and_is_audited(client, clerk, make_user, dead, deceased):
    verification = services.verify(deceased, outcome="confirmed", note="属实", user=clerk)
    admin = make_user("boss", "140425", ADMINISTRATOR)
    client.force_login(admin)
    response = client.post(
        reverse("review_verification_reverse", args=[verification.pk]),
        {"reason": "死亡名单有误，本人健在"},
    )
    assert response.status_code == 302
    verification.refresh_from_db()
    assert verification.is_reversed and verification.reversed_by == admin
    assert verification.reversal_reason == "死亡名单有误，本人健在"
    for enrolment in Enrolment.objects.filter(person=dead):
        assert enrolment.status == Enrolment.Status.ACTIVE and enrolment.stop_month is None
        resume = enrolment.changes.latest("id")
        assert resume.action == EnrolmentChange.Action.RESUME
        assert "死亡名单有误，本人健在" in resume.note
        assert resume.source == f"撤销核查 #{deceased.pk}"
        assert resume.month == date(2026, 11, 1)
    assert AuditLog.objects.filter(
        action="review_reverse", object_id=str(verification.pk), user=admin
    ).exists()
    # nothing was deleted: the verdict and the stop stay on record
    assert Verification.objects.filter(finding=deceased).count() == 1
    assert EnrolmentChange.objects.filter(source=f"核查 #{deceased.pk}").count() == 2
    # and a new verdict may now be given
    services.verify(deceased, outcome="not_confirmed", note="本人健在", user=clerk)


def test_reversal_needs_a_reason_and_the_permission(client, clerk, deceased):
    verification = services.verify(deceased, outcome="confirmed", note="属实", user=clerk)
    client.force_login(clerk)  # an archivist may verify but not reverse
    response = client.post(
        reverse("review_verification_reverse", args=[verification.pk]), {"reason": "x"}
    )
    assert response.status_code in (302, 403)
    verification.refresh_from_db()
    assert not verification.is_reversed
    with pytest.raises(services.ReviewError):
        services.reverse_verification(verification, reason=" ", user=clerk)


def test_reversal_is_refused_when_the_enrolment_changed_since(clerk, dead, deceased):
    from archive.people.enrolments import resume

    verification = services.verify(deceased, outcome="confirmed", note="属实", user=clerk)
    enrolment = Enrolment.objects.get(person=dead, subsidy="living")
    resume(enrolment, month=date(2026, 12, 1), user=clerk, note="手工恢复")
    with pytest.raises(services.ReviewError):
        services.reverse_verification(verification, reason="撤销", user=clerk)
    verification.refresh_from_db()
    assert not verification.is_reversed


def test_confirming_imprisonment_suspends_and_reversal_resumes(
    clerk, demo_people, upload, run_comparison
):
    person = next(
        p
        for p in demo_people
        if p.county_id == "140425" and p.enrolments.filter(status="active").exists()
    )
    prison = upload(
        "prison",
        [{"姓名": person.name, "公民身份号码": person.id_number, "入监日期": "2026-08-03"}],
        division="140425",
    )
    finding = run_comparison("140425", [prison]).findings.get(code="IMPRISONED")
    assert finding.action == "SUSPEND"
    verification = services.verify(finding, outcome="confirmed", note="司法所确认", user=clerk)
    enrolments = list(Enrolment.objects.filter(person=person, county_id="140425"))
    assert enrolments and all(e.status == Enrolment.Status.SUSPENDED for e in enrolments)
    change = enrolments[0].changes.latest("id")
    assert change.action == EnrolmentChange.Action.SUSPEND
    assert change.month == date(2026, 9, 1) and change.reason == "IMPRISONED"
    services.reverse_verification(verification, reason="已出监", user=clerk)
    assert all(
        e.status == Enrolment.Status.ACTIVE
        for e in Enrolment.objects.filter(person=person, county_id="140425")
    )


def test_duplicate_enrolment_confirmation_stops_only_the_other_county(
    make_user, demo_people, planted, upload, run_comparison
):
    person = planted["TWO_COUNTIES"]
    run = run_comparison("140400", [upload("cert_base", cert_base_rows(demo_people))])
    finding = run.findings.get(code="DUPLICATE_ENROLMENT", id_number=person.id_number)
    city = make_user("city", "140400", ARCHIVIST)
    services.verify(finding, outcome="confirmed", note="两地重复", user=city)
    statuses = dict(Enrolment.objects.filter(person=person).values_list("county_id", "status"))
    assert statuses == {person.county_id: "active", finding.county_id: "stopped"}


def test_evidence_scan_is_stored_content_addressed_and_served_audited(client, clerk, deceased):
    client.force_login(clerk)
    scan = SimpleUploadedFile("证明.png", PNG, content_type="image/png")
    client.post(
        reverse("review_finding_verify", args=[deceased.pk]),
        {"outcome": "not_confirmed", "note": "见证明", "evidence": scan},
    )
    verification = Verification.objects.get()
    assert storage.original_path(verification.evidence_sha256).read_bytes() == PNG
    assert verification.evidence_name == "证明.png"
    assert StoredFile.objects.get(sha256=verification.evidence_sha256).kind == "png"
    response = client.get(reverse("review_verification_evidence", args=[verification.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert AuditLog.objects.filter(action="download", object_id=str(verification.pk)).exists()


def test_evidence_of_a_verdict_is_filed_into_the_persons_case_file(clerk, dead, deceased):
    from archive.models import Document

    scan = SimpleUploadedFile("停发审批表.png", PNG, content_type="image/png")
    verdict = services.verify(
        deceased, outcome="confirmed", note="已死亡", user=clerk, evidence=scan
    )
    filed = Document.objects.get(case_file__person=dead, case_file__county_id=deceased.county_id)
    assert filed.doc_type == "change_approval" and filed.archival_code
    assert filed.current.blob.sha256 == verdict.evidence_sha256
    assert filed.current.original_name == "停发审批表.png"


def _post_long_evidence(client, clerk, finding, settings, pages: int = 4):
    """The clerk confirms the finding with a PDF of ``pages`` pages, longer than the request
    files (ARCHIVE_BACKGROUND_PDF_PAGES = 2): the view hands it to the ingestion job."""
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    client.force_login(clerk)
    return client.post(
        reverse("review_finding_verify", args=[finding.pk]),
        {
            "outcome": "confirmed",
            "note": "已死亡",
            "evidence": SimpleUploadedFile("停发审批表.pdf", samples.scanned_pdf(pages)),
        },
    )


def test_a_long_pdf_of_evidence_is_filed_by_a_job_that_then_records_the_verdict(
    client, clerk, dead, deceased, settings
):
    """Like any upload (扫描件归档): the request only hands the PDF to the job; the job checks
    it page by page, files it and records the verdict in one transaction."""
    from archive.models import Document

    response = _post_long_evidence(client, clerk, deceased, settings)
    assert not Verification.objects.exists() and not Document.objects.exists()
    job = run_submitted_job(response)
    assert (job.kind, job.queue, job.state, job.percent, job.total) == (
        SCAN_INGEST, "bulk", "done", 100, 4
    )  # fmt: skip
    assert job.result["summary"] == "核查结论已保存，佐证材料已归入本人的补贴档案"
    assert job.result["url"] == reverse("review_finding_detail", args=[deceased.pk])
    verdict = Verification.objects.get()
    filed = Document.objects.get(case_file__person=dead, case_file__county_id=deceased.county_id)
    assert filed.doc_type == "change_approval" and filed.current.blob.page_count == 4
    assert verdict.evidence_sha256 == filed.current.blob.sha256
    assert verdict.evidence_name == "停发审批表.pdf"
    assert Enrolment.objects.filter(person=dead, status="stopped").exists()


def test_a_verdict_job_whose_clerk_left_the_jurisdiction_meanwhile_files_and_records_nothing(
    client, clerk, dead, deceased, settings
):
    """The job checks its user's jurisdiction again when it runs (the case file it files into,
    and the finding), not only the page when it was submitted: a clerk moved to another county
    in between has no say over this county's finding."""
    from archive.models import Document, UserProfile
    from jobs.models import Job
    from jobs.runner import execute

    response = _post_long_evidence(client, clerk, deceased, settings)
    UserProfile.objects.filter(user=clerk).update(division_id="140426")
    pk = submitted_job_id(response)
    execute(pk)
    job = Job.objects.get(pk=pk)
    assert job.state == "failed" and "已不在您的辖区内" in job.error
    assert not Verification.objects.exists() and not Document.objects.exists()
    assert not Enrolment.objects.filter(person=dead, status="stopped").exists()


def test_a_verdict_job_retried_after_a_death_past_its_commit_records_and_files_nothing_twice(
    client, clerk, dead, deceased, settings
):
    """The first attempt filed the evidence and recorded the verdict (one transaction), then
    its worker died before the job was marked done: the retry finds both and ends done."""
    from archive.models import Document

    response = _post_long_evidence(client, clerk, deceased, settings)
    job = run_dying_past_commit_then_retry(submitted_job_id(response))
    assert job.state == "done", job.error
    assert job.result["summary"] == "核查结论已保存，佐证材料已归入本人的补贴档案"
    assert Verification.objects.count() == 1 and Document.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_long_pdf_of_evidence_is_filed_and_the_verdict_recorded_by_a_real_worker(
    celery_worker_process, client, clerk, dead, deceased, settings
):
    from archive.models import Document
    from tests.helpers import wait_until

    response = _post_long_evidence(client, clerk, deceased, settings, pages=3)
    job = Job.objects.get(kind=SCAN_INGEST)
    assert response["Location"].startswith(reverse("archive_job_detail", args=[job.pk]))
    status_url = reverse("archive_job_status", args=[job.pk])
    assert wait_until(lambda: client.get(status_url).json()["finished"], 120)
    status = client.get(status_url).json()
    assert (status["state"], status["percent"]) == ("done", 100), status
    assert status["next"] == reverse("review_finding_detail", args=[deceased.pk])
    verdict = Verification.objects.get(finding=deceased)
    filed = Document.objects.get(case_file__person=dead, case_file__county_id=deceased.county_id)
    assert verdict.evidence_sha256 == filed.current.blob.sha256
    assert Enrolment.objects.filter(person=dead, status="stopped").exists()


def test_a_verdict_recorded_meanwhile_fails_the_job_and_files_nothing(
    client, clerk, deceased, settings
):
    from archive.models import Document

    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    client.force_login(clerk)
    response = client.post(
        reverse("review_finding_verify", args=[deceased.pk]),
        {
            "outcome": "not_confirmed",
            "note": "未死亡",
            "evidence": SimpleUploadedFile("证明.pdf", samples.scanned_pdf(3)),
        },
    )
    services.verify(deceased, outcome="not_confirmed", note="另一人先核查", user=clerk)
    job = run_submitted_job(response)
    assert job.state == "failed" and "已有核查结论" in job.error and "未归档佐证材料" in job.error
    assert not Document.objects.exists() and Verification.objects.count() == 1


def test_a_short_pdf_of_evidence_is_still_stored_in_the_request(client, clerk, deceased, settings):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    client.force_login(clerk)
    client.post(
        reverse("review_finding_verify", args=[deceased.pk]),
        {
            "outcome": "not_confirmed",
            "note": "见证明",
            "evidence": SimpleUploadedFile("证明.pdf", samples.scanned_pdf(2)),
        },
    )
    assert Verification.objects.get().evidence_name == "证明.pdf"
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"<script>alert(1)</script>", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64],
    ids=["not-a-scan", "broken-png"],
)
def test_evidence_that_is_not_a_usable_scan_is_refused(client, clerk, dead, deceased, content):
    client.force_login(clerk)
    scan = SimpleUploadedFile("x.png", content, content_type="image/png")
    client.post(
        reverse("review_finding_verify", args=[deceased.pk]),
        {"outcome": "confirmed", "note": "x", "evidence": scan},
    )
    assert not Verification.objects.exists()
    assert not Enrolment.objects.filter(person=dead, status="stopped").exists()


def test_inspector_cannot_verify(client, make_user, deceased):
    client.force_login(make_user("inspector", "140425", INSPECTOR))
    response = client.post(
        reverse("review_finding_verify", args=[deceased.pk]),
        {"outcome": "confirmed", "note": "x"},
    )
    assert response.status_code in (302, 403)
    assert not Verification.objects.exists()


def test_only_stop_and_suspend_findings_are_verified(clerk, planted, run_comparison):
    person = planted["CODE_MISMATCH"]
    run = run_comparison(person.county_id)
    fix = run.findings.get(code="CERT_CODE_MISMATCH", id_number=person.id_number)
    assert fix.action == "FIX_DATA"
    with pytest.raises(services.ReviewError):
        services.verify(fix, outcome="confirmed", note="x", user=clerk)
    assert not Verification.objects.exists()


# --- 应享未享: notices and outcomes ---------------------------------------------------------


@pytest.fixture
def not_enrolled(planted, demo_people, upload, run_comparison):
    person = planted["NOT_ENROLLED"]
    people = [p for p in demo_people if p.county_id == person.county_id]
    base = upload("cert_base", cert_base_rows(people), division=person.county_id)
    run = run_comparison(person.county_id, [base])
    return run.findings.get(code="ELIGIBLE_NOT_ENROLLED", id_number=person.id_number)


def test_notify_outcome_is_recorded_and_audited(client, make_user, not_enrolled):
    user = make_user("clerk", not_enrolled.county_id)
    client.force_login(user)
    response = client.post(
        reverse("review_finding_notify", args=[not_enrolled.pk]),
        {"outcome": "applied", "note": "已到乡镇申请"},
    )
    assert response.status_code == 302
    outcome = NotifyOutcome.objects.get(finding=not_enrolled)
    assert outcome.outcome == "applied" and outcome.recorded_by == user
    assert AuditLog.objects.filter(action="review_notify", object_id=str(not_enrolled.pk)).exists()
    listing = client.get(
        reverse("review_findings", args=[not_enrolled.run_id]), {"status": "notified"}
    )
    assert [f.pk for f in listing.context["page"]] == [not_enrolled.pk]


def test_policy_notice_renders_for_printing_and_cites_the_notice(client, make_user, not_enrolled):
    client.force_login(make_user("clerk", not_enrolled.county_id))
    response = client.get(reverse("review_finding_notice", args=[not_enrolled.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "政策告知书" in body and "晋民发〔2023〕1号" in body
    assert (
        "《关于贯彻落实民政部 财政部 中国残联〈关于加强残疾人两项补贴精准管理的意见〉的通知》"
        in body
    )
    assert "关于进一步完善" not in body  # the title that never existed
    assert not_enrolled.name in body and "重度残疾人护理补贴" in body
    assert "review/print.css" in body
    assert AuditLog.objects.filter(action="print", object_id=str(not_enrolled.pk)).exists()


def test_outreach_list_groups_notify_findings_by_township(client, make_user, not_enrolled):
    client.force_login(make_user("clerk", not_enrolled.county_id))
    url = reverse("review_outreach", args=[not_enrolled.run_id])
    response = client.get(url)
    groups = response.context["groups"]
    township = not_enrolled.township_code
    assert any(g["township"] == township and not_enrolled in g["findings"] for g in groups)
    name = Division.objects.get(code=township).name
    html = response.content.decode()
    assert f'<option value="{township}">{name}</option>' in html  # chosen by name, not code
    assert f"乡镇代码 {township}" not in html
    printed = client.get(url, {"township": township, "notices": "1"}).content.decode()
    assert printed.count('<article class="sheet">') >= 1 and not_enrolled.name in printed


def test_notice_only_for_notify_findings(client, clerk, deceased):
    client.force_login(clerk)
    assert client.get(reverse("review_finding_notice", args=[deceased.pk])).status_code == 404


def _rerun(upload, run_comparison, dead, death_date: str):
    death = upload(
        "death",
        [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": death_date}],
        division="140425",
    )
    return run_comparison("140425", [death])


def _status(finding):
    return type(finding).objects.with_status().get(pk=finding.pk)


def test_a_not_confirmed_verdict_sticks_to_the_same_finding_while_its_evidence_is_unchanged(
    client, clerk, dead, deceased, upload, run_comparison
):
    services.verify(deceased, outcome="not_confirmed", note="本人健在，系同名", user=clerk)
    later = _rerun(upload, run_comparison, dead, "2026-10-15").findings.get(code="DECEASED")

    assert later.carried_verification.finding == deceased
    assert _status(later).status_label == "经查不属实（沿用此前结论）"
    assert not later.run.findings.with_status().open().filter(pk=later.pk).exists()
    client.force_login(clerk)
    page = client.get(reverse("review_finding_detail", args=[later.pk])).content.decode()
    assert "沿用此前结论" in page and "本人健在，系同名" in page and clerk.username in page
    assert f"比对 #{deceased.run_id}" in page and "经查不属实" in page


def test_new_evidence_or_a_reversed_verdict_puts_the_finding_back_to_verification(
    clerk, dead, deceased, upload, run_comparison
):
    verdict = services.verify(deceased, outcome="not_confirmed", note="本人健在", user=clerk)
    changed = _rerun(upload, run_comparison, dead, "2026-11-02").findings.get(code="DECEASED")
    assert changed.carried_verification is None
    assert _status(changed).status_label == "待核查"

    same = _rerun(upload, run_comparison, dead, "2026-10-15").findings.get(code="DECEASED")
    assert same.carried_verification == verdict
    services.reverse_verification(verdict, reason="结论有误", user=clerk)
    assert _status(same).status_label == "待核查"


def test_a_confirmed_verdict_is_never_carried_to_a_later_run(
    clerk, dead, deceased, upload, run_comparison
):
    services.verify(deceased, outcome="confirmed", note="已死亡", user=clerk)
    services.reverse_verification(deceased.verifications.get(), reason="误操作", user=clerk)
    services.verify(deceased, outcome="confirmed", note="已死亡", user=clerk)
    later = _rerun(upload, run_comparison, dead, "2026-10-15").findings.filter(code="DECEASED")
    assert all(f.carried_verification is None for f in later)


def test_earlier_findings_list_only_earlier_runs_with_their_verdicts(
    client, clerk, dead, deceased, upload, run_comparison
):
    services.verify(deceased, outcome="not_confirmed", note="本人健在", user=clerk)
    later = _rerun(upload, run_comparison, dead, "2026-10-15").findings.get(code="DECEASED")
    client.force_login(clerk)
    page = client.get(reverse("review_finding_detail", args=[deceased.pk])).content.decode()
    assert f"比对 #{later.run_id}，" not in page


def test_policy_notice_cites_the_rule_set_the_run_applied_and_the_office_phone(
    client, make_user, planted, demo_people, upload, run_comparison, settings
):
    from core.eligibility import SHANXI_2023

    citation = "长治市民政局《两项补贴实施细则》（长民发〔2026〕9号）"
    RuleSetVersion.objects.create(
        name="细则",
        effective_from=date(2026, 1, 1),
        legal_basis="细则",
        data=SHANXI_2023.to_dict() | {"name": "细则", "notice_citation": citation},
    )
    person = planted["NOT_ENROLLED"]
    people = [p for p in demo_people if p.county_id == person.county_id]
    run = run_comparison(
        person.county_id, [upload("cert_base", cert_base_rows(people), division=person.county_id)]
    )
    finding = run.findings.get(code="ELIGIBLE_NOT_ENROLLED", id_number=person.id_number)
    settings.NOTICE_OFFICE_PHONES = {person.county_id: "0355-6228001"}
    client.force_login(make_user("clerk", person.county_id))
    body = client.get(reverse("review_finding_notice", args=[finding.pk])).content.decode()
    assert f"根据{citation}等规定" in body
    assert "联系电话 0355-6228001" in body


# --- Bulk verification (批量核查) ---------------------------------------------------------


@pytest.fixture
def two_deaths(demo_people, upload, run_comparison):
    enrolled = [
        p
        for p in demo_people
        if p.enrolments.filter(county_id="140425", status=Enrolment.Status.ACTIVE).exists()
    ][:2]
    rows = [
        {"姓名": p.name, "公民身份号码": p.id_number, "死亡日期": "2026-10-15"} for p in enrolled
    ]
    run = run_comparison("140425", [upload("death", rows, division="140425")])
    return run, list(run.findings.filter(code="DECEASED").order_by("pk"))


def test_bulk_verification_gives_each_ticked_finding_the_verdict_and_logs_each(
    client, clerk, two_deaths
):
    run, (first, second) = two_deaths
    client.force_login(clerk)
    listing = client.get(reverse("review_findings", args=[run.pk])).content.decode()
    assert f'name="findings" value="{first.pk}"' in listing and "批量核查" in listing
    response = client.post(
        reverse("review_findings_verify", args=[run.pk]),
        {"findings": [first.pk, second.pk], "outcome": "confirmed", "note": "村委会证明已死亡"},
    )
    assert response.status_code == 302
    for finding in (first, second):
        verdict = Verification.objects.get(finding=finding)
        assert verdict.outcome == "confirmed" and verdict.note == "村委会证明已死亡"
        assert verdict.changes.exists()  # the enrolments were stopped, as one by one
        assert AuditLog.objects.filter(action="review_verify", object_id=str(finding.pk)).exists()
    assert AuditLog.objects.filter(action="review_verify_bulk").count() == 1
    followed = client.get(response.url).content.decode()
    assert "已批量核查 2 条" in followed


def test_bulk_verification_skips_what_has_a_verdict_and_what_lies_outside_the_jurisdiction(
    client, clerk, make_user, two_deaths
):
    run, (first, second) = two_deaths
    services.verify(first, outcome="not_confirmed", note="健在", user=clerk)
    outsider = make_user("outsider", "140403", ARCHIVIST)
    client.force_login(outsider)
    client.post(
        reverse("review_findings_verify", args=[run.pk]),
        {"findings": [second.pk], "outcome": "confirmed", "note": "越权"},
    )
    assert not Verification.objects.filter(finding=second).exists()
    client.force_login(clerk)
    response = client.post(
        reverse("review_findings_verify", args=[run.pk]),
        {"findings": [first.pk, second.pk], "outcome": "confirmed", "note": "已死亡"},
        follow=True,
    )
    assert Verification.objects.get(finding=first).outcome == "not_confirmed"  # untouched
    assert Verification.objects.get(finding=second).outcome == "confirmed"
    assert "已批量核查 1 条，跳过 1 条" in response.content.decode()


def test_bulk_verification_without_a_note_or_a_tick_saves_nothing(client, clerk, two_deaths):
    run, (first, _second) = two_deaths
    client.force_login(clerk)
    url = reverse("review_findings_verify", args=[run.pk])
    for data in ({"findings": [first.pk], "outcome": "confirmed", "note": ""},
                 {"outcome": "confirmed", "note": "x"}):  # fmt: skip
        answer = client.post(url, data, follow=True)
        assert "未保存" in answer.content.decode()
    assert not Verification.objects.exists()


# --- A stop made by hand answers the finding ----------------------------------------------


def test_a_manual_stop_for_the_findings_reason_closes_it_with_a_confirmed_verdict(
    clerk, dead, deceased
):
    from archive.people import enrolments

    enrolment = Enrolment.objects.filter(person=dead, county_id="140425").first()
    change = enrolments.stop(
        enrolment, month=date(2026, 11, 1), reason="DECEASED", user=clerk, note="家属来报"
    )
    verdict = Verification.objects.get(finding=deceased)
    assert verdict.outcome == "confirmed" and list(verdict.changes.all()) == [change]
    assert "手工停发" in verdict.note and verdict.verified_by == clerk
    status = type(deceased).objects.with_status().get(pk=deceased.pk)
    assert status.status_label == "经查属实"


def test_a_manual_stop_for_another_reason_or_by_a_verdict_closes_nothing_more(
    clerk, dead, deceased
):
    from archive.people import enrolments

    enrolment = Enrolment.objects.filter(person=dead, county_id="140425").first()
    enrolments.suspend(enrolment, month=date(2026, 11, 1), reason="IMPRISONED", user=clerk)
    assert not Verification.objects.filter(finding=deceased).exists()
    services.verify(deceased, outcome="confirmed", note="已死亡", user=clerk)
    assert Verification.objects.filter(finding=deceased).count() == 1
