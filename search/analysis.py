"""The one definition of Chinese text analysis in Elasticsearch, for both indexes that use it.

standard → cjk_width → lowercase → cjk_bigram without unigrams (``docs/search.md``): a phrase of
bigrams finds exactly the texts that contain a query of two or more characters (smartcn missed
6 % of two-character names; unigrams cost precision). The record search builds its analyzer from
it (``search.backends.elasticsearch.CJK_TEXT``) and Wagtail's ``elasticsearch8`` backend, which
indexes the CMS pages and documents, gets it as its index's default analyzer through
``INDEX_SETTINGS`` (``config/settings.py``), so a policy document is read as a case file is.

Plain data, no Django and no client library: settings import it before any app is loaded.
"""

from __future__ import annotations

from typing import Any

ANALYZER = "cjk_text"
BIGRAM_FILTER = "cjk_bigram_only"
TOKENIZER = "standard"
#: The token filters in order; the last is :data:`BIGRAM_FILTER`, defined below.
FILTERS = ("cjk_width", "lowercase", BIGRAM_FILTER)
BIGRAM_FILTER_DEFINITION: dict[str, Any] = {"type": "cjk_bigram", "output_unigrams": False}


def analysis(name: str = ANALYZER) -> dict[str, Any]:
    """The ``analysis`` block of index settings that defines the analyzer as ``name``."""
    return {
        "analyzer": {name: {"type": "custom", "tokenizer": TOKENIZER, "filter": list(FILTERS)}},
        "filter": {BIGRAM_FILTER: dict(BIGRAM_FILTER_DEFINITION)},
    }


def wagtail_index_settings() -> dict[str, Any]:
    """Wagtail's ``INDEX_SETTINGS``: the Chinese analyzer as the default of every text field
    that names none (Wagtail's own ngram analyzers for autocomplete stay as they are)."""
    return {"settings": {"analysis": analysis("default")}}
