"""Elasticsearch going away in the middle of a test, and a rebuild while searches run.

The outage test starts a second node of its own (scripts/es-node.sh on another port), stops it
half-way and starts it again: searches say so in Chinese meanwhile, writes succeed and wait in
the outbox, and `search_index catch-up` indexes them once the node is back.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse

from search import service
from search.backends import SearchUnavailable, get_backend
from search.models import OutboxEntry
from search.query import Dates, Request, parse
from tests.helpers import ROOT
from tests.search.conftest import COUNTY, TODAY, Search, id_for, person, use_elasticsearch

PORT = 59461  # the shared node is on 59400; this one is ours alone


def es_node(action: str) -> None:
    done = subprocess.run(
        ["scripts/es-node.sh", action, "--port", str(PORT)],
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "ES_NODE_HEAP": "512m"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"es-node {action} failed: {done.stderr[-2000:]}")


@pytest.fixture
def own_node(request, settings):
    es_node("start")
    request.addfinalizer(lambda: subprocess.run(
        ["scripts/es-node.sh", "stop", "--port", str(PORT), "--purge"], cwd=ROOT, check=False,
        capture_output=True, timeout=120,
    ))  # fmt: skip
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{PORT}"
    settings.SEARCH_INDEX_PREFIX = f"outage_{uuid.uuid4().hex[:8]}_"
    return Search("elasticsearch", settings.ELASTICSEARCH_URL)


def names(query: str) -> list[str]:
    return [h.name for h in service.search(query, today=TODAY).hits]


@pytest.mark.django_db
def test_elasticsearch_stopped_mid_test_then_back(own_node, client, make_user):
    person("孙悟空", id_for(901))
    own_node.index_now()
    assert names("悟空") == ["孙悟空"]

    es_node("stop")
    with pytest.raises(SearchUnavailable):
        service.search("悟空", today=TODAY)
    client.force_login(make_user("pingshun", COUNTY))
    page = client.get(reverse("search_records"), {"q": "悟空"})
    assert page.status_code == 503 and "检索服务暂时不可用" in page.content.decode()
    assert client.get(reverse("archive_casefile_list")).status_code == 200
    person("猪八戒", id_for(902))  # the write succeeds and waits
    assert OutboxEntry.objects.filter(processed_at__isnull=True).exists()

    es_node("start")  # the test node keeps no data across a restart: its index starts empty
    out = io.StringIO()
    call_command("search_index", "catch-up", "--json", stdout=out)
    assert json.loads(out.getvalue())["kinds"]["case_file"]["pending"] == 0
    assert names("八戒") == ["猪八戒"]  # the write that waited
    out = io.StringIO()
    call_command("search_index", "rebuild", "--json", stdout=out)
    assert json.loads(out.getvalue())["kinds"]["case_file"] == {"db": 2, "index": 2, "pending": 0}
    assert names("悟空") == ["孙悟空"]


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
