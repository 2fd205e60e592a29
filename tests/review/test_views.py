"""The comparison pages: upload with parse report, new run, run detail with the diff and the
rules not evaluated, findings list with filters and XLSX export, jurisdiction, audit."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse
from openpyxl import load_workbook

from archive.access import permissions as perms
from archive.access.roles import ADMINISTRATOR, INSPECTOR
from archive.models import AuditLog, Division
from core.numbers import mask_id
from jobs.models import Job
from review import services
from review.models import ComparisonRun, RosterUpload
from tests.core import bombs
from tests.helpers import run_submitted_job
from tests.review.conftest import CITY, cert_base_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def county_run(demo_people, planted, upload, run_comparison):
    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    death = upload(
        "death",
        [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}],
        division="140425",
    )
    return run_comparison("140425", [death])


def test_roster_upload_shows_parse_report_and_is_stored_privately(
    client, make_user, demo_people, roster_file, settings
):
    user = make_user("clerk", "140425")
    client.force_login(user)
    path = roster_file(
        "death",
        [
            {"姓名": "甲", "公民身份号码": "140425190001011111", "死亡日期": "2026-01-01"},
            {"姓名": "乙", "公民身份号码": demo_people[0].id_number, "死亡日期": "2026-01-02"},
        ],
    )
    with path.open("rb") as fh:
        response = client.post(
            reverse("review_rosters"),
            {"kind": "death", "division": "140425", "period": "2026-11", "file": fh},
        )
    assert not RosterUpload.objects.exists()  # the request only stored the file
    job = run_submitted_job(response)
    upload = RosterUpload.objects.get()
    assert (job.kind, job.state, job.percent, job.user) == ("roster_upload", "done", 100, user)
    assert job.result["url"] == reverse("review_roster_detail", args=[upload.pk])
    assert "有效 1 行，错误 1 行" in job.result["summary"]
    assert upload.uploaded_by == user and upload.row_count == 1 and upload.error_count == 1
    stored = settings.PRIVATE_MEDIA_ROOT / "rosters" / f"{upload.sha256}.roster"
    assert stored.read_bytes() == path.read_bytes()
    assert not (settings.PRIVATE_MEDIA_ROOT / "jobs").exists() or not any(
        (settings.PRIVATE_MEDIA_ROOT / "jobs").iterdir()
    )  # the job's copy of the upload is gone
    body = client.get(job.result["url"]).content.decode()
    assert "第2行" in body and upload.sha256 in body
    assert AuditLog.objects.filter(action="roster_upload", object_id=str(upload.pk)).exists()


def test_the_same_roster_uploaded_again_is_the_same_upload_at_once(
    client, make_user, demo_people, roster_file
):
    client.force_login(make_user("clerk", "140425"))
    path = roster_file("death", [])
    form = {"kind": "death", "division": "140425", "period": "2026-11"}
    with path.open("rb") as fh:
        run_submitted_job(client.post(reverse("review_rosters"), {**form, "file": fh}))
    upload = RosterUpload.objects.get()
    with path.open("rb") as fh:
        response = client.post(reverse("review_rosters"), {**form, "file": fh})
    assert response["Location"] == reverse("review_roster_detail", args=[upload.pk])
    assert RosterUpload.objects.count() == 1 and Job.objects.count() == 1


def _nothing_kept(settings) -> None:
    assert not RosterUpload.objects.exists()
    root = settings.PRIVATE_MEDIA_ROOT
    left = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    assert left == []


def test_roster_with_wrong_headers_fails_its_job_and_nothing_is_kept(
    client, make_user, tmp_path, settings
):
    client.force_login(make_user("clerk", "140425"))
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,公民身份号码\n甲,140425190001011111\n", encoding="utf-8")
    with bad.open("rb") as fh:
        response = client.post(
            reverse("review_rosters"),
            {"kind": "death", "division": "140425", "period": "2026-11", "file": fh},
        )
    job = run_submitted_job(response)
    assert job.state == "failed" and "缺少必需的列：死亡日期" in job.error
    assert job.result["url"] == reverse("review_rosters")
    page = client.get(reverse("archive_job_detail", args=[job.pk])).content.decode()
    assert "死亡日期" in page and "返回修改" in page
    _nothing_kept(settings)


def test_roster_upload_for_another_county_is_not_offered(client, make_user, roster_file):
    client.force_login(make_user("clerk", "140425"))
    path = roster_file("death", [])
    with path.open("rb") as fh:
        response = client.post(
            reverse("review_rosters"),
            {"kind": "death", "division": "140426", "period": "2026-11", "file": fh},
        )
    assert response.status_code == 200
    assert not RosterUpload.objects.exists()


def test_new_run_form_creates_a_run_and_follows_its_job_to_the_run_page(
    client, make_user, demo_people, upload
):
    from jobs.runner import execute

    death = upload("death", [], division="140425")
    clerk = make_user("clerk", "140425")
    client.force_login(clerk)
    response = client.post(
        reverse("review_run_new"),
        {"division": "140425", "as_of": "2026-11-30", "rosters": [death.pk]},
    )
    run = ComparisonRun.objects.select_related("job").get()
    assert run.status == ComparisonRun.Status.PENDING
    assert (run.job.kind, run.job.params, run.job.user) == ("comparison", {"run": run.pk}, clerk)
    assert response["Location"] == reverse("archive_job_detail", args=[run.job.pk]) + "?follow=1"
    page = client.get(reverse("review_run_detail", args=[run.pk])).content.decode()
    assert "run-progress" in page and "review/progress.js" in page
    assert reverse("archive_job_detail", args=[run.job.pk]) in page and "可在任务页取消" in page
    status = client.get(reverse("review_run_status", args=[run.pk])).json()
    assert status["status"] == "pending" and status["progress"] == 0
    execute(run.job.pk)
    status = client.get(reverse("review_run_status", args=[run.pk])).json()
    assert status == {
        "status": "finished",
        "status_label": "已完成",
        "progress": 100,
        "stage": "完成",
        "error": "",
    }
    job = client.get(reverse("archive_job_status", args=[run.job.pk])).json()
    assert job["percent"] == 100 and job["next"] == reverse("review_run_detail", args=[run.pk])


def test_a_cancelled_run_says_so_on_its_page(client, make_user):
    from archive.models import Division
    from jobs import services as jobs
    from review.jobs import submit_run

    run = services.create_run(
        division=Division.objects.get(code="140425"), as_of=date(2026, 11, 30), uploads=[]
    )
    jobs.cancel(submit_run(run.pk))
    client.force_login(make_user("clerk", "140425"))
    page = client.get(reverse("review_run_detail", args=[run.pk])).content.decode()
    assert "已取消：比对未完成，未保存任何比对发现。" in page and "run-progress" not in page


def test_new_run_form_renders_its_default_date_in_iso_and_preselects_division_and_rosters(
    client, make_user, upload
):
    from review.views.runs import _default_as_of

    as_of = _default_as_of()
    death = upload("death", [], division="140425", period=as_of)
    older = upload("hukou_out", [], division="140425", period=as_of.replace(day=1) - timedelta(1))
    client.force_login(make_user("clerk", "140425"))
    page = client.get(reverse("review_run_new"))
    html = page.content.decode()
    assert f'value="{as_of.isoformat()}"' in html  # <input type=date> shows nothing otherwise
    form = page.context["form"]
    assert form.initial["division"].code == "140425"
    assert form.initial["rosters"] == [death.pk]
    assert older.pk not in form.initial["rosters"]


def test_new_run_refuses_two_rosters_of_one_kind(client, make_user, upload):
    first = upload("death", [], division="140425")
    second = upload("death", [{"姓名": "甲", "公民身份号码": "x", "死亡日期": "x"}], "140425")
    client.force_login(make_user("clerk", "140425"))
    response = client.post(
        reverse("review_run_new"),
        {"division": "140425", "as_of": "2026-11-30", "rosters": [first.pk, second.pk]},
    )
    assert response.status_code == 200
    assert "每类比对数据只能选择一个文件" in response.content.decode()
    assert not ComparisonRun.objects.exists()


def test_run_detail_lists_not_evaluated_rules_and_the_diff(
    client, make_user, county_run, upload, run_comparison
):
    second = run_comparison("140425", [upload("death", [], division="140425")])
    client.force_login(make_user("clerk", "140425"))
    body = client.get(reverse("review_run_detail", args=[second.pk])).content.decode()
    assert "死亡（DECEASED）" not in body.split("未比对的规则")[1].split("比对发现")[0]
    assert "在监服刑（IMPRISONED）：缺少在监服刑人员" in body
    assert "已消除（1）" in body
    assert f'与上次比对（<a href="{reverse("review_run_detail", args=[county_run.pk])}"' in body
    assert AuditLog.objects.filter(action="view", object_id=str(second.pk)).exists()


def test_findings_list_filters_by_code_action_township_and_status(
    client, make_user, county_run, planted
):
    client.force_login(make_user("clerk", "140425"))
    url = reverse("review_findings", args=[county_run.pk])
    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]

    def ids(**params):
        response = client.get(url, params)
        return {f.id_number for f in response.context["page"]}

    assert ids(code="DECEASED") == {dead.id_number}
    assert ids(action="STOP") >= {dead.id_number}
    assert ids(action="NOTIFY") == set()
    assert ids(township=dead.hukou_code[:9], code="DECEASED") == {dead.id_number}
    assert ids(township="140425999") == set()
    assert dead.id_number in ids(status="open")
    assert ids(status="confirmed") == set()


def _export(client, run, **params):
    """Submits the findings list's export and runs its job here (tests/helpers.py)."""
    response = client.get(reverse("review_findings", args=[run.pk]), {**params, "format": "xlsx"})
    job = run_submitted_job(response)
    assert (job.kind, job.state, job.percent) == ("finding_export", "done", 100), job.error
    download = client.get(reverse("archive_job_download", args=[job.pk]))
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    return job, list(sheet.iter_rows(values_only=True))


