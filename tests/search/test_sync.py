"""Keeping the index in step: an outbox row in the same transaction, a drain after commit,
nothing after a rollback, versions that keep an old write from overwriting a newer one, and
writes that wait while Elasticsearch is down — also with a node of our own
(scripts/es-node.sh on another port) stopped half-way and started again."""

from __future__ import annotations

import io
import json
import subprocess
import uuid

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from archive.models import Enrolment, Person
from search import service, sync
from search.backends import SearchUnavailable, get_backend
from search.models import OutboxEntry
from tests.helpers import ROOT
from tests.search.conftest import COUNTY, TODAY, Search, id_for, person, use_elasticsearch


@pytest.fixture
def backend(request, settings) -> Search:
    """The outbox exists only beside an Elasticsearch index: these tests run on the node."""
    return use_elasticsearch(request, settings)


@pytest.fixture
def es(backend) -> Search:
    return backend


pytestmark = pytest.mark.django_db


def names(query: str) -> list[str]:
    return [h.name for h in service.search(query, today=TODAY).hits]


def test_a_committed_change_is_drained_once_after_commit(es, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        person("孙悟空", id_for(808))
        person("猪八戒", id_for(809))
    assert [cb.__name__ for cb in callbacks] == ["_send_drain"]  # one drain, not one per row
    assert OutboxEntry.objects.filter(processed_at__isnull=True).count() >= 2
    es.index_now()
    assert names("悟空") == ["孙悟空"]
    assert OutboxEntry.objects.filter(processed_at__isnull=True).count() == 0


def test_a_rolled_back_change_leaves_nothing_to_index(es, django_capture_on_commit_callbacks):
    before = OutboxEntry.objects.count()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        person("沙悟净", id_for(810))
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert OutboxEntry.objects.count() == before
    es.index_now()
    assert names("悟净") == []


def test_an_older_version_never_overwrites_a_newer_one(es, people):
    backend = get_backend()
    case_file = people.li_si.case_files.get()
    row = next(iter(sync.ROWS["case_file"]([case_file.pk])))
    backend.write("case_file", [{**row, "name": "新名字"}], [], {case_file.pk: 10**9})
    backend.write("case_file", [{**row, "name": "旧名字"}], [], {case_file.pk: 10**9 - 1})
    backend.refresh("case_file")
    assert names("新名字") == ["新名字"]
    assert names("旧名字") == []


def test_an_enrolment_change_reaches_the_facets(es, people):
    Enrolment.objects.filter(person=people.li_si).update(status=Enrolment.Status.STOPPED)
    sync.enqueue_people([people.li_si.pk])  # a bulk update sends no signals: say so explicitly
    es.index_now()
    result = service.search("李四", today=TODAY)
    assert result.facets["status"] == {"stopped": 1}


def test_a_bulk_edit_is_one_outbox_insert_and_one_drain(es, people):
    ids = list(Person.objects.values_list("pk", flat=True))
    assert sync.enqueue_people(ids) == 7
    assert es.index_now() == 7


def test_with_elasticsearch_down_search_says_so_and_writes_wait(es, settings, people):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(SearchUnavailable):
        service.search("张三", today=TODAY)
    waiting = OutboxEntry.objects.filter(processed_at__isnull=True).count()
    person("唐僧", id_for(811))  # the write itself succeeds
    assert OutboxEntry.objects.filter(processed_at__isnull=True).count() > waiting
    with pytest.raises(SearchUnavailable):
        sync.drain()
    assert OutboxEntry.objects.filter(processed_at__isnull=True).count() > waiting
    settings.ELASTICSEARCH_URL = es.url
    es.index_now()
    assert names("唐僧") == ["唐僧"]


def test_the_database_backend_writes_no_outbox(settings, db):
    settings.ELASTICSEARCH_URL = ""
    person("白龙马", id_for(812))
    assert not OutboxEntry.objects.exists()
    assert names("白龙马") == ["白龙马"]


def test_a_roster_import_reaches_the_index_in_one_drain(es, db):
    from archive import casefiles
    from tests.archive.imports.test_import import ID_A, csv_bytes, roster_row, run

    run(csv_bytes([roster_row(ID_A)]))
    casefiles.case_file_for(Person.objects.get(id_number=ID_A))
    es.index_now()
    assert service.search(ID_A, today=TODAY).facets["status"] == {"active": 1}
    result = run(csv_bytes([roster_row(ID_A, 姓名="张三强", 享受生活补贴="否")]))
    assert result.updated == 1
    assert OutboxEntry.objects.filter(processed_at__isnull=True).exists()
    es.index_now()
    found = service.search(ID_A, today=TODAY)
    assert [h.name for h in found.hits] == ["张三强"]
    assert found.facets["status"] == {"stopped": 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_celery_worker_indexes_a_change_after_commit(celery_worker_process, settings, request):
    """End to end: a committed change, the drain queued by on_commit, a real worker process
    (which uses the session's index prefix), and the change searchable."""
    import time

    from tests.conftest import require_env
    from tests.search.conftest import _drop

    settings.ELASTICSEARCH_URL = require_env("ELASTICSEARCH_URL")
    prefix = settings.SEARCH_INDEX_PREFIX
    _drop(prefix)
    request.addfinalizer(lambda: _drop(prefix))
    person("沙和尚", id_for(813))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and names("和尚") != ["沙和尚"]:
        time.sleep(0.5)
    assert names("和尚") == ["沙和尚"]
    assert not OutboxEntry.objects.filter(processed_at__isnull=True).exists()


# --- Elasticsearch stopped in the middle of a test: a node of our own, stopped and started again

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
