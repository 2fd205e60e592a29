"""Nobody reads Wagtail's English or a raw code on an admin page (issue 14; docs/ui.md).

Every role logs in on the demo data and opens the main admin pages and every item of its menu;
the visible text (scripts and styles stripped) must hold none of the English phrases Wagtail's
zh_Hans catalogue used to leave and none of the project's raw codes.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, RequestFactory
from playwright.sync_api import expect
from wagtail.admin.menu import SubmenuMenuItem, admin_menu
from wagtail.models import Page

from archive.access.roles import ADMINISTRATOR, ARCHIVIST, EDITOR, INSPECTOR
from archive.management.commands.demo_data import load_demo
from archive.models import Person, UserProfile
from cms.models import HomePage, PolicyPage

ROOT = Path(__file__).resolve().parents[2]

#: English a crawl of the admin found on screen before the project supplied its own strings.
ENGLISH = (
    "Wagtail",
    "Actions",
    "Root",
    "Locking",
    "Anyone can edit this",
    "Referenced",
    "Exploring",
    "Date updated",
    "Edited by",
    "Has child pages",
    "Page type",
    "Any",
    "None",
    "Sort by",
    "ascending order",
    "Autosave is paused",
    "Correct the validation errors",
    "Checks",
    "Content metrics",
    "Words",
    "Reading time",
    "Readability",
    "Toggle checks",
    "Maximum filesize",
    "The root level",
    "Focus on the drag button",
    "Disable custom ordering",
    "Site name",
    "Root page",
    "Port",
    "Search all pages",
    "Edit account avatar",
    "Password",
    "Letters, digits",
    "Moderators",
    "Editors",
    "Pages",
    "Images",
    "Documents",
    "editor guide",
    "Asia/Shanghai",
    "Europe/London",
    "Sign in",
    "Dashboard",
    "Settings",
    "Reports",
    "Help",
)
#: The project's codes, each of which has a Chinese label from its one definition.
RAW_CODES = (
    "DECEASED",
    "CERT_CANCELLED",
    "disability_certificate",
    "certificate_number",
    "D10",
    "D30",
    "view_thumbnail",
    "archive.Document",
)
#: A phrase counts only as a word of its own: "D30" inside the 档号 J014-MZ·2026-D30-LX-0001
#: is the archival standard's notation, not a raw code.
_EDGE = r"[\w.·/-]"
FORBIDDEN = re.compile(
    "|".join(rf"(?<!{_EDGE}){re.escape(p)}(?!{_EDGE})" for p in (*ENGLISH, *RAW_CODES))
)


def visible_text(html: str) -> str:
    """What a person reads: text nodes plus placeholders and tooltips; scripts, styles and
    elements hidden from everyone (the `hidden` attribute, e.g. an empty side-panel counter
    that says "None") out. Text only screen readers read (w-sr-only) stays in."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in [*soup(["script", "style"]), *soup.find_all(attrs={"hidden": True})]:
        tag.decompose()
    attributes = [
        tag[name] for name in ("placeholder", "title") for tag in soup.find_all(attrs={name: True})
    ]
    return "\n".join([soup.get_text("\n"), *attributes])


def offending(html: str) -> list[str]:
    found = []
    for line in visible_text(html).splitlines():
        found += [f"{m.group(0)!r} in {line.strip()[:80]!r}" for m in FORBIDDEN.finditer(line)]
    return found


def menu_urls(user) -> Iterator[str]:
    """Every URL of the admin menu this user is shown, submenus included."""
    request = RequestFactory().get("/admin/")
    request.user = user

    def walk(items) -> Iterator[str]:
        for item in items:
            if isinstance(item, SubmenuMenuItem):
                yield from walk(item.menu.menu_items_for_request(request))
            elif item.url.startswith("/admin/"):
                yield item.url

    yield from walk(admin_menu.menu_items_for_request(request))