def test_xlsx_export_is_a_job_holding_every_filtered_finding_as_text_ids_masked(
    client, make_user, county_run, planted
):
    client.force_login(make_user("clerk", "140425"))
    job, rows = _export(client, county_run, code="DECEASED")
    assert rows[1][:6] == ("编号", "县（区）", "乡镇代码", "乡镇（街道）", "姓名", "公民身份号码")
    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    data = rows[2:]
    assert len(data) == 1 and "导出 1 条发现" in job.result["summary"]
    row = dict(zip(rows[1], data[0], strict=True))
    assert row["公民身份号码"] == mask_id(dead.id_number)
    assert row["问题类型"] == "死亡" and row["补贴"] == "两项补贴" and row["处理方式"] == "停发"
    assert row["证据来源"] == "死亡人员" and row["证据行号"] == 2
    assert row["证据内容"] == "死亡日期：2026-10-15"
    assert row["状态"] == "待核查"
    assert AuditLog.objects.filter(action="export", object_id=str(county_run.pk)).exists()
    assert AuditLog.objects.filter(action="download", object_id=str(job.pk)).exists()


def test_an_export_with_a_township_not_offered_holds_no_finding(client, make_user, county_run):
    client.force_login(make_user("clerk", "140425"))
    _job, rows = _export(client, county_run, township="140425999")
    assert len(rows) == 2  # the title and the headers


