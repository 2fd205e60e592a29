"""In Chromium at 640 CSS pixels wide (a 1280-pixel screen at 200 % zoom, or a large phone):
the admin lists stay usable — a wide table scrolls inside its own box, the page itself never
scrolls sideways, and a Chinese name stays on one line (archive/static/archive/narrow.css,
added to every admin page by archive/wagtail_hooks.py); so do the pages an archivist works on
all day: the person, the case file, the document viewer and the forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive import casefiles
from archive.documents.ingest import FILED, Target
from tests.archive.conftest import COUNTY, make_person
from tests.archive.documents import samples
from tests.helpers import log_in

pytestmark = pytest.mark.browser

NARROW = {"width": 640, "height": 900}


def _login(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport=NARROW)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server.url, "archivist")
    return context, page


def _sideways(page) -> int:
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("private_media")
def test_the_person_case_file_viewer_and_forms_at_200_percent_zoom_never_scroll_sideways(
    browser, live_server, make_user, upload
):
    archivist = make_user("archivist", COUNTY, password="pw-Secret-123")
    person = make_person(1, name="欧阳娜娜")
    case_file = casefiles.case_file_for(person)
    [outcome] = upload(
        samples.scanned_pdf(2), "户口簿.pdf", Target(case_file, "household_register"), archivist
    )
    assert outcome.status == FILED
    pages = {
        "个人信息": reverse("archive_person_detail", args=[person.pk]),
        "编辑个人信息": reverse("archive_person_edit", args=[person.pk]),
        "补贴档案": reverse("archive_casefile_detail", args=[case_file.pk]),
        "卷内目录": reverse("archive_casefile_catalogue", args=[case_file.pk]),
        "扫描件查看": reverse("archive_document_view", args=[outcome.document_id]),
        "档案检索": reverse("search_records") + "?q=欧阳娜娜",
    }
    context, page = _login(browser, live_server)
    try:
        wide = {}
        for label, url in pages.items():
            response = page.goto(f"{live_server.url}{url}")
            assert response.status == 200, label
            if (overflow := _sideways(page)) > 1:
                wide[label] = overflow
        assert not wide, f"pages that scroll sideways at 640 px (px): {wide}"
    finally:
        context.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("url_name", ["archive_person_list", "archive_casefile_list"])
def test_lists_at_200_percent_zoom_scroll_their_table_and_keep_names_whole(
    browser, live_server, make_user, url_name
):
    make_user("archivist", COUNTY, password="pw-Secret-123")
    for serial, name in enumerate(["欧阳娜娜", "司马相如", "张三"], start=1):
        casefiles.case_file_for(make_person(serial, name=name))
    context, page = _login(browser, live_server)
    try:
        page.goto(f"{live_server.url}{reverse(url_name)}")
        name = page.locator("table.listing").get_by_text("欧阳娜娜", exact=True).first
        name.wait_for()
        assert name.evaluate("e => e.getClientRects().length") == 1  # one line, not 欧/阳/娜/娜
        overflow = _sideways(page)
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
    finally:
        context.close()
