"""In Chromium at 640 CSS pixels wide (a 1280-pixel screen at 200 % zoom, or a large phone):
the admin lists stay usable — a wide table scrolls inside its own box, the page itself never
scrolls sideways, and a Chinese name stays on one line (archive/static/archive/narrow.css,
added to every admin page by archive/wagtail_hooks.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive import casefiles
from tests.archive.conftest import COUNTY, make_person

pytestmark = pytest.mark.browser

NARROW = {"width": 640, "height": 900}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("url_name", ["archive_person_list", "archive_casefile_list"])
def test_lists_at_200_percent_zoom_scroll_their_table_and_keep_names_whole(
    browser, live_server, make_user, url_name
):
    make_user("archivist", COUNTY, password="pw-Secret-123")
    for serial, name in enumerate(["欧阳娜娜", "司马相如", "张三"], start=1):
        casefiles.case_file_for(make_person(serial, name=name))
    context = browser.new_context(locale="zh-CN", viewport=NARROW)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.locator("#id_username").fill("archivist")
        page.locator("#id_password").fill("pw-Secret-123")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/admin/")
        page.goto(f"{live_server.url}{reverse(url_name)}")
        name = page.locator("table.listing").get_by_text("欧阳娜娜", exact=True).first
        name.wait_for()
        assert name.evaluate("e => e.getClientRects().length") == 1  # one line, not 欧/阳/娜/娜
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
    finally:
        context.close()