def test_an_export_of_a_run_outside_the_jurisdiction_exports_nothing(client, make_user, county_run):
    from jobs.runner import execute

    clerk = make_user("clerk", "140425")
    client.force_login(clerk)
    response = client.get(reverse("review_findings", args=[county_run.pk]), {"format": "xlsx"})
    pk = resolve(response["Location"].split("?")[0]).kwargs["pk"]
    clerk.subsidy_profile.division_id = "140426"
    clerk.subsidy_profile.save()
    execute(pk)
    job = Job.objects.get(pk=pk)
    assert job.state == "failed" and "未导出任何数据" in job.error


def test_export_needs_the_export_permission(client, make_user, county_run):
    from django.contrib.auth.models import Permission

    user = make_user("viewer", "140425", INSPECTOR)
    app_label, codename = perms.split(perms.EXPORT_FINDING)
    export = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    user.groups.first().permissions.remove(export)
    client.force_login(user)
    response = client.get(reverse("review_findings", args=[county_run.pk]), {"format": "xlsx"})
    assert response.status_code in (302, 403)


def test_another_countys_run_and_finding_are_404_and_logged(client, make_user, county_run):
    user = make_user("neighbour", "140426", ADMINISTRATOR)
    client.force_login(user)
    finding = county_run.findings.first()
    for url in (
        reverse("review_run_detail", args=[county_run.pk]),
        reverse("review_findings", args=[county_run.pk]),
        reverse("review_run_status", args=[county_run.pk]),
        reverse("review_outreach", args=[county_run.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("review_finding_detail", args=[finding.pk]),
        reverse("review_finding_notice", args=[finding.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("review_finding_verify", args=[finding.pk]),
            {"outcome": "confirmed", "note": "x"},
        ).status_code
        == 404
    )
    assert AuditLog.objects.filter(
        action="denied", user=user, object_type="review.ComparisonRun", object_id=str(county_run.pk)
    ).exists()
    assert AuditLog.objects.filter(
        action="denied", user=user, object_type="review.Finding", object_id=str(finding.pk)
    ).exists()


def test_county_user_sees_the_city_run_but_only_their_countys_findings(
    client, make_user, demo_people, upload, run_comparison
):
    run = run_comparison(CITY, [upload("cert_base", cert_base_rows(demo_people))])
    client.force_login(make_user("clerk", "140425"))
    response = client.get(reverse("review_findings", args=[run.pk]))
    assert response.status_code == 200
    counties = {f.county_id for f in response.context["page"]}
    assert counties <= {"140425"}
    other = run.findings.exclude(county_id="140425").first()
    assert client.get(reverse("review_finding_detail", args=[other.pk])).status_code == 404


def test_city_user_lists_runs_of_their_counties(client, make_user, county_run):
    client.force_login(make_user("city", CITY, INSPECTOR))
    response = client.get(reverse("review_runs"))
    assert county_run in list(response.context["page"])
    client.force_login(make_user("other", "140426", INSPECTOR))
    assert county_run not in list(client.get(reverse("review_runs")).context["page"])


def test_pages_need_the_review_permissions(client, django_user_model, county_run):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("plain")
    user.groups.add(Group.objects.get(name="编辑"))
    client.force_login(user)
    for url in (
        reverse("review_dashboard"),
        reverse("review_runs"),
        reverse("review_run_detail", args=[county_run.pk]),
    ):
        assert client.get(url).status_code in (302, 403), url


def test_fix_data_finding_links_to_the_record_to_correct(client, make_user, demo_people, planted):
    from archive.models import Division
    from review import services

    person = planted["CODE_MISMATCH"]
    run = services.execute_run(
        services.create_run(
            division=Division.objects.get(code=person.county_id),
            as_of=__import__("datetime").date(2026, 11, 30),
            uploads=[],
        ).pk
    )
    finding = run.findings.get(code="CERT_CODE_MISMATCH", id_number=person.id_number)
    client.force_login(make_user("clerk", person.county_id))
    body = client.get(reverse("review_finding_detail", args=[finding.pk])).content.decode()
    assert reverse("archive_person_detail", args=[person.pk]) in body
    assert "查看档案并更正" in body


def test_dashboard_shows_last_run_overdue_and_open_findings(client, make_user, county_run):
    client.force_login(make_user("city", CITY, INSPECTOR))
    response = client.get(reverse("review_dashboard"))
    assert response.status_code == 200
    rows = {row["division"].code: row for row in response.context["rows"]}
    assert rows["140425"]["run"] == county_run
    assert rows["140426"]["run"] is None and rows["140426"]["overdue"]
    assert {c["code"] for c in rows["140425"]["open"]} >= {"DECEASED"}
    chart = response.context["chart"]
    assert len(chart) == 12
    body = response.content.decode()
    assert "review-chart__bar" in body and "<script" not in body.split("review-chart")[1]


def test_every_page_renders_for_an_administrator(client, make_user, county_run):
    from review import services

    admin = make_user("boss", "140425", ADMINISTRATOR)
    finding = county_run.findings.get(code="DECEASED")
    services.verify(finding, outcome="confirmed", note="属实", user=admin)
    client.force_login(admin)
    for url, expected in (
        (reverse("review_dashboard"), "数据比对总览"),
        (reverse("review_rosters"), "上传比对数据"),
        (reverse("review_roster_detail", args=[county_run.rosters.get().pk]), "SHA-256"),
        (reverse("review_runs"), f"#{county_run.pk}"),
        (reverse("review_run_new"), "开始比对"),
        (reverse("review_run_detail", args=[county_run.pk]), "使用的比对数据"),
        (reverse("review_findings", args=[county_run.pk]), "比对发现列表"),
        (reverse("review_finding_detail", args=[finding.pk]), "撤销核查结论"),
        (reverse("review_outreach", args=[county_run.pk]), "应享未享"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


def test_admin_menu_offers_data_comparison(client, make_user):
    client.force_login(make_user("clerk", "140425"))
    body = client.get("/admin/").content.decode()
    assert reverse("review_dashboard") in body and reverse("review_rosters") in body


@pytest.mark.parametrize(
    "make_bomb", [bombs.shared_strings_bomb, bombs.malformed_sheet], ids=["bomb", "malformed"]
)
def test_a_hostile_roster_workbook_gets_a_chinese_message_and_leaves_no_file(
    client, make_user, make_bomb, settings
):
    client.force_login(make_user("clerk", "140425"))
    upload = SimpleUploadedFile("死亡名单.xlsx", make_bomb())
    response = client.post(
        reverse("review_rosters"),
        {"kind": "death", "division": "140425", "period": "2026-11", "file": upload},
    )
    job = run_submitted_job(response)
    assert job.state == "failed"
    assert "请在 Excel 中打开后另存为 .xlsx" in job.error and "TABLE_" not in job.error
    _nothing_kept(settings)


def test_findings_are_filtered_and_shown_by_township_name_not_code(
    client, make_user, county_run, planted
):
    client.force_login(make_user("clerk", "140425"))
    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    township = dead.hukou_code[:9]
    name = Division.objects.get(code=township).name
    listing = client.get(reverse("review_findings", args=[county_run.pk])).content.decode()
    assert f'<option value="{township}">{name}</option>' in listing
    finding = county_run.findings.filter(id_number=dead.id_number).first()
    detail = client.get(reverse("review_finding_detail", args=[finding.pk])).content.decode()
    assert name in detail and f"乡镇 {township}" not in detail


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_started_on_its_page_runs_in_a_real_worker_and_its_progress_reaches_100(
    celery_worker_process, client, make_user, roster_file
):
    from archive.management.commands.demo_data import load_demo
    from archive.models import Person
    from tests.helpers import wait_until

    load_demo(60, seed=7)
    person = Person.objects.filter(county_id="140425", enrolments__isnull=False).first()
    death = roster_file(
        "death", [{"姓名": person.name, "公民身份号码": person.id_number, "死亡日期": "2026-10-01"}]
    )
    client.force_login(make_user("clerk", "140425"))
    with death.open("rb") as fh:
        response = client.post(
            reverse("review_rosters"),
            {"kind": "death", "division": "140425", "period": "2026-11", "file": fh},
        )
    parsing = resolve(response["Location"].split("?")[0]).kwargs["pk"]
    assert wait_until(lambda: Job.objects.get(pk=parsing).is_finished, 120)
    assert Job.objects.get(pk=parsing).state == "done"
    response = client.post(
        reverse("review_run_new"),
        {
            "division": "140425",
            "as_of": "2026-11-30",
            "rosters": [RosterUpload.objects.get().pk],
        },
    )
    run = ComparisonRun.objects.get()
    status_url = reverse("archive_job_status", args=[run.job_id])
    assert response["Location"].startswith(reverse("archive_job_detail", args=[run.job_id]))
    seen: list[dict] = []

    def finished() -> bool:
        seen.append(client.get(status_url).json())
        return seen[-1]["finished"]

    assert wait_until(finished, 120), seen[-1]
    assert seen[-1]["state"] == "done" and seen[-1]["percent"] == 100, seen[-1]
    assert seen[-1]["next"] == reverse("review_run_detail", args=[run.pk])
    run.refresh_from_db()
    assert run.status == ComparisonRun.Status.FINISHED
    assert run.findings.filter(code="DECEASED", id_number=person.id_number).exists()
