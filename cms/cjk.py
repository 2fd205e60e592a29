"""Chinese text for full-text search, without a Chinese word segmenter.

Chinese is written without spaces, so PostgreSQL's parser (Wagtail's database backend) reads a
whole clause such as ``加强残疾人两项补贴精准管理`` as one "word", and a visitor searching for
``精准管理`` finds nothing. We therefore index every run of Han characters as overlapping
character bigrams (``精准 准管 管理 …``) and turn each search term into the phrase of its
bigrams. A phrase match on bigrams is an exact substring match on the original text, and it
works the same way on every backend: PostgreSQL (phraseto_tsquery), SQLite FTS5 and
Elasticsearch (match_phrase; with the standard analyzer each bigram becomes two adjacent
characters, and with the ``cjk`` analyzer it stays one bigram — both line up with the query).

Latin letters and digits are kept as whole lower-case words. Pure: no Django.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_INDEX_TOKENS", "index_text", "query_phrases", "tokens"]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]+|[0-9a-z]+")
_HAN_RUN = re.compile(rf"[{_HAN}]")

# PostgreSQL keeps positions up to 16383 in a tsvector; beyond that phrase matching degrades.
# Title, summary and body come first in the indexed text, attachments last.
MAX_INDEX_TOKENS = 16000
MAX_QUERY_TERMS = 8


def tokens(text: str) -> list[str]:
    """Han runs as overlapping bigrams (a lone character stays itself); other words whole."""
    if not text:
        return []
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for run in _TOKEN.findall(text):
        if _HAN_RUN.match(run) and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def index_text(*texts: str, limit: int = MAX_INDEX_TOKENS) -> str:
    """The bigram form of some texts, space-separated, for a search field."""
    out: list[str] = []
    for text in texts:
        out.extend(tokens(text))
        if len(out) >= limit:
            break
    return " ".join(out[:limit])


def query_phrases(query: str) -> list[str]:
    """One bigram phrase per whitespace-separated term of a visitor's query."""
    phrases: list[str] = []
    for term in (query or "").split():
        term_tokens = tokens(term)
        if term_tokens:
            phrases.append(" ".join(term_tokens))
    return phrases[:MAX_QUERY_TERMS]
