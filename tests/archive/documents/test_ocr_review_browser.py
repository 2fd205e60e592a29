"""In Chromium: an archivist works through the OCR 核对 queue by keyboard — A accepts and opens
the next document, N skips to the next, a digit focuses a field, Enter saves a correction —
with the crop of where a field was read beside it."""

from __future__ import annotations

import pytest

from archive.documents.ocr_views import CROP_WIDTH
from archive.models import Document, OcrCheck
from tests.archive.conftest import COUNTY
from tests.archive.documents.ocr_queue import Page, certificate_fields, certify, scanned
from tests.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("private_media")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_keyboard_accepts_skips_and_corrects(
    live_server, page, make_user, case_file, monkeypatch
):
    # The OCR results are given below; a worker left running by another test must not read
    # the scans again (this test commits) and reorder the queue.
    monkeypatch.setattr("archive.documents.ingest.queue_ocr", lambda version_id: None)
    archivist = make_user("archivist", COUNTY, password="pw-Secret-123")
    person = case_file.person
    certify(person)
    fields = certificate_fields(person)
    boxes = {"certificate_number": (0.1, 0.6, 0.8, 0.7)}
    first, second, third = (
        scanned(
            archivist, case_file, seed=seed, pages=[Page(1, "id_card", 0.7, fields, boxes=boxes)]
        )
        for seed in (1, 2, 3)
    )

    log_in(page, live_server.url, "archivist")

    page.get_by_role("link", name="OCR 核对").first.click()
    page.wait_for_url("**/admin/ocr-review/")
    page.locator("[data-start]").click()
    page.wait_for_url(f"**/admin/ocr-review/{first.pk}/")
    assert "A 全部确认" in page.locator("#ocr-shortcuts").inner_text()
    page.wait_for_function("document.querySelector('[data-page-image]').naturalWidth > 0")
    crop = page.get_by_role("img", name="残疾人证号在第 1 页的位置")
    assert crop.bounding_box()["width"] == pytest.approx(CROP_WIDTH, abs=2)  # with its border
    assert "/page/1/" in crop.evaluate("e => getComputedStyle(e).backgroundImage")

    page.keyboard.press("a")
    page.wait_for_url(f"**/admin/ocr-review/{second.pk}/")
    assert "已确认全部识别结果" in page.locator("body").inner_text()
    assert OcrCheck.objects.filter(version_id=first.current_id, corrected=False).count() == 7

    page.keyboard.press("2")
    assert page.evaluate("document.activeElement.name") == "id_number"
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.wait_for_url(f"**/admin/ocr-review/{third.pk}/")
    assert not OcrCheck.objects.filter(version_id=second.current_id).exists()

    page.keyboard.press("3")
    assert page.evaluate("document.activeElement.name") == "name"
    page.keyboard.type("李四")
    assert page.locator("[data-accept]").inner_text() == "保存更正并确认（A）"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/ocr-review/")
    assert "更正了姓名" in page.locator("body").inner_text()
    check = OcrCheck.objects.get(version_id=third.current_id, field="name")
    assert check.corrected and check.value_confirmed == "李四"
    assert Document.objects.get(pk=third.pk).current.ocr_fields["fields"]["name"] == "李四"
    assert page.locator(f"#ocr-queue tr[data-document='{second.pk}']").count() == 1
