"""The two search backends behind one interface (like Wagtail's search backends).

`database` runs on the tables themselves (SQLite or PostgreSQL) and is the embedded default;
`elasticsearch` runs on the index kept in sync by `search.sync`. `get_backend()` picks one from
``ELASTICSEARCH_URL`` at each call, so settings changed at run time (tests) take effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from django.conf import settings

from search.query import Request, Result

KINDS = ("case_file", "document")


class SearchUnavailable(Exception):
    """The search engine cannot be reached (shown to people as a Chinese message)."""

    message = "检索服务暂时不可用（Elasticsearch 无法连接），请稍后再试；其他功能不受影响。"


class Backend(Protocol):
    name: str
    #: whether changes must go through the outbox (an index kept beside the database)
    uses_outbox: bool

    def search(self, request: Request) -> Result: ...

    def case_file_rows(self, request: Request) -> Iterator[tuple[int, str, str, str]]:
        """(pk, ID number, county, hukou code) of every hit, unpaged, in no given order."""
        ...

    def write(
        self, kind: str, rows: Iterable[dict[str, Any]], deletes: Iterable[int], versions: dict
    ) -> None:
        """Indexes rows and removes deleted ids in one bulk request, each with its external
        version (``versions[id]``); an older version than the one indexed is ignored."""
        ...

    def count(self, kind: str) -> int | None: ...


def get_backend() -> Backend:
    if settings.ELASTICSEARCH_URL:
        from search.backends.elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend.for_url(settings.ELASTICSEARCH_URL)
    from search.backends.database import DatabaseBackend

    return DatabaseBackend()
