"""Saved searches (常用检索): an inspector's searches kept by name to run again.

Only the words and the filters are kept, checked as the search page checks them; the hits are
not, and running a saved search is an ordinary search inside the owner's jurisdiction of the
day (search/models.py ``SavedSearch``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.http import urlencode

from search.models import SavedSearch
from search.query import FILTERS, FilterError, validate_filters


class SavedSearchError(ValueError):
    """A search that cannot be saved; the message says why, in Chinese."""


def save(user, name: str, query: str, filters: dict[str, str]) -> tuple[SavedSearch, bool]:
    """Keeps a search under a name; the same name again replaces it. Returns the row and
    whether it is new."""
    name = " ".join(name.split())[:60]
    if not name:
        raise SavedSearchError("请填写常用检索的名称")
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise SavedSearchError("筛选条件无效")
    try:
        clean = validate_filters(filters)
    except FilterError as error:
        raise SavedSearchError(str(error)) from None
    query = query.strip()[:200]
    if not query and not clean:
        raise SavedSearchError("请先输入检索词或选择筛选条件，再保存")
    with transaction.atomic():
        mine = SavedSearch.objects.select_for_update().filter(user=user)
        existing = mine.filter(name=name).first()
        if existing is None and mine.count() >= SavedSearch.LIMIT_PER_USER:
            raise SavedSearchError(
                f"最多保存 {SavedSearch.LIMIT_PER_USER} 个常用检索，请先删除不再使用的"
            )
        saved, created = SavedSearch.objects.update_or_create(
            user=user, name=name, defaults={"query": query, "filters": clean}
        )
    return saved, created


def query_string(saved: SavedSearch) -> str:
    """The search page's query string that runs the saved search."""
    return urlencode({"q": saved.query, **saved.filters} if saved.query else saved.filters)
