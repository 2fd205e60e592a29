"""The inspector's search page (检索) on both backends: hits within the jurisdiction with IDs
masked, facets with counts that filter, highlighted OCR snippets, pages, the case-file link,
the permission, and a clear Chinese message when Elasticsearch is down."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.access.roles import ARCHIVIST, EDITOR
from archive.models import AuditLog
from core.numbers import mask_id
from tests.search.conftest import COUNTY

URL = "search_records"


@pytest.fixture
def inspector_client(client, make_user):
    client.force_login(make_user("pingshun", COUNTY))
    return client


def test_the_page_shows_hits_of_the_jurisdiction_masked_with_facets(people, inspector_client):
    response = inspector_client.get(reverse(URL), {"q": "张"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "张三丰" in html and "张伟" not in html  # 张伟 is in 黎城县
    assert mask_id(people.zhang_san.id_number) in html
    assert people.zhang_san.id_number not in html
    case_file = people.zhang_san.case_files.get()
    assert reverse("archive_casefile_detail", args=[case_file.pk]) in html
    assert "补贴类别" in html and "护理补贴</a>（1）" in html
    assert AuditLog.objects.filter(action="search", username="pingshun").exists()


def test_a_facet_link_filters_the_hits(people, inspector_client):
    response = inspector_client.get(reverse(URL), {"q": "张", "subsidy": "nursing"})
    html = response.content.decode()
    assert "张三丰" in html and ">张三</a>" not in html
    assert "共 1 份档案" in html


def test_an_ocr_phrase_is_highlighted(people, inspector_client):
    response = inspector_client.get(reverse(URL), {"q": "虚假愿承担"})
    html = response.content.decode()
    assert "李四" in html and "<mark>" in html


def test_pages_of_results(people, inspector_client, monkeypatch):
    monkeypatch.setattr("search.views.PAGE_SIZE", 2)
    first = inspector_client.get(reverse(URL)).content.decode()
    assert "第 1 / 3 页" in first
    last = inspector_client.get(reverse(URL), {"p": "3"}).content.decode()
    assert "第 3 / 3 页" in last
    beyond = inspector_client.get(reverse(URL), {"p": "9"}).content.decode()
    assert "第 3 / 3 页" in beyond


def test_a_bad_filter_value_is_explained(people, inspector_client):
    html = inspector_client.get(reverse(URL), {"subsidy": "gold"}).content.decode()
    assert "补贴类别的取值" in html


def test_an_editor_may_not_search(people, client, make_user):
    client.force_login(make_user("editor", COUNTY, role=EDITOR))
    assert client.get(reverse(URL)).status_code in (302, 403)


def test_with_elasticsearch_down_the_page_says_so_in_chinese(people, inspector_client, settings):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"
    response = inspector_client.get(reverse(URL), {"q": "张三"})
    assert response.status_code == 503
    assert "检索服务暂时不可用" in response.content.decode()
    settings.ELASTICSEARCH_URL = ""
    assert inspector_client.get(reverse("archive_casefile_list")).status_code == 200


def test_a_spot_check_can_start_from_the_search(people, inspector_client):
    html = inspector_client.get(
        reverse(URL), {"q": "王庄村", "subsidy": "nursing"}
    ).content.decode()
    link = (
        reverse("inspection_spot_check_new")
        + "?query=%E7%8E%8B%E5%BA%84%E6%9D%91&amp;subsidy=nursing"
    )
    assert link in html
    form = inspector_client.get(
        reverse("inspection_spot_check_new"), {"query": "王庄村", "subsidy": "nursing"}
    ).content.decode()
    assert 'value="王庄村"' in form


def test_the_spot_check_link_shows_only_to_those_who_may_draw_one(people, client, make_user):
    client.force_login(make_user("archivist", COUNTY, role=ARCHIVIST))  # searches, draws none
    response = client.get(reverse(URL), {"q": "王庄村"})
    assert response.context["total"] > 0
    assert reverse("inspection_spot_check_new") not in response.content.decode()


def test_the_page_offers_the_sorts_and_keeps_the_one_chosen(people, inspector_client):
    response = inspector_client.get(reverse(URL), {"q": "", "sort": "completeness"})
    assert response.status_code == 200
    assert '<option value="completeness" selected>档案完整度从低到高</option>' in response.text
    bad = inspector_client.get(reverse(URL), {"q": "", "sort": "name"})
    assert "排序方式“name”无效" in bad.text
