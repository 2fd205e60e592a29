"""`search.rebuild`: a rebuild swaps in a new index while searches keep answering."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import call_command

from search.backends import get_backend
from search.query import Dates, Request, parse
from tests.search.conftest import TODAY, Search, use_elasticsearch


@pytest.fixture
def backend(request, settings) -> Search:
    return use_elasticsearch(request, settings)


def test_a_rebuild_keeps_searches_answering(people, backend):
    es = get_backend()
    request = Request(parse("张"), [], {}, Dates(TODAY), facets=False)
    totals: list[int] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def search_loop() -> None:
        while not stop.is_set():
            try:
                totals.append(es.search(request).total)
            except Exception as error:
                errors.append(error)

    thread = threading.Thread(target=search_loop)
    thread.start()
    try:
        for _ in range(3):
            call_command("search_index", "rebuild", "--json", stdout=io.StringIO())
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors
    assert totals and set(totals) == {3}
