"""`search.rebuild`: a rebuild swaps in a new index while searches keep answering."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import call_command

from archive.models import Person
from search import sync
from search.backends import get_backend
from search.backends.elasticsearch import first_index
from search.models import OutboxEntry
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


def test_the_first_outbox_row_after_a_rebuild_wins_over_the_loaded_document(people, backend):
    """A new database's first outbox row has id 1: a loaded document must be older than it."""
    OutboxEntry.objects.all().delete()  # long processed: the rebuild loads, replays nothing
    call_command("search_index", "rebuild", "--json", stdout=io.StringIO())
    case_file = people.li_si.case_files.get()
    Person.objects.filter(pk=people.li_si.pk).update(name="李四新")
    sync.apply(get_backend(), [OutboxEntry(pk=1, kind="case_file", object_id=case_file.pk)])
    get_backend().refresh("case_file")
    request = Request(parse("李四新"), [], {}, Dates(TODAY), facets=False)
    assert [hit.case_file for hit in get_backend().search(request).hits] == [case_file.pk]


def test_processes_making_the_first_index_at_once_make_one_behind_the_alias(backend):
    from search.backends.elasticsearch import alias

    es = get_backend()
    start = threading.Barrier(4)
    made: list[str] = []

    def ensure() -> None:
        start.wait()
        made.append(es.ensure("case_file"))

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    behind = list(es.client.indices.get_alias(name=alias("case_file")).body)
    assert len(made) == 4
    assert len(behind) == 1
    assert set(made) == set(behind)
    assert behind == [first_index("case_file")]


def test_a_first_index_left_without_its_alias_is_given_it_again(backend):
    from search.backends.elasticsearch import alias, index_body

    es = get_backend()
    es.client.indices.create(index=first_index("document"), **index_body("document"))
    assert es.current_index("document") is None
    assert es.ensure("document") == first_index("document")
    assert list(es.client.indices.get_alias(name=alias("document")).body) == [
        first_index("document")
    ]
