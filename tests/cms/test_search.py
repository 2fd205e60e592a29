"""Site search in Chinese over public pages and the text of their attachments, on whichever
backend is configured (database, or Elasticsearch when ELASTICSEARCH_URL is set)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from cms.minipdf import make_pdf
from tests.cms.conftest import refresh_search_index
from tests.cms.helpers import make_document, publish_policy, soup

pytestmark = pytest.mark.django_db


def result_titles(client, query: str) -> list[str]:
    html = soup(client.get("/search/", {"q": query}))
    return [h.get_text(strip=True) for h in html.select("ol.search-results h2")]


def test_a_chinese_phrase_from_a_policy_body_finds_the_policy(client, cms_home):
    titles = result_titles(client, "每半年开展一次补贴数据比对")
    assert titles[0].startswith("关于贯彻落实民政部")
    assert len(titles) == 2  # the Shanxi notice and the 长治 notice whose attachment quotes it


def test_a_phrase_that_only_appears_in_a_pdf_attachment_finds_its_page(client, cms_home):
    pdf = make_pdf([["附件：残疾人两项补贴申请表填写说明", "监护人代为签字的须注明关系"]])
    document = make_document("申请表填写说明", "form-guide.pdf", pdf)
    publish_policy(
        title="关于规范申请表的通知",
        doc_number="晋民发〔2024〕21号",
        slug="form-guide",
        body="<p>请按附件填写。</p>",
        attachments=[document],
    )
    refresh_search_index()
    html = soup(client.get("/search/", {"q": "监护人代为签字"}))
    [result] = html.select("ol.search-results > li")
    assert result.find("h2").get_text(strip=True) == "关于规范申请表的通知"
    excerpt = result.get_text()
    assert "在附件《申请表填写说明》中" in excerpt
    assert result.find("mark").get_text() == "监护人代为签字"


def test_replacing_an_attachment_file_updates_what_search_finds(client, cms_home):
    document = make_document("旧说明", "old.txt", "旧版本的办理时限说明".encode())
    publish_policy(
        title="办理时限通知",
        doc_number="晋民发〔2024〕22号",
        slug="deadline",
        attachments=[document],
    )
    refresh_search_index()
    assert result_titles(client, "旧版本的办理时限") == ["办理时限通知"]
    document.file.save("new.txt", ContentFile("新版本的办理时限说明".encode()), save=False)
    document._set_document_file_metadata()
    document.save()
    refresh_search_index()
    assert result_titles(client, "新版本的办理时限") == ["办理时限通知"]
    assert result_titles(client, "旧版本的办理时限") == []


def test_every_term_of_a_multi_term_query_must_match(client, cms_home):
    both = result_titles(client, "致残障朋友的一封信")
    assert "致残障朋友的一封信" in both and len(both) > 1  # the Shanxi notice names the letter
    assert result_titles(client, "致残障朋友 申请不收任何费用") == ["致残障朋友的一封信"]
    assert result_titles(client, "一封信 不存在的说法") == []


def test_a_doc_number_typed_with_square_brackets_puts_that_document_first(client, cms_home):
    titles = result_titles(client, "晋民发[2023]1号")
    assert titles[0].startswith("关于贯彻落实民政部")


def test_faq_training_and_notice_text_is_searchable(client, cms_home):
    assert "常见问题" in result_titles(client, "申请时需要签署政策告知承诺书")
    assert result_titles(client, "市级：每半年比对一次") == [
        "残疾人两项补贴政策及业务培训（2023年）"
    ]
    assert "致残障朋友的一封信" in result_titles(client, "申请不收任何费用")


def test_an_empty_query_asks_for_a_search_term(client, cms_home):
    html = soup(client.get("/search/"))
    assert "请输入要查找的内容" in html.get_text()
    assert html.find("label", attrs={"for": "search-page-q"})


def test_no_results_says_so_in_a_status_message(client, cms_home):
    html = soup(client.get("/search/", {"q": "完全无关的词语组合"}))
    assert "没有找到" in html.find(attrs={"role": "status"}).get_text()
