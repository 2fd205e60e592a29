"""The index page (检索索引) in the settings menu: counts beside the database, and a rebuild as
a background job with progress (search/views.py ``index_page``, search/jobs.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR
from archive.models import AuditLog
from jobs.models import Job
from search.backends import get_backend
from search.jobs import SEARCH_REBUILD
from tests.helpers import run_submitted_job
from tests.search.conftest import COUNTY

URL = "search_index"


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw-Secret-123")


def test_a_county_administrator_may_not_see_or_rebuild_the_index(people, client, make_user):
    client.force_login(make_user("admin", COUNTY, ADMINISTRATOR))
    for response in (client.get(reverse(URL)), client.post(reverse(URL))):
        assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert not Job.objects.filter(kind=SEARCH_REBUILD).exists()


def test_the_page_counts_the_database_and_the_index_per_kind(people, backend, client, superuser):
    backend.index_now()
    client.force_login(superuser)
    response = client.get(reverse(URL))
    assert response.status_code == 200
    rows = {row["label"]: row for row in response.context["rows"]}
    assert rows["补贴档案"]["db"] == rows["补贴档案"]["index"] == 7
    offers_rebuild = backend.name == "elasticsearch"  # the database is its own index
    assert ("重建检索索引</button>" in response.text) == offers_rebuild


def test_a_rebuild_runs_as_a_job_to_100_percent_and_is_audited(people, backend, client, superuser):
    client.force_login(superuser)
    job = run_submitted_job(client.post(reverse(URL)))
    assert job.state == Job.State.DONE, job.error
    assert AuditLog.objects.filter(action="search_rebuild", user=superuser).exists()
    if backend.name == "database":
        assert "无需重建" in job.result["summary"]
        return
    assert job.done == job.total > 0
    assert "补贴档案 7 条" in job.result["summary"]
    assert get_backend().count("case_file") == 7


@pytest.mark.parametrize("backend", ["database"], indirect=True)
def test_a_second_rebuild_is_refused_while_one_waits(people, client, superuser):
    client.force_login(superuser)
    client.post(reverse(URL))
    response = client.post(reverse(URL), follow=True)
    assert Job.objects.filter(kind=SEARCH_REBUILD).count() == 1
    assert "已有一次重建正在进行" in response.text


@pytest.mark.parametrize("backend", ["elasticsearch"], indirect=True)
def test_a_rebuild_drops_what_a_dead_rebuild_left(people, client, superuser):
    es = get_backend()
    es.ensure("case_file")
    leftover = es.create_index("case_file", loading=True)
    assert leftover in es.leftovers("case_file")
    client.force_login(superuser)
    job = run_submitted_job(client.post(reverse(URL)))
    assert job.state == Job.State.DONE, job.error
    assert es.leftovers("case_file") == []
