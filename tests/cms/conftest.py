"""Fixtures for the public site: the demo content, CMS users, and the search index.

Search runs on whatever backend the settings choose: Wagtail's database backend, or
Elasticsearch when ELASTICSEARCH_URL is set (as under `make test`). Elasticsearch needs its
index built with the right mapping and refreshed before a search sees new documents; the
helpers below do that and are no-ops for the database backend.
"""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

EDITOR_PASSWORD = "editor-pass-1234!"
APPROVER_PASSWORD = "approver-pass-1234!"


def uses_elasticsearch() -> bool:
    from wagtail.search.backends import get_search_backend

    return hasattr(get_search_backend(), "es")


def refresh_search_index() -> None:
    """Makes documents indexed so far visible to searches (Elasticsearch refresh)."""
    from wagtail.models import Page
    from wagtail.search.backends import get_search_backend

    backend = get_search_backend()
    if hasattr(backend, "es"):
        backend.get_index_for_model(Page).refresh()


def rebuild_search_index() -> None:
    """Indexes everything in the database now (creates the Elasticsearch mapping first)."""
    call_command("wagtail_update_index", stdout=io.StringIO(), stderr=io.StringIO())
    refresh_search_index()


@pytest.fixture(scope="session")
def _search_schema(django_db_setup, django_db_blocker):
    """Elasticsearch only: a fresh, empty page index with Wagtail's mapping, once a session.

    Afterwards pages are indexed by Wagtail's save signals, as in production. Documents of
    rolled-back tests stay in the index but never surface: results are loaded from the
    database, and primary keys are not reused.
    """
    if uses_elasticsearch():
        with django_db_blocker.unblock():
            call_command(
                "wagtail_update_index",
                schema_only=True,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )


@pytest.fixture(autouse=True)
def _fresh_page_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cms_home(_search_schema, db):
    """The demo site (load_cms_demo) and its home page, indexed for search."""
    from cms.demo import load_demo
    from cms.models import HomePage

    load_demo()
    refresh_search_index()
    return HomePage.objects.get()


@pytest.fixture
def client(client):
    """Django's test client, speaking to the host the default Site answers."""
    client.defaults["HTTP_HOST"] = "localhost"
    return client


def _user_in_group(django_user_model, username: str, password: str, group_name: str):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username, f"{username}@example.cn", password)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(cms_home, django_user_model):
    from cms.demo import EDITORS_GROUP

    return _user_in_group(django_user_model, "bianji", EDITOR_PASSWORD, EDITORS_GROUP)


@pytest.fixture
def approver(cms_home, django_user_model):
    from cms.demo import APPROVERS_GROUP

    return _user_in_group(django_user_model, "shenhe", APPROVER_PASSWORD, APPROVERS_GROUP)
