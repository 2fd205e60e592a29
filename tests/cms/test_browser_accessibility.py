"""Every public page type in Chromium: axe-core finds no serious or critical violations (in the
normal and the large-text mode), pages reflow at 320 CSS px (= 1280 px at 400 % zoom, so
certainly 200 %) without horizontal scrolling, and the skip link is the first thing a keyboard
reaches. axe.min.js ships inside the axe-playwright-python package: nothing is fetched."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.cms.helpers import PUBLIC_URLS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def test_axe_finds_no_serious_or_critical_violations_on_any_public_page_type(
    cms_home, live_server, page
):
    failures = {}
    for name, url in PUBLIC_URLS.items():
        page.goto(live_server.url + url)
        found = blocking_violations(page)
        if found:
            failures[name] = found
    assert failures == {}


def test_axe_passes_in_large_text_mode_and_on_a_phone_sized_screen(cms_home, live_server, page):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + "/faq/")
    page.get_by_role("link", name="大字易读模式").click()
    page.wait_for_url(live_server.url + "/faq/")
    assert "large-text" in (page.locator("html").get_attribute("class") or "")
    failures = {}
    for name in ["home", "policy", "forwarding policy", "notice", "training index", "faq"]:
        page.goto(live_server.url + PUBLIC_URLS[name])
        found = blocking_violations(page)
        if found:
            failures[name] = found
    assert failures == {}


def test_pages_reflow_at_320_css_pixels_without_horizontal_scrolling(cms_home, live_server, page):
    page.set_viewport_size({"width": 320, "height": 640})
    overflowing = {}
    for name, url in PUBLIC_URLS.items():
        page.goto(live_server.url + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            overflowing[name] = width
    assert overflowing == {}


def test_first_tab_reaches_the_skip_link_which_moves_focus_to_the_main_content(
    cms_home, live_server, page
):
    page.goto(live_server.url + PUBLIC_URLS["policy"])
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "跳到主要内容"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_public_pages_load_no_javascript_and_nothing_from_other_hosts(cms_home, live_server, page):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    for url in PUBLIC_URLS.values():
        page.goto(live_server.url + url)
        assert page.locator("script").count() == 0
    assert requests and all(r.startswith(live_server.url) for r in requests)


def test_axe_check_is_live_and_reports_a_missing_image_alternative(live_server, page):
    page.goto(live_server.url + "/healthz")
    page.set_content("<!DOCTYPE html><html><body><img src='x.png'></body></html>")
    assert any(v.startswith("image-alt (critical)") for v in blocking_violations(page))
