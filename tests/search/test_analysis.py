"""One Chinese analysis for both indexes (search/analysis.py): Wagtail's elasticsearch8
backend, which indexes the CMS pages, reads text exactly as the record search does, on the real
node."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from wagtail.models import Page
from wagtail.search.backends.elasticsearch8 import Elasticsearch8SearchBackend

from search import analysis
from search.backends.elasticsearch import ElasticsearchBackend, _client
from tests.conftest import require_env
from tests.search.conftest import use_elasticsearch

pytestmark = pytest.mark.services

TEXTS = ["关于加强残疾人两项补贴精准管理的通知", "张", "ＡＢＣ１２３ 东王庄村", "晋民发〔2023〕1号"]


def _tokens(client, index: str, text: str, **analyzer: str) -> list[str]:
    answer = client.indices.analyze(index=index, text=text, **analyzer)
    return [token["token"] for token in answer["tokens"]]


def test_the_wagtail_index_uses_the_record_search_analysis_as_its_default(request, settings):
    use_elasticsearch(request, settings)
    client = _client(require_env("ELASTICSEARCH_URL"))
    records = ElasticsearchBackend(client).ensure("case_file")
    params = dict(django_settings.WAGTAILSEARCH_BACKENDS["default"])
    params["INDEX_PREFIX"] = f"{settings.SEARCH_INDEX_PREFIX}cms_"
    params["URLS"] = [require_env("ELASTICSEARCH_URL")]
    params["BACKEND"] = "wagtail.search.backends.elasticsearch8"
    pages = Elasticsearch8SearchBackend(params).get_index_for_model(Page)
    pages.put()
    request.addfinalizer(pages.delete)
    for text in TEXTS:
        ours = _tokens(client, records, text, analyzer=analysis.ANALYZER)
        assert _tokens(client, pages.name, text) == ours, text


def test_the_analysis_makes_bigrams_without_unigrams_and_keeps_a_lone_character(request, settings):
    use_elasticsearch(request, settings)
    client = _client(require_env("ELASTICSEARCH_URL"))
    records = ElasticsearchBackend(client).ensure("case_file")
    assert _tokens(client, records, "两项补贴", analyzer=analysis.ANALYZER) == [
        "两项",
        "项补",
        "补贴",
    ]
    assert _tokens(client, records, "张", analyzer=analysis.ANALYZER) == ["张"]
    assert _tokens(client, records, "ＡＢＣ１２３", analyzer=analysis.ANALYZER) == ["abc123"]
