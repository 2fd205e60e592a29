"""Every public page type through Django's test client: status, headings, landmarks, the
seed documents and forwarding, the 主动公开 rule, filters, feeds, large-text mode and caching."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest
from defusedxml import ElementTree as ET
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.visibility import AMENDED, ON_REQUEST, REPEALED, WITHHELD
from tests.cms.conftest import refresh_search_index
from tests.cms.helpers import PUBLIC_URLS, publish_policy, soup

pytestmark = pytest.mark.django_db

EXPECTED_H1 = {
    "home": "残疾人两项补贴政策服务",
    "policy index": "政策文件",
    "policy": "关于贯彻落实民政部 财政部 中国残联《关于加强残疾人两项补贴精准管理的意见》的通知",
    "forwarding policy": "关于转发《关于加强残疾人两项补贴精准管理意见》的通知",
    "notice index": "通知公告",
    "notice": "致残障朋友的一封信",
    "notice poster": "致残障朋友的一封信",
    "training index": "培训资料",
    "training": "残疾人两项补贴政策及业务培训（2023年）",
    "faq": "常见问题",
    "search results": "站内搜索",
}


@pytest.mark.parametrize("name", list(PUBLIC_URLS))
def test_every_public_page_type_answers_with_one_h1_and_the_landmarks(client, cms_home, name):
    response = client.get(PUBLIC_URLS[name])
    assert response.status_code == 200
    html = soup(response)
    assert html.html["lang"] == "zh-Hans"
    assert [h.get_text(strip=True) for h in html.find_all("h1")] == [EXPECTED_H1[name]]
    assert html.find("main") is not None
    assert html.title.get_text(strip=True)
    levels = [int(h.name[1]) for h in html.find_all(re.compile(r"^h[1-6]$"))]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    if name != "notice poster":
        assert html.find("a", class_="skip-link")["href"] == "#main"
        assert html.find("main")["id"] == "main"
        assert html.find("header") and html.find("footer")
        assert html.find("nav", attrs={"aria-label": "主导航"})
        search_input = html.find("input", attrs={"name": "q"})
        assert html.find("label", attrs={"for": search_input["id"]})


def test_home_lists_the_latest_policies_notices_and_training(client, cms_home):
    html = soup(client.get("/"))
    links = {a.get_text(strip=True) for a in html.find_all("a")}
    assert EXPECTED_H1["policy"] in links
    assert EXPECTED_H1["forwarding policy"] in links
    assert "致残障朋友的一封信" in links
    assert EXPECTED_H1["training"] in links
    assert html.find("form", attrs={"role": "search"})


def test_seed_policy_pages_show_the_metadata_the_seed_states(client, cms_home):
    shanxi = soup(client.get(PUBLIC_URLS["policy"]))
    meta = dict(
        zip(
            [dt_.get_text(strip=True) for dt_ in shanxi.find("dl").find_all("dt")],
            [dd.get_text(" ", strip=True) for dd in shanxi.find("dl").find_all("dd")],
            strict=True,
        )
    )
    assert meta["文号"] == "晋民发〔2023〕1号"
    assert meta["发文机关"] == "山西省民政厅、山西省财政厅、山西省残疾人联合会"
    assert meta["印发日期"] == "2023年1月11日"
    assert meta["公开属性"] == "主动公开"
    assert meta["效力"].startswith("有效")
    text = shanxi.get_text()
    assert "三、加强数据比对，开展集中复核。" in text
    assert "强化数据比对与动态复核" in text

    changzhi = soup(client.get(PUBLIC_URLS["forwarding policy"]))
    first_meta = changzhi.find("dl").get_text(" ", strip=True)
    assert "长民发〔2023〕18号" in first_meta
    assert "长治市民政局、长治市财政局、长治市残疾人联合会" in first_meta


def test_forwarding_notice_links_to_and_shows_the_forwarded_document_beneath(client, cms_home):
    html = soup(client.get(PUBLIC_URLS["forwarding policy"]))
    forwarded = html.find("article", class_="forwarded")
    assert forwarded is not None
    assert forwarded.find("h2").get_text(strip=True) == EXPECTED_H1["policy"]
    assert forwarded.find("a", href=PUBLIC_URLS["policy"])
    assert "五、组织开展培训，强化保障措施。" in forwarded.get_text()
    attachment = html.find("a", attrs={"download": True})
    assert attachment["href"].startswith("/documents/")

    shanxi = soup(client.get(PUBLIC_URLS["policy"]))
    section = shanxi.find(id="forwarded-by-heading").parent
    assert section.find("a", href=PUBLIC_URLS["forwarding policy"])


@pytest.mark.parametrize("disclosure", [ON_REQUEST, WITHHELD])
def test_policy_not_actively_disclosed_is_404_and_absent_from_lists_search_and_feed(
    client, cms_home, disclosure
):
    publish_policy(
        title="内部掌握的补贴核查口径说明",
        doc_number="晋民函〔2024〕7号",
        slug="internal",
        disclosure=disclosure,
        body="<p>本文件包含核查口径保密措辞。</p>",
    )
    refresh_search_index()
    not_found = client.get("/policies/internal/")
    assert not_found.status_code == 404
    assert "页面不存在" in not_found.content.decode()
    for url in ["/", "/policies/", "/policies/?year=2024"]:
        assert "内部掌握的补贴核查口径说明" not in client.get(url).content.decode()
    results = client.get("/search/?q=核查口径保密措辞").content.decode()
    assert "没有找到" in results
    assert "内部掌握" not in client.get("/search/?q=晋民函〔2024〕7号").content.decode()
    for feed in ["/policies/feed/", "/policies/feed/atom/"]:
        assert "内部掌握" not in client.get(feed).content.decode()


def test_a_forwarded_document_that_is_not_public_is_not_shown_beneath(client, cms_home):
    hidden = publish_policy(
        title="不公开的原件",
        doc_number="晋民发〔2024〕9号",
        slug="hidden-original",
        disclosure=WITHHELD,
        body="<p>不应出现的原件正文。</p>",
    )
    publish_policy(
        title="转发不公开原件的通知",
        doc_number="长民发〔2024〕2号",
        slug="forwarding-hidden",
        forwards=hidden,
    )
    text = client.get("/policies/forwarding-hidden/").content.decode()
    assert "不应出现的原件正文" not in text


def test_policy_index_filters_by_year_issuer_topic_and_validity(client, cms_home):
    from cms.models import Issuer, PolicyPage, PolicyTopic

    shanxi = PolicyPage.objects.get(doc_number="晋民发〔2023〕1号")
    other_topic = PolicyTopic.objects.create(name="补贴标准")
    finance = Issuer.objects.get(name="山西省财政厅")
    publish_policy(
        title="关于调整补贴标准的通知",
        doc_number="晋财社〔2024〕5号",
        slug="standards-2024",
        issuers=[finance],
        topic=other_topic,
        validity=REPEALED,
        issued_date=dt.date(2024, 5, 6),
    )

    def titles(query: str) -> list[str]:
        html = soup(client.get("/policies/" + query))
        return [h.get_text(strip=True) for h in html.select("ul.item-list h2")]

    assert len(titles("")) == 3
    assert titles("?year=2024") == ["关于调整补贴标准的通知"]
    assert set(titles("?year=2023")) == {EXPECTED_H1["policy"], EXPECTED_H1["forwarding policy"]}
    assert set(titles(f"?issuer={finance.pk}")) == {"关于调整补贴标准的通知", shanxi.title}
    assert titles(f"?topic={other_topic.pk}") == ["关于调整补贴标准的通知"]
    assert titles("?validity=repealed") == ["关于调整补贴标准的通知"]
    assert len(titles("?validity=valid")) == 2
    assert titles(f"?year=2024&issuer={finance.pk}&validity=valid") == []
    assert len(titles("?year=garbage")) == 3  # a broken bookmark still lists everything
    html = soup(client.get("/policies/?year=2024"))
    assert html.find("select", id="filter-year").find("option", selected=True)["value"] == "2024"
    assert "符合条件的政策文件 1 件" in html.get_text()


def test_replaced_document_names_its_replacement(client, cms_home):
    from cms.models import PolicyPage

    new = PolicyPage.objects.get(doc_number="晋民发〔2023〕1号")
    old = publish_policy(
        title="旧的精准管理通知", doc_number="晋民发〔2021〕4号", slug="old", validity=AMENDED
    )
    old.replaced_by = new
    old.save_revision().publish()
    text = soup(client.get("/policies/old/")).find("dl").get_text(" ", strip=True)
    assert "已修订" in text and "晋民发〔2023〕1号" in text
    assert "旧的精准管理通知" in client.get(PUBLIC_URLS["policy"]).content.decode()


def test_policy_index_query_count_does_not_grow_with_the_number_of_documents(client, cms_home):
    def count_queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/policies/").status_code == 200
        return len(captured)

    few = count_queries()
    for n in range(12):
        publish_policy(title=f"测试文件{n}", doc_number=f"晋民发〔2022〕{n + 10}号", slug=f"t{n}")
    assert count_queries() == few


def test_notice_has_a_poster_print_view_with_a4_print_styles(client, cms_home):
    notice = soup(client.get(PUBLIC_URLS["notice"]))
    assert notice.find("a", href=PUBLIC_URLS["notice poster"])
    poster = client.get(PUBLIC_URLS["notice poster"])
    html = soup(poster)
    stylesheet = html.find("link", rel="stylesheet")["href"]
    assert stylesheet.endswith("cms/poster.css")
    assert html.find("nav") is not None and "打印" in html.find("nav").get_text()
    assert "户籍所在地" in html.find("main").get_text()
    from django.contrib.staticfiles import finders

    css = Path(finders.find("cms/poster.css")).read_text(encoding="utf-8")
    assert "size: A4" in css and "@media print" in css


def test_training_pages_list_materials_audiences_and_the_sessions_held_per_year(client, cms_home):
    index = soup(client.get("/training/"))
    assert "2023年" in index.find("table").find("caption").get_text()
    assert "长治市" in index.find("table").get_text()
    assert "尚无培训记录的市" in index.get_text()
    page = soup(client.get("/training/training-2023/"))
    meta = page.find("dl").get_text(" ", strip=True)
    assert "民政、残联、财政、乡镇经办人员" in meta
    slides = page.find("a", attrs={"download": True})
    assert "培训课件" in slides.get_text() and slides["href"].endswith(".pdf")


def test_faq_groups_questions_under_who_what_to_bring_and_where(client, cms_home):
    html = soup(client.get("/faq/"))
    assert [h.get_text(strip=True) for h in html.find_all("h2")] == [
        "谁可以申请",
        "申请要带什么",
        "到哪里申请",
        "其他问题",
    ]
    questions = [h.get_text(strip=True) for h in html.find_all("h3")]
    assert "申请要带哪些材料？" in questions and "到哪里申请？" in questions


def test_attachment_downloads_from_the_policy_page(client, cms_home):
    href = soup(client.get(PUBLIC_URLS["forwarding policy"])).find("a", download=True)["href"]
    response = client.get(href)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert "晋民发〔2023〕1号".encode() in body


def test_rss_and_atom_feeds_list_new_public_policies(client, cms_home):
    rss = client.get("/policies/feed/")
    assert rss.status_code == 200 and "rss" in rss["Content-Type"]
    titles = [t.text for t in ET.fromstring(rss.content).iter("title")]
    assert any("晋民发〔2023〕1号" in t for t in titles)
    atom = client.get("/policies/feed/atom/")
    assert "atom" in atom["Content-Type"]
    entries = ET.fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 2
    link = entries[0].find("{http://www.w3.org/2005/Atom}link").get("href")
    assert link.startswith("http://localhost/policies/")


def test_large_text_mode_is_switched_by_a_plain_link_and_kept_in_a_cookie(client, cms_home):
    html = soup(client.get("/faq/"))
    assert "large-text" not in html.html.get("class", [])
    toggle = html.find("p", class_="display-toggle").find("a")
    assert toggle.get_text(strip=True) == "大字易读模式"
    response = client.get(toggle["href"])
    assert response.status_code == 302 and response["Location"] == "/faq/"
    assert response.cookies["cms_large"].value == "1"
    html = soup(client.get("/faq/"))
    assert "large-text" in html.html["class"]
    toggle = html.find("p", class_="display-toggle").find("a")
    assert toggle.get_text(strip=True) == "切换到标准字号"
    client.get(toggle["href"])
    assert "large-text" not in soup(client.get("/faq/")).html.get("class", [])
    assert "large-text" in soup(client.get("/faq/?large=1")).html["class"]


def test_display_toggle_does_not_redirect_to_another_site(client, cms_home):
    response = client.get("/display/?large=1&next=https://evil.example/")
    assert response["Location"] == "/"


def test_anonymous_pages_are_cached_and_a_publish_shows_up_at_once(client, cms_home):
    first = client.get("/policies/")
    assert 'desc="miss"' in first["Server-Timing"]
    assert "public" in first["Cache-Control"] and "Cookie" in first["Vary"]
    second = client.get("/policies/")
    assert 'desc="hit"' in second["Server-Timing"]
    assert second.content == first.content
    publish_policy(title="刚刚发布的文件", doc_number="晋民发〔2024〕1号", slug="fresh")
    assert "刚刚发布的文件" in client.get("/policies/").content.decode()


def test_logged_in_staff_never_get_cached_pages(client, cms_home, editor):
    client.get("/faq/")  # an anonymous visit fills the cache
    client.force_login(editor)  # the login form itself is throttled (django-axes)
    response = client.get("/faq/")
    assert 'desc="bypass"' in response["Server-Timing"]
    assert "private" in response["Cache-Control"]


def test_every_public_page_reports_its_time_and_is_cached_after_the_first_visit(client, cms_home):
    """How fast they are is measured by bench/pages_bench.py, never asserted here."""
    for name, url in PUBLIC_URLS.items():
        cache.clear()
        first, second = client.get(url), client.get(url)
        assert first.status_code == second.status_code == 200, name
        assert re.search(r'dur=[\d.]+;desc="miss"', first["Server-Timing"]), name
        assert re.search(r'dur=[\d.]+;desc="hit"', second["Server-Timing"]), name
