"""The list of case files: filters in SQL, no per-row queries, XLSX export."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from archive import casefiles
from archive.documents.ingest import Target
from archive.models import AuditLog, Division
from core.numbers import mask_id
from tests.archive.conftest import make_person
from tests.archive.documents import samples
from tests.helpers import run_submitted_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


@pytest.fixture
def several(upload, archivist):
    files = []
    for serial in range(1, 7):
        subsidies = ("living",) if serial % 2 else ("nursing",)
        person = make_person(serial, name=f"人员{serial}", subsidies=subsidies)
        files.append(casefiles.case_file_for(person))
    # the first has everything it needs for the living subsidy
    for seed, item in enumerate(casefiles.current_checklist().items):
        if item["required_for"] in ("both", "living"):
            upload(samples.jpeg(seed), f"{seed}.jpg", Target(files[0], item["code"]), archivist)
    upload(samples.jpeg(100), "id.jpg", Target(files[1], "id_card"), archivist)
    return files


def test_filters(client, archivist, several):
    client.force_login(archivist)
    url = reverse("archive_casefile_list")

    def listed(**params):
        return {cf.pk for cf in client.get(url, params).context["page"]}

    assert listed() == {cf.pk for cf in several}
    assert listed(completeness="complete") == {several[0].pk}
    assert several[0].pk not in listed(completeness="incomplete")
    assert listed(missing="id_card") == {cf.pk for cf in several[2:]}
    assert listed(subsidy="nursing") == {several[1].pk, several[3].pk, several[5].pk}
    assert listed(status="stopped") == set()
    assert listed(division="140425") == {cf.pk for cf in several}
    assert listed(division="140426") == set()
    assert listed(q="人员3") == {several[2].pk}


def test_the_division_filter_offers_only_the_county_and_its_townships(client, archivist, several):
    township = Division.objects.create(
        code="140425100", name="城关镇", level=Division.Level.TOWNSHIP, parent_id="140425"
    )
    Division.objects.create(
        code="140426100", name="邻县镇", level=Division.Level.TOWNSHIP, parent_id="140426"
    )
    person = several[2].person
    person.hukou_code = "140425100201"
    person.save(update_fields=["hukou_code"])
    client.force_login(archivist)
    url = reverse("archive_casefile_list")
    response = client.get(url)
    offered = {d.code for d in response.context["form"].fields["division"].queryset}
    assert offered == {"140425", township.code}
    listed = {cf.pk for cf in client.get(url, {"division": township.code}).context["page"]}
    assert listed == {several[2].pk}
    assert client.get(url, {"division": "140426100"}).context["total"] == 0


def test_list_makes_no_per_row_queries(client, archivist, several):
    client.force_login(archivist)
    url = reverse("archive_casefile_list")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for serial in range(7, 20):
        casefiles.case_file_for(make_person(serial, name=f"更多{serial}"))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_list_is_limited_to_the_jurisdiction(client, other_archivist, several):
    client.force_login(other_archivist)
    response = client.get(reverse("archive_casefile_list"))
    assert response.context["total"] == 0


def _downloaded_rows(client, job) -> list[tuple]:
    response = client.get(reverse("archive_job_download", args=[job.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return list(sheet.iter_rows(values_only=True))


def test_the_xlsx_export_is_a_job_holding_the_filtered_list_with_ids_masked(
    client, archivist, several
):
    client.force_login(archivist)
    response = client.get(
        reverse("archive_casefile_list"), {"format": "xlsx", "missing": "id_card"}
    )
    job = run_submitted_job(response)
    assert (job.kind, job.state, job.percent) == ("case_file_export", "done", 100)
    assert "导出 4 份档案" in job.result["summary"]
    rows = _downloaded_rows(client, job)
    assert rows[0][:5] == ("县（区）", "姓名", "公民身份号码", "补贴", "完整度（%）")
    assert len(rows) == 1 + 4
    assert all("居民身份证（复印件）" in row[5] for row in rows[1:])
    people = {cf.person.name: cf.person.id_number for cf in several}
    assert {row[2] for row in rows[1:]} == {mask_id(people[row[1]]) for row in rows[1:]}
    assert AuditLog.objects.filter(action="export", object_type="archive.CaseFile").exists()
    assert AuditLog.objects.filter(action="download", object_id=str(job.pk)).exists()


def test_an_export_with_a_division_not_offered_holds_no_case_file(client, archivist, several):
    client.force_login(archivist)
    response = client.get(
        reverse("archive_casefile_list"), {"format": "xlsx", "division": "140426"}
    )
    job = run_submitted_job(response)
    assert job.state == "done" and len(_downloaded_rows(client, job)) == 1
