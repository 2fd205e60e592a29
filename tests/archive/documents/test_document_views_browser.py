"""In Chromium: an archivist logs in, uploads a ZIP of scans to a case file, follows its
background job (the session's real worker files it) to each file's outcome, sees the checklist
fill in, opens a page in the viewer (zoom, rotate, next page) and exports the case file. The
worker is another process: the scans go to the session's private media root."""

from __future__ import annotations

import io
import zipfile

import pytest

from archive import casefiles
from tests.archive.conftest import COUNTY
from tests.archive.documents import samples
from tests.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_archivist_uploads_a_zip_views_a_page_and_exports_the_case_file(
    celery_worker_process, live_server, page, make_user, person, tmp_path
):
    make_user("archivist", COUNTY, password="pw-Secret-123")
    case_file = casefiles.case_file_for(person)
    scans = tmp_path / "扫描件.zip"
    scans.write_bytes(
        samples.zip_of(
            {
                "身份证正面.jpg": samples.jpeg(1, size=(600, 400)),
                "身份证反面.pdf": samples.scanned_pdf(2, seed=2),
                "readme.txt": b"not a scan",
            }
        )
    )

    log_in(page, live_server.url, "archivist")

    page.goto(f"{live_server.url}/admin/people/{person.pk}/casefile/")
    checklist_row = page.locator("#casefile-checklist tr[data-type=id_card]")
    assert "缺少" in checklist_row.inner_text()
    page.get_by_label("材料类型").select_option("id_card")
    page.get_by_label("选择扫描件").set_input_files(str(scans))
    page.get_by_role("button", name="上传").click()

    results = page.locator("[data-results] > li")
    results.first.locator("text=完成（3 个文件）").wait_for()
    text = results.first.inner_text()
    assert text.count("已归档") == 2 and "拒收" in text and "不支持" in text
    assert "任务详情" in text  # the row followed the job that filed the ZIP
    page.locator("#casefile-checklist tr[data-type=id_card]", has_text="已有 2 份").wait_for()
    assert "完整度 14%" in page.locator("#checklist-heading").inner_text()

    page.locator("#casefile-documents .archive-card__thumb").last.click()
    page.wait_for_url("**/admin/documents/*/")
    image = page.locator("[data-page-image]")
    page.wait_for_function("document.querySelector('[data-page-image]').naturalWidth > 0")
    assert "第 1 / 2 页" in page.locator("[data-page-label]").inner_text()
    page.get_by_role("button", name="放大").click()
    assert "%" in page.locator("[data-zoom-label]").inner_text()
    page.get_by_role("button", name="向右旋转").click()
    assert "rotate(90deg)" in (image.get_attribute("style") or "")
    page.locator("[data-next]").click()
    page.wait_for_function(
        "document.querySelector('[data-page-label]').textContent.includes('第 2 / 2 页')"
    )
    page.wait_for_function("document.querySelector('[data-page-image]').src.includes('/page/2/')")

    page.get_by_role("link", name=f"返回档案：{person.name}").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出档案（ZIP）").click()
    exported = download_info.value.path().read_bytes()
    names = zipfile.ZipFile(io.BytesIO(exported)).namelist()
    assert "manifest.csv" in names and "卷内目录.pdf" in names
    assert len([n for n in names if n.startswith("原件/")]) == 2
    case_file.refresh_from_db()
    assert case_file.document_count == 2
