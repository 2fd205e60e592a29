"""A person logs in to the admin in a real browser and is greeted in Chinese."""

import pytest

from tests.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_administrator_logs_in_and_sees_the_dashboard_in_chinese(live_server, page, admin_login):
    user, password = admin_login
    log_in(page, live_server.url, user.username, password)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "控制面板" in page.title() or page.get_by_text("控制面板").count() > 0
