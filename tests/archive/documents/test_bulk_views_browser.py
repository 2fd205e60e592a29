"""In Chromium: on the inbox, 全选 ticks every scan of the page (archive/static/archive/bulk.js),
and one bulk action sets the type of all of them."""

from __future__ import annotations

import pytest

from archive.documents.ingest import inbox_target, ingest_stream
from archive.models import Document
from tests.archive.conftest import COUNTY
from tests.archive.documents import samples
from tests.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_select_all_ticks_every_scan_and_one_action_types_them(
    live_server, page, make_user, monkeypatch
):
    import io

    monkeypatch.setattr("archive.documents.ingest.queue_ocr", lambda version_id: None)
    archivist = make_user("archivist", COUNTY, password="pw-Secret-123")
    for seed in range(3):
        ingest_stream(
            io.BytesIO(samples.jpeg(60 + seed)),
            f"扫描{seed}.jpg",
            inbox_target(archivist),
            archivist,
        )
    log_in(page, live_server.url, "archivist")

    page.goto(f"{live_server.url}/admin/documents/inbox/")
    page.get_by_label("全选本页文件").check()
    boxes = page.locator('input[name="ids"][form="bulk-form"]')
    assert boxes.count() == 3
    assert all(boxes.nth(i).is_checked() for i in range(3))
    page.locator("#bulk-action").select_option("type")
    page.locator("#bulk-type").select_option("bank_card")
    page.get_by_role("button", name="对勾选的文件执行").click()
    page.get_by_text("设置材料类型：已处理 3 份文件").wait_for()
    assert set(Document.objects.values_list("doc_type", flat=True)) == {"bank_card"}
