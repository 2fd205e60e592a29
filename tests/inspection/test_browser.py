"""In Chromium: an inspector logs in, draws a stratified spot check and records a result."""

from __future__ import annotations

import pytest

from inspection.models import SpotCheck, SpotCheckItem
from tests.helpers import log_in
from tests.inspection.conftest import COUNTY

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_inspector_draws_a_spot_check_and_records_a_result(live_server, page, make_user, people):
    make_user("inspector", COUNTY, password="pw-Secret-123")
    log_in(page, live_server.url, "inspector")

    page.goto(f"{live_server.url}/admin/inspection/spot-checks/")
    page.get_by_role("link", name="发起抽查").click()
    page.get_by_label("抽查区划").select_option(COUNTY)
    page.get_by_label("固定数量").check()
    page.get_by_label("抽取数量（份）").fill("3")
    page.get_by_label("按乡镇分层", exact=False).check()
    page.get_by_label("随机种子").fill("浏览器")
    page.get_by_role("button", name="抽取样本").click()
    page.wait_for_url("**/admin/inspection/spot-checks/*/")

    check = SpotCheck.objects.get()
    assert "已抽取 3 份（总体 30 份）" in page.content()
    assert check.seed in page.locator("[data-seed]").inner_text()
    assert "已检查 0 / 3 份" in page.locator("#spot-check-progress").inner_text()
    assert page.locator("#township-progress tbody tr").count() == 2

    page.locator("#spot-check-items tbody tr").first.get_by_role("link").click()
    page.wait_for_url("**/admin/inspection/spot-check-items/*/")
    for field, _label in SpotCheckItem.CHECKLIST:
        page.locator(f"[data-field={field}] input[value=yes]").check()
    page.get_by_label("合格", exact=True).check()
    page.get_by_label("检查说明").fill("材料与记录一致")
    page.get_by_role("button", name="保存检查结果").click()
    page.wait_for_url("**/admin/inspection/spot-checks/*/")
    assert "检查结果已保存" in page.content()
    assert "已检查 1 / 3 份（33%）" in page.locator("#spot-check-progress").inner_text()
    first = page.locator("#spot-check-items tbody tr").first
    assert "合格" in first.inner_text()
    item = check.items.get(position=1)
    assert item.result == "pass" and item.recorded_by.username == "inspector"
