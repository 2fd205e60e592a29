"""Pagination of admin lists: one page parameter (`p`) and the query string that keeps the
filters when moving between pages."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_PARAM = "p"
#: Rows per page of the admin lists (people, case files, the inbox, appraisal).
PAGE_SIZE = 50


def paginate(request: HttpRequest, items, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get(PAGE_PARAM))


def query_without_page(request: HttpRequest) -> str:
    """The current filters, URL-encoded, for the templates' previous/next links."""
    query = request.GET.copy()
    query.pop(PAGE_PARAM, None)
    return query.urlencode()
