"""In Chromium: a clerk uploads a roster of 3 000 people, watches its background job's progress
bar on the job page until the preview opens by itself, confirms, and watches the import's bar
until the result. The session's real worker runs both jobs; while the page loads, the test
holds the importers' advisory lock, so the import is certainly still on its way (validated,
waiting to write) however fast the machine."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from archive.imports.write import IMPORT_LOCK
from archive.models import Person
from tests.archive.conftest import COUNTY
from tests.archive.imports.test_import import csv_bytes, many_rows
from tests.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]
ROWS = 3000
JOB_PAGE = re.compile(r".*/admin/jobs/\d+/.*")


def _roster(tmp_path):
    path = tmp_path / "花名册.csv"
    path.write_bytes(csv_bytes(many_rows(ROWS)))
    return path


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_large_roster_shows_its_progress_until_the_preview_and_the_result(
    celery_worker_process, live_server, page, make_user, tmp_path
):
    make_user("clerk", COUNTY, password="pw-Secret-123")
    roster = _roster(tmp_path)
    log_in(page, live_server.url, "clerk")

    page.goto(f"{live_server.url}/admin/import/beneficiaries/")
    page.locator("input[type=file]").set_input_files(str(roster))
    with page.expect_response(JOB_PAGE) as job_page:
        page.get_by_role("button", name="上传并预览").click()
    # the request only stored the file and submitted the job; the page it leads to is the job's
    # bar, read from the response because a fast worker may finish the preview and the page may
    # follow on before a locator looks
    assert "progress data-job-bar" in job_page.value.text()
    page.wait_for_url("**/admin/import/beneficiaries/preview/**", timeout=120_000)
    assert f"共 {ROWS} 行：新增 {ROWS}" in page.locator("main").inner_text()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
    try:
        page.get_by_role("button", name="确认导入").click()
        page.wait_for_url(JOB_PAGE)
        bar = page.locator("progress[data-job-bar]")
        page.wait_for_function(
            "() => Number(document.querySelector('progress[data-job-bar]').value) > 0",
            timeout=120_000,
        )  # the validation's progress arrives without a reload
        assert float(bar.get_attribute("value")) <= 100
        assert page.locator("[data-job-state]").inner_text() == "进行中"
        assert Person.objects.count() == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK])
    page.wait_for_url("**/admin/import/beneficiaries/result/**", timeout=120_000)
    assert Person.objects.count() == ROWS
