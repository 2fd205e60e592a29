"""The whole publishing path in Chromium: an editor creates a policy document with a PDF
attachment and submits it to the 政策发布审核 workflow; an approver approves and publishes it;
a visitor finds it by a Chinese phrase that appears only in the attachment and downloads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connections

from cms.minipdf import make_pdf
from tests.cms.conftest import APPROVER_PASSWORD, EDITOR_PASSWORD, refresh_search_index
from tests.helpers import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TITLE = "关于规范两项补贴申请表填写的通知"
PHRASE = "监护人代为签字的须注明关系"


def test_editor_submits_approver_publishes_visitor_finds_and_downloads(
    cms_home, editor, approver, live_server, browser, tmp_path: Path
):
    try:
        _publishing_flow(editor, approver, live_server.url, browser, tmp_path)
    finally:
        # ORM calls made while Playwright's event loop runs use their own connections;
        # close them here so the test database can be dropped at the end of the session.
        connections.close_all()


def _publishing_flow(editor, approver, base: str, browser, tmp_path: Path) -> None:
    from cms.models import PolicyIndexPage, PolicyPage

    pdf = tmp_path / "form-guide.pdf"
    pdf.write_bytes(make_pdf([["申请表填写说明", PHRASE]], title="申请表填写说明"))
    index = PolicyIndexPage.objects.get()

    # An editor drafts the document with an attachment and submits it for approval.
    editor_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = editor_context.new_page()
    tab.set_default_timeout(20_000)
    log_in(tab, base, editor.username, EDITOR_PASSWORD)
    tab.goto(f"{base}/admin/pages/add/cms/policypage/{index.pk}/")
    tab.locator("#id_title").fill(TITLE)
    tab.locator("#id_doc_number").fill("晋民发[2024]21号")  # as staff type it
    tab.get_by_label("山西省民政厅").check()
    tab.locator("#id_body").locator("xpath=..").locator("[contenteditable=true]").first.click()
    tab.keyboard.type("请按附件说明填写申请表。")
    tab.get_by_role("button", name="增加 附件").click()
    chooser = tab.get_by_role("dialog")
    chooser.get_by_role("tab", name="上传").click()
    chooser.get_by_label("文件").set_input_files(str(pdf))
    chooser.get_by_label("标题").fill("申请表填写说明")
    chooser.get_by_role("button", name="上传").click()
    tab.get_by_text("申请表填写说明", exact=True).wait_for()
    assert tab.get_by_role("button", name="发布", exact=True).count() == 0  # no publishing
    tab.get_by_role("button", name="更多动作").click()
    tab.get_by_role("button", name="提交给政策发布审核").click()
    tab.get_by_text("已创建并提交审核").wait_for()
    editor_context.close()

    draft = PolicyPage.objects.get(title=TITLE)
    assert not draft.live
    assert draft.get_latest_revision_as_object().doc_number == "晋民发〔2024〕21号"
    assert draft.current_workflow_state.status == "in_progress"

    # An approver approves, which publishes it.
    approver_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = approver_context.new_page()
    tab.set_default_timeout(20_000)
    log_in(tab, base, approver.username, APPROVER_PASSWORD)
    tab.goto(f"{base}/admin/pages/{draft.pk}/edit/")
    tab.get_by_role("button", name="更多动作").click()
    tab.get_by_role("button", name="批准 和发布", exact=True).click()
    tab.get_by_text("已被更新").wait_for()
    approver_context.close()

    published = PolicyPage.objects.get(pk=draft.pk)
    assert published.live and published.doc_number == "晋民发〔2024〕21号"
    assert PHRASE in published.attachment_text
    refresh_search_index()

    # A visitor searches for a phrase from the attachment, opens the page and downloads it.
    visitor_context = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    tab = visitor_context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{base}/")
    tab.get_by_label("搜索政策、通知和培训资料").fill(PHRASE)
    tab.get_by_role("button", name="搜索", exact=True).first.click()
    tab.wait_for_url("**/search/?q=*")
    results = tab.locator("ol.search-results > li")
    assert results.count() == 1
    assert "申请表填写说明" in results.first.inner_text()
    results.first.get_by_role("link", name=TITLE).click()
    assert tab.get_by_role("heading", level=1).inner_text() == TITLE
    with tab.expect_download() as download_info:
        tab.get_by_role("link", name="下载：申请表填写说明").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes() == pdf.read_bytes()
    visitor_context.close()
