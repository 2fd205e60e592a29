"""The admin pages of spot checks and the annual review: Chinese, scoped, audited."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from archive.access.roles import ARCHIVIST, EDITOR
from archive.jobs import SCAN_INGEST
from archive.models import AuditLog, Division, Document, Enrolment
from inspection import campaigns, spot_checks
from inspection.models import ReviewCampaign, SpotCheck, SpotCheckItem
from inspection.sampling import FIXED, SamplePlan
from jobs.models import Job
from tests.archive.documents import samples
from tests.helpers import run_dying_past_commit_then_retry, run_submitted_job, submitted_job_id
from tests.inspection.conftest import COUNTY, OTHER_COUNTY, TOWN_A

pytestmark = pytest.mark.django_db

ENGLISH = re.compile(r">[^<]*\b(pass|fail|open|done|township|continue|stop|living|nursing)\b[^<]*<")


def visible_text(response) -> str:
    html = response.content.decode()
    return re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)


@pytest.fixture
def inspector(make_user):
    return make_user("inspector", COUNTY)


@pytest.fixture
def client_as(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_an_inspector_draws_a_spot_check_from_the_form(people, inspector, client_as):
    client = client_as(inspector)
    page = client.get(reverse("inspection_spot_check_new"))
    assert page.status_code == 200 and "抽样方案" in page.content.decode()
    response = client.post(
        reverse("inspection_spot_check_new"),
        {
            "division": COUNTY,
            "plan": "percent",
            "percent": "10",
            "stratify": "on",
            "seed": "页面",
            "confidence": "95",
            "error_rate": "5",
        },
    )
    check = SpotCheck.objects.get()
    assert response.status_code == 302
    assert check.seed == "页面" and check.items.count() == 3 and check.stratify == "township"
    detail = client.get(response["Location"])
    text = visible_text(detail)
    assert "样本量依据" in text and check.population_hash in text and "测试镇100" in text
    assert not ENGLISH.search(text)
    assert "*" in text and people[0].id_number not in text  # masked


def test_a_plan_without_its_size_is_a_chinese_form_error(people, inspector, client_as):
    response = client_as(inspector).post(
        reverse("inspection_spot_check_new"), {"division": COUNTY, "plan": "fixed"}
    )
    assert response.status_code == 200 and "请填写抽取数量" in response.content.decode()
    response = client_as(inspector).post(
        reverse("inspection_spot_check_new"),
        {"division": COUNTY, "plan": "fixed", "size": "3", "query": "无此人"},
    )
    assert "总体为空" in response.content.decode() and not SpotCheck.objects.exists()


def test_another_countys_division_cannot_be_chosen(people, inspector, client_as):
    response = client_as(inspector).post(
        reverse("inspection_spot_check_new"),
        {"division": OTHER_COUNTY, "plan": "fixed", "size": "3"},
    )
    assert response.status_code == 200 and not SpotCheck.objects.exists()


def test_a_spot_check_of_another_county_is_a_404_and_audited(people, make_user, client_as):
    check = spot_checks.create(
        division=Division.objects.get(code=OTHER_COUNTY), plan=SamplePlan(FIXED, size=2), seed="z"
    )
    client = client_as(make_user("inspector", COUNTY))
    assert client.get(reverse("inspection_spot_check_detail", args=[check.pk])).status_code == 404
    item = check.items.first()
    assert client.get(reverse("inspection_item_detail", args=[item.pk])).status_code == 404
    assert AuditLog.objects.filter(action="denied", object_id=str(check.pk)).exists()


def test_assign_record_print_and_export(people, inspector, make_user, client_as):
    colleague = make_user("colleague", COUNTY)
    check = spot_checks.create(
        division=Division.objects.get(code=COUNTY), plan=SamplePlan(FIXED, size=3), seed="v"
    )
    client = client_as(inspector)
    first = check.items.order_by("position").first()
    response = client.post(
        reverse("inspection_spot_check_assign", args=[check.pk]),
        {"inspector": str(colleague.pk), "items": [str(first.pk)], "scope": "selected"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.inspector == colleague
    client.post(
        reverse("inspection_spot_check_assign", args=[check.pk]),
        {"inspector": str(inspector.pk), "scope": "unassigned"},
    )
    assert check.items.filter(inspector=inspector).count() == 2

    page = client.get(reverse("inspection_item_detail", args=[first.pk]))
    assert "材料齐全？" in page.content.decode()
    answers = {f: "yes" for f, _ in SpotCheckItem.CHECKLIST}
    response = client.post(
        reverse("inspection_item_detail", args=[first.pk]),
        {**answers, "still_eligible": "no", "result": "fail", "notes": ""},
    )
    assert "不合格须填写检查说明" in response.content.decode()
    response = client.post(
        reverse("inspection_item_detail", args=[first.pk]),
        {**answers, "still_eligible": "no", "result": "fail", "notes": "户籍已迁出"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.result == "fail" and first.notes == "户籍已迁出"

    printed = client.get(reverse("inspection_spot_check_print", args=[check.pk]))
    text = visible_text(printed)
    assert "不合格 1 份" in text and "户籍已迁出" in text and check.seed in text
    assert not ENGLISH.search(text)

    export = client.get(
        reverse("inspection_spot_check_detail", args=[check.pk]), {"format": "xlsx"}
    )
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "序号" and len(rows) == 4
    assert all("*" in row[3] for row in rows[1:])
    assert "不合格" in [row[9] for row in rows[1:]]
    assert AuditLog.objects.filter(action="export", object_type="inspection.SpotCheck").exists()


def test_an_editor_cannot_open_spot_checks(people, make_user, client_as):
    client = client_as(make_user("editor", COUNTY, role=EDITOR))
    response = client.get(reverse("inspection_spot_checks"))
    assert response.status_code in (302, 403)


def test_campaign_pages_show_progress_by_township_and_record_an_outcome(
    people, make_user, client_as
):
    archivist = make_user("archivist", COUNTY, role=ARCHIVIST)
    client = client_as(archivist)
    response = client.post(
        reverse("inspection_campaign_new"),
        {"year": "2026", "division": COUNTY, "due_date": "2026-11-30"},
    )
    assert response.status_code == 302
    campaign = ReviewCampaign.objects.get()
    detail = client.get(response["Location"])
    text = visible_text(detail)
    assert "各乡镇进度" in text and "测试镇100" in text and "继续享受" in text
    assert not ENGLISH.search(text)
    task = campaign.tasks.filter(township_code=TOWN_A).first()
    response = client.post(
        reverse("inspection_task_detail", args=[task.pk]),
        {"outcome": "stop", "reason": "DECEASED", "month": "2026-10", "note": "已死亡"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.outcome == "stop" and task.record_id
    assert Enrolment.objects.get(pk=task.enrolment_id).status == Enrolment.Status.STOPPED
    page = visible_text(client.get(reverse("inspection_task_detail", args=[task.pk])))
    assert "停发" in page and "死亡" in page and "DECEASED" not in page
    overdue = client.get(
        reverse("inspection_campaign_detail", args=[campaign.pk]), {"state": "overdue"}
    )
    assert overdue.status_code == 200


def test_an_inspector_cannot_stop_but_is_told_why(people, inspector, client_as):
    campaign = campaigns.create(
        year=2026, division=Division.objects.get(code=COUNTY), due_date=date(2026, 12, 31)
    )
    task = campaign.tasks.first()
    response = client_as(inspector).post(
        reverse("inspection_task_detail", args=[task.pk]),
        {"outcome": "suspend", "reason": "IMPRISONED", "month": "2026-10"},
    )
    assert "没有停发或暂停补贴的权限" in response.content.decode()
    task.refresh_from_db()
    assert task.outcome == ""


def test_item_and_task_lists_filter_by_township_and_progress(people, make_user, client_as):
    client = client_as(make_user("lead", COUNTY))
    check = spot_checks.create(
        division=Division.objects.get(code=COUNTY), plan=SamplePlan(FIXED, size=30), seed="f"
    )
    url = reverse("inspection_spot_check_detail", args=[check.pk])

    def rows(response) -> int:
        return response.content.decode().count("<tr data-item=")

    assert rows(client.get(url, {"township": "", "state": ""})) == 30
    assert rows(client.get(url, {"township": TOWN_A})) == 20
    assert rows(client.get(url, {"state": "unassigned"})) == 30
    assert rows(client.get(url, {"state": "pass"})) == 0
    campaign = campaigns.create(
        year=2026, division=Division.objects.get(code=COUNTY), due_date=date(2001, 1, 31)
    )  # a deadline long past whatever today is
    curl = reverse("inspection_campaign_detail", args=[campaign.pk])
    body = client.get(curl, {"township": TOWN_A}).content.decode()
    assert body.count("登记结论<span") == 20
    assert "已逾期未复核 30 项" in client.get(curl).content.decode()


def _item(inspector):
    check = spot_checks.create(
        division=Division.objects.get(code=COUNTY), plan=SamplePlan(FIXED, size=1), seed="j"
    )
    item = check.items.get()
    spot_checks.assign(check.items.all(), inspector, user=inspector)
    return item


def _result_with(evidence) -> dict:
    answers = {f: "yes" for f, _ in SpotCheckItem.CHECKLIST}
    return {**answers, "result": "pass", "notes": "", "evidence": evidence}


@pytest.mark.parametrize(
    ("name", "content", "filed"),
    [
        ("佐证.pdf", lambda: samples.scanned_pdf(4), 1),
        (
            "佐证.zip",
            lambda: samples.zip_of({"a.jpg": samples.jpeg(3), "b.jpg": samples.jpeg(4)}),
            2,
        ),
    ],
    ids=["long-pdf", "zip"],
)
def test_a_long_pdf_or_a_zip_of_evidence_is_filed_by_a_job_that_then_records_the_result(
    people, inspector, client_as, settings, name, content, filed
):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    item = _item(inspector)
    client = client_as(inspector)
    upload = SimpleUploadedFile(name, content())
    response = client.post(reverse("inspection_item_detail", args=[item.pk]), _result_with(upload))
    item.refresh_from_db()
    assert item.result == "" and not Document.objects.exists()  # the request only submitted it
    job = run_submitted_job(response)
    assert (job.kind, job.queue, job.state, job.percent) == (SCAN_INGEST, "bulk", "done", 100)
    assert job.result["summary"] == "检查结果已登记，佐证材料已归入本人的补贴档案"
    assert job.result["url"] == reverse("inspection_spot_check_detail", args=[item.spot_check_id])
    item.refresh_from_db()
    assert item.result == "pass" and item.recorded_by == inspector
    documents = Document.objects.filter(case_file=item.case_file)
    assert documents.count() == filed and "抽查佐证材料" in item.evidence.title


def test_an_evidence_job_retried_after_a_death_past_its_commit_records_and_files_nothing_twice(
    people, inspector, client_as, settings
):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    item = _item(inspector)
    client = client_as(inspector)
    evidence = samples.zip_of({"a.jpg": samples.jpeg(3), "b.jpg": samples.jpeg(4)})
    upload = SimpleUploadedFile("佐证.zip", evidence)
    response = client.post(reverse("inspection_item_detail", args=[item.pk]), _result_with(upload))
    job = run_dying_past_commit_then_retry(submitted_job_id(response))
    assert job.state == "done", job.error
    assert job.result["summary"] == "检查结果已登记，佐证材料已归入本人的补贴档案"
    item.refresh_from_db()
    assert item.result == "pass" and Document.objects.filter(case_file=item.case_file).count() == 2


def test_an_item_recorded_while_its_evidence_waited_fails_the_job_and_files_nothing(
    people, inspector, client_as, settings
):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    item = _item(inspector)
    client = client_as(inspector)
    upload = SimpleUploadedFile("佐证.pdf", samples.scanned_pdf(3))
    response = client.post(reverse("inspection_item_detail", args=[item.pk]), _result_with(upload))
    client.post(reverse("inspection_item_detail", args=[item.pk]), _result_with(""))
    job = run_submitted_job(response)
    assert job.state == "failed" and "该对象已登记结果" in job.error
    assert "未归档佐证材料" in job.error and not Document.objects.exists()
    item.refresh_from_db()
    assert item.result == "pass" and item.evidence_id is None


def test_a_small_scan_of_evidence_is_still_filed_in_the_request(
    people, inspector, client_as, settings
):
    settings.ARCHIVE_BACKGROUND_PDF_PAGES = 2
    item = _item(inspector)
    client = client_as(inspector)
    upload = SimpleUploadedFile("佐证.pdf", samples.scanned_pdf(2))
    response = client.post(reverse("inspection_item_detail", args=[item.pk]), _result_with(upload))
    assert response["Location"] == reverse(
        "inspection_spot_check_detail", args=[item.spot_check_id]
    )
    item.refresh_from_db()
    assert item.result == "pass" and item.evidence.current.blob.page_count == 2
    assert not Job.objects.exists()
