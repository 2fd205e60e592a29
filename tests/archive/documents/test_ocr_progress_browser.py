"""In Chromium: an archivist watches OCR read a scan on the case file page, without a reload —
the page counts the pages waiting, the session's real worker reads them, and the line ends in
识别完成 with the document's own state updated. The worker is another process: the scans go to
the session's private media root."""

from __future__ import annotations

import pytest

from archive import casefiles
from archive.documents import ingest
from archive.documents.ingest import FILED, Target
from archive.models import Document
from tests.archive.conftest import COUNTY
from tests.archive.documents import samples
from tests.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_case_file_page_follows_ocr_to_the_end_without_a_reload(
    celery_worker_process, live_server, page, make_user, upload, person, monkeypatch
):
    archivist = make_user("archivist", COUNTY, password="pw-Secret-123")
    case_file = casefiles.case_file_for(person)
    held: list[int] = []  # sent once the page has seen the scan waiting
    monkeypatch.setattr(ingest, "queue_ocr", held.append)
    [outcome] = upload(
        samples.scanned_pdf(3), "申请表.pdf", Target(case_file, "application_form"), archivist
    )
    assert outcome.status == FILED and len(held) == 1
    monkeypatch.undo()
    version = Document.objects.get(pk=outcome.document_id).current_id

    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/admin/casefiles/{case_file.pk}/")
    progress = page.locator("#ocr-progress")
    progress.locator("text=正在识别扫描件：已识别 0 / 3 页").wait_for()

    ingest.queue_ocr(version)
    progress.locator("text=识别完成：1 份文件，共 3 页。").wait_for(timeout=120_000)
    assert page.locator(f'[data-ocr-version="{version}"]').inner_text() == "已识别"
    assert progress.get_by_role("link", name="刷新页面查看识别结果").is_visible()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_idle_case_file_page_asks_less_often_and_an_upload_brings_it_back(
    live_server, page, make_user, person
):
    make_user("archivist", COUNTY, password="pw-Secret-123")
    case_file = casefiles.case_file_for(person)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/ocr/") else None)
    log_in(page, live_server.url, "archivist")
    page.clock.install()
    page.goto(f"{live_server.url}/admin/casefiles/{case_file.pk}/")
    page.wait_for_load_state("networkidle")

    for _ in range(150):  # five minutes of the page's clock, nothing waiting
        page.clock.run_for(2000)
        page.wait_for_timeout(20)  # real time for the answer to arrive and be read
    # 0, 10, 30, 70 and 150 s with the back-off; 31 times at a steady 10 s.
    assert 3 <= len(asked) <= 6

    before = len(asked)
    with page.expect_request(lambda r: r.url.endswith("/ocr/"), timeout=10_000):
        page.evaluate("document.dispatchEvent(new CustomEvent('archive:uploaded'))")
        page.clock.run_for(1000)
    assert len(asked) == before + 1
