"""The admin upload → preview → confirm → result pages of the roster import.

The views are mounted here under ``admin/import/`` next to the Wagtail admin, as the
``register_admin_urls`` hook mounts them, so that these tests do not depend on the hook.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import include, path, reverse
from openpyxl import load_workbook
from wagtail.admin import urls as wagtailadmin_urls

from archive import import_views, job_views
from archive.models import EnrolmentChange, ImportRecord, Person
from tests.archive.imports.test_import import (
    COUNTY,
    ID_B,
    ID_C,
    OTHER_COUNTY,
    csv_bytes,
    make_id,
    roster_row,
)
from tests.core import bombs
from tests.helpers import follow_job, run_submitted_job

urlpatterns = [
    path("admin/import/", include((import_views.urlpatterns, "archive_import"))),
    path("admin/", include(job_views.urlpatterns)),
    path("admin/", include(wagtailadmin_urls)),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path: Path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "", "pw")
    client.force_login(user)
    client.user = user
    return client


def upload(client, rows: list[dict[str, Any]], name: str = "花名册.csv", data: bytes | None = None):
    content = csv_bytes(rows) if data is None else data
    return client.post(
        reverse("archive_import:upload"), {"file": SimpleUploadedFile(name, content)}
    )


def test_upload_page_lists_the_columns(admin_client) -> None:
    response = admin_client.get(reverse("archive_import:upload"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "导入两项补贴对象花名册" in page and "公民身份号码" in page


def test_upload_previews_every_row_and_writes_nothing(admin_client, private_media) -> None:
    response = upload(admin_client, [roster_row(), roster_row(ID_B, 家庭类别="富裕")])
    preview_url = follow_job(response)
    page = admin_client.get(preview_url).content.decode()
    assert "新增" in page and "拒绝" in page
    assert "富裕" in page and "140425********" in page  # IDs masked in the preview
    assert Person.objects.count() == ImportRecord.objects.count() == 0
    stored = list((private_media / "imports").glob("*.upload"))
    assert len(stored) == 1 and len(stored[0].stem) == 64
    assert stored[0].stat().st_mode & 0o077 == 0


def test_preview_is_paginated_100_rows_per_page(admin_client) -> None:
    rows = [roster_row(make_id(seq=seq)) for seq in range(100, 350)]
    preview_url = follow_job(upload(admin_client, rows))
    first = admin_client.get(preview_url)
    assert len(first.context["page"].object_list) == 100
    assert first.context["page"].paginator.num_pages == 3
    last = admin_client.get(preview_url, {"page": 3})
    assert last.context["page"].object_list[0]["row"] == 202
    assert len(last.context["page"].object_list) == 50
    rejected_only = admin_client.get(preview_url, {"outcome": "rejected"})
    assert rejected_only.context["page"].paginator.count == 0


def test_confirm_atomic_imports_and_shows_the_result(admin_client, private_media) -> None:
    preview_url = follow_job(upload(admin_client, [roster_row(), roster_row(ID_B)]))
    sha = preview_url.rstrip("/").rsplit("/", 1)[1]
    response = admin_client.post(
        reverse("archive_import:confirm", kwargs={"sha": sha}), {"mode": "atomic"}
    )
    result_url = follow_job(response)
    record = ImportRecord.objects.get()
    assert result_url == reverse("archive_import:result", kwargs={"pk": record.pk})
    assert (record.created, record.imported_by) == (2, admin_client.user)
    assert EnrolmentChange.objects.filter(source=f"导入 #{record.pk}").count() == 2
    assert not list((private_media / "imports").glob("*.upload"))  # removed once imported
    page = admin_client.get(result_url).content.decode()
    assert "导入结果" in page and "下载被拒绝的行" not in page


def test_confirm_atomic_with_errors_writes_nothing(admin_client) -> None:
    preview_url = follow_job(
        upload(admin_client, [roster_row(), roster_row(ID_B, 家庭类别="富裕")])
    )
    sha = preview_url.rstrip("/").rsplit("/", 1)[1]
    response = admin_client.post(
        reverse("archive_import:confirm", kwargs={"sha": sha}), {"mode": "atomic"}
    )
    job = run_submitted_job(response)
    assert job.state == "failed" and "整体导入" in job.error
    assert job.result["url"] == preview_url  # back to the preview, to choose or correct
    assert Person.objects.count() == ImportRecord.objects.count() == 0


def test_skip_invalid_offers_the_rejected_rows_for_download(admin_client) -> None:
    rows = [roster_row(), roster_row(ID_B, 家庭类别="富裕"), roster_row(ID_C)]
    preview_url = follow_job(upload(admin_client, rows))
    sha = preview_url.rstrip("/").rsplit("/", 1)[1]
    before = admin_client.get(reverse("archive_import:preview_rejected", kwargs={"sha": sha}))
    assert before.status_code == 200
    response = admin_client.post(
        reverse("archive_import:confirm", kwargs={"sha": sha}), {"mode": "skip_invalid"}
    )
    result_url = follow_job(response)
    record = ImportRecord.objects.get()
    assert (record.created, record.rejected, record.mode) == (2, 1, "skip_invalid")
    page = admin_client.get(result_url).content.decode()
    assert "下载被拒绝的行" in page
    download = admin_client.get(reverse("archive_import:rejected", kwargs={"pk": record.pk}))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet.max_row == 2 and sheet["B2"].value == ID_B
    assert "错误原因" in [c.value for c in sheet[1]]


def test_bad_file_fails_its_job_in_chinese_and_leaves_no_file(admin_client, private_media) -> None:
    job = run_submitted_job(upload(admin_client, [], name="roster.xlsx", data=b"%PDF-1.7\n"))
    assert job.state == "failed" and "PDF" in job.error
    assert job.result["url"] == reverse("archive_import:upload")
    page = admin_client.get(reverse("archive_job_detail", args=[job.pk])).content.decode()
    assert "PDF" in page and "返回修改" in page
    assert not list((private_media / "imports").glob("*.upload"))


def test_county_user_sees_other_county_rows_rejected(client, make_user) -> None:
    clerk = make_user("pingshun", COUNTY)
    client.force_login(clerk)
    preview_url = follow_job(
        upload(client, [roster_row(), roster_row(ID_B, 户籍区划代码=OTHER_COUNTY)])
    )
    data = client.get(preview_url).context["data"]
    assert (data["created"], data["rejected"]) == (1, 1)
    assert "不在您的辖区内" in data["rows"][1]["reasons"][0]


def test_user_without_the_import_permission_is_turned_away(client, make_user) -> None:
    from archive.access.roles import INSPECTOR

    inspector = make_user("inspector", COUNTY, role=INSPECTOR)
    client.force_login(inspector)
    response = client.get(reverse("archive_import:upload"))
    assert response.status_code == 302
    assert response["Location"] != reverse("archive_import:upload")


def test_anonymous_user_is_sent_to_the_login(client) -> None:
    response = client.get(reverse("archive_import:upload"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_preview_of_someone_elses_upload_is_not_found(admin_client, client, make_user) -> None:
    preview_url = follow_job(upload(admin_client, [roster_row()]))
    clerk = make_user("pingshun", COUNTY)
    client.force_login(clerk)
    assert client.get(preview_url).status_code == 404


def test_result_of_someone_elses_import_is_not_found(admin_client, client, make_user) -> None:
    preview_url = follow_job(upload(admin_client, [roster_row()]))
    sha = preview_url.rstrip("/").rsplit("/", 1)[1]
    follow_job(
        admin_client.post(
            reverse("archive_import:confirm", kwargs={"sha": sha}), {"mode": "atomic"}
        )
    )
    record = ImportRecord.objects.get()
    client.force_login(make_user("pingshun", COUNTY))
    assert client.get(reverse("archive_import:result", kwargs={"pk": record.pk})).status_code == 404


@pytest.mark.parametrize(
    "make_bomb",
    [bombs.shared_strings_bomb, bombs.malformed_sheet, bombs.entity_sheet],
    ids=["shared-strings", "malformed-xml", "entities"],
)
def test_a_hostile_workbook_gets_a_chinese_message_and_leaves_no_file(
    admin_client, private_media, make_bomb
) -> None:
    job = run_submitted_job(upload(admin_client, [], name="花名册.xlsx", data=make_bomb()))
    assert job.state == "failed"
    assert "请在 Excel 中打开后另存为 .xlsx" in job.error
    assert not ImportRecord.objects.exists() and not Person.objects.exists()
    leftovers = [p for p in (private_media / "imports").iterdir()]
    assert leftovers == []


def test_opening_the_preview_and_its_rejected_rows_is_audited(admin_client) -> None:
    from archive.models import AuditLog

    preview_url = follow_job(
        upload(admin_client, [roster_row(ID_B), roster_row(ID_C, 公民身份号码="123")])
    )
    admin_client.get(preview_url)
    preview = AuditLog.objects.get(action="import_preview")
    assert "花名册.csv" in preview.detail
    sha = preview_url.rstrip("/").rsplit("/", 1)[-1]
    admin_client.get(reverse("archive_import:preview_rejected", args=[sha]))
    assert AuditLog.objects.filter(action="import_rejected_download", object_id=sha[:16]).exists()
