"""Site search over the public pages and the text of their attachments, in Chinese.

Uses Wagtail search (the database backend, or Elasticsearch when ELASTICSEARCH_URL is set) on
the bigram field every page indexes (:mod:`cms.cjk`). Only live, unrestricted pages under the
site's home are searched, and policy documents that are not 主动公开 are excluded before the
backend is asked, so they can never appear.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from wagtail.models import Page
from wagtail.search.query import And, Phrase

from cms.cjk import query_phrases
from cms.doc_numbers import DocNumberError, normalize_doc_number
from cms.visibility import ACTIVE

EXCERPT_RADIUS = 40
MAX_RESULTS = 200


@dataclass
class Excerpt:
    before: str
    match: str
    after: str
    attachment: str = ""  # title of the attachment the phrase was found in, if any


@dataclass
class SearchOutcome:
    query: str
    terms: list[str] = field(default_factory=list)
    results: list = field(default_factory=list)

    def excerpts_for(self, pages) -> dict[int, Excerpt]:
        out = {}
        for page in pages:
            excerpt = make_excerpt(page, self.terms)
            if excerpt:
                out[page.pk] = excerpt
        return out


def hidden_policy_ids(policies: type[Page]) -> list[int]:
    return list(policies.objects.exclude(disclosure=ACTIVE).values_list("pk", flat=True))


def search_site(query: str, *, root: Page, policies: type[Page]) -> SearchOutcome:
    """``policies`` is the policy page model (cms.models.PolicyPage), passed in by the page
    that searches so that this module never imports the page models back."""
    phrases = query_phrases(query)
    terms = [unicodedata.normalize("NFKC", t) for t in (query or "").split()][: len(phrases)]
    if not phrases:
        return SearchOutcome(query=query)
    pages = Page.objects.live().public().descendant_of(root, inclusive=True)
    hidden = hidden_policy_ids(policies)
    if hidden:
        pages = pages.exclude(id__in=hidden)
    search_query = Phrase(phrases[0]) if len(phrases) == 1 else And([Phrase(p) for p in phrases])
    results = list(pages.specific().search(search_query)[:MAX_RESULTS])
    # A query that is a 文号 (in any bracket style) puts that document first.
    exact = exact_doc_number_matches(query, root, policies)
    if exact:
        exact_ids = {p.pk for p in exact}
        results = exact + [r for r in results if r.pk not in exact_ids]
    return SearchOutcome(query=query, terms=terms, results=results)


def exact_doc_number_matches(query: str, root: Page, policies: type[Page]) -> list:
    try:
        number = normalize_doc_number(query)
    except DocNumberError:
        return []
    return list(policies.public_objects().descendant_of(root).filter(doc_number=number))


def make_excerpt(page, terms: list[str]) -> Excerpt | None:
    """The first place in the page's text where a search term occurs, with some context."""
    parts_of = getattr(page, "search_plaintext_parts", None)
    if parts_of is None or not terms:
        return None
    text = "\n".join(p for p in parts_of()[1:] if p)  # skip the title, which is shown anyway
    folded = unicodedata.normalize("NFKC", text).lower()
    for term in terms:
        position = folded.find(term.lower())
        if position < 0:
            continue
        end = position + len(term)
        attachment = ""
        marker = folded.rfind("【附件:", 0, position)  # NFKC turns ： into :
        if marker >= 0:
            close = folded.find("】", marker)
            if 0 <= close < position:
                attachment = text[marker + 4 : close]
        before = text[max(0, position - EXCERPT_RADIUS) : position].replace("\n", " ")
        after = text[end : end + EXCERPT_RADIUS].replace("\n", " ")
        return Excerpt(
            before=("…" if position > EXCERPT_RADIUS else "") + before,
            match=text[position:end],
            after=after + ("…" if end + EXCERPT_RADIUS < len(text) else ""),
            attachment=attachment,
        )
    return None