@pytest.fixture
def demo(db) -> dict[str, object]:
    load_demo(60, seed=7)
    call_command("load_cms_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    person = Person.objects.order_by("pk").first()
    return {
        "county": person.county_id,
        "person": person,
        "home": HomePage.objects.get(),
        "policy": PolicyPage.objects.order_by("pk").first(),
    }


def make_user(django_user_model, name: str, role: str | None, county: str):
    if role is None:
        return django_user_model.objects.create_superuser(name, "", "pw-Secret-123")
    user = django_user_model.objects.create_user(name, password="pw-Secret-123")
    user.groups.add(Group.objects.get(name=role))
    UserProfile.objects.create(user=user, division_id=county)
    return user


def test_the_login_page_names_the_system_and_speaks_chinese(db, client, settings):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert offending(response.content.decode()) == []
    text = visible_text(response.content.decode())
    assert settings.WAGTAIL_SITE_NAME in text
    assert "登录" in text and "密码" in text
    assert "brand/emblem.svg" in response.content.decode()
    assert "brand/favicon.svg" in response.content.decode()


def test_no_role_reads_wagtail_english_or_a_raw_code_on_the_admin_pages(demo, django_user_model):
    home, policy, person = demo["home"], demo["policy"], demo["person"]
    pages = [
        "/admin/",
        "/admin/pages/",
        f"/admin/pages/{home.pk}/",
        f"/admin/pages/{policy.pk}/edit/",
        f"/admin/pages/{home.pk}/add_subpage/",
        "/admin/documents/",
        "/admin/images/",
        "/admin/users/",
        "/admin/groups/",
        "/admin/account/",
        "/admin/account/profile/",
        f"/admin/people/{person.pk}/",
        "/admin/documents/ocr/rerun/?ocr=failed",
    ]
    roles = {
        "archivist": ARCHIVIST,
        "inspector": INSPECTOR,
        "editor": EDITOR,
        "county_admin": ADMINISTRATOR,
        "superuser": None,
    }
    problems: dict[str, list[str]] = {}
    opened = 0
    for name, role in roles.items():
        user = make_user(django_user_model, name, role, demo["county"])
        client = Client()
        client.force_login(user)
        for url in dict.fromkeys([*pages, *menu_urls(user)]):
            response = client.get(url)
            if response.status_code != 200:
                continue  # a page this role may not open: nothing on it to read
            opened += 1
            found = offending(response.content.decode())
            if found:
                problems[f"{name} {url}"] = found
    assert opened > 40
    assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())


def test_wagtails_default_groups_and_root_names_are_not_shown_in_english(db):
    assert not Group.objects.filter(name__in=["Moderators", "Editors"]).exists()
    assert Page.objects.get(depth=1).title == "根目录"


def test_wagtails_welcome_page_reads_in_chinese_even_in_its_history(db):
    import datetime as dt

    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import PageLogEntry

    from archive.access.roles import (
        WAGTAIL_WELCOME_TITLE,
        WELCOME_PAGE_TITLE,
        retire_wagtail_defaults,
    )

    welcome = Page.objects.get(depth=2)
    assert welcome.title == WELCOME_PAGE_TITLE  # renamed after the migrations that made it
    entry = PageLogEntry.objects.create(
        page=welcome,
        label=WAGTAIL_WELCOME_TITLE,
        action="wagtail.delete",
        content_type=ContentType.objects.get_for_model(Page),
        timestamp=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )
    retire_wagtail_defaults()
    entry.refresh_from_db()
    assert entry.label == WELCOME_PAGE_TITLE


def test_the_sites_list_labels_its_columns_in_chinese(admin_client):
    text = visible_text(admin_client.get("/admin/sites/").content.decode())
    assert "端口号" in text and "站点名称" in text and "根页面" in text
    assert "Port" not in text and "Site name" not in text


def test_a_page_published_by_nobody_names_the_system_as_publisher():
    from django.template.loader import render_to_string

    text = visible_text(
        render_to_string("wagtailadmin/shared/user_avatar.html", {"user": None, "username": ""})
    )
    assert text.strip() == "系统"


def test_every_wagtail_string_has_a_chinese_translation(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "wagtail_missing_strings", ROOT / "scripts" / "wagtail-missing-strings.py"
    )
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolves a class's module through sys.modules while the script is executed.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert [(m.app, m.entry.msgid) for m in module.missing()] == []


def test_compiled_catalogues_are_committed_beside_their_sources():
    for domain in ("django", "djangojs"):
        po = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_size > 1000


def test_the_account_page_offers_no_english_time_zone_list(admin_client):
    response = admin_client.get("/admin/account/")
    assert response.status_code == 200
    assert "Asia/" not in visible_text(response.content.decode())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_page_editor_in_chromium_shows_no_english_from_the_js_catalogue(
    live_server, page, admin_login
):
    call_command("load_cms_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    policy = PolicyPage.objects.order_by("pk").first()
    user, password = admin_login
    page.goto(f"{live_server.url}/admin/login/")
    login_text = page.locator("body").inner_text()
    assert [m.group(0) for m in FORBIDDEN.finditer(login_text)] == []
    assert "密码" in login_text
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/pages/{policy.pk}/edit/")
    page.wait_for_load_state("networkidle")
    toggle = page.locator("[data-side-panel-toggle='checks']")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("heading", name="可读性", exact=True)).to_be_visible()
    # The readability grade, computed in the browser, comes from the project's djangojs catalogue.
    expect(page.locator("body")).to_contain_text(re.compile("良好|一般|复杂"))
    text = page.locator("body").inner_text()
    for english in ("Autosave is paused", "Checks", "Saved", "Content metrics", "Wagtail"):
        assert english not in text
    assert [m.group(0) for m in FORBIDDEN.finditer(text)] == []
    assert "内容统计" in text and "检查" in text
