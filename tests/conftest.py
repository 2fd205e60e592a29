"""Shared fixtures: the real services started by `make test`, a real Celery worker process,
and a real Chromium driven by Playwright.

A test that needs a service FAILS when the service is missing: `make test` exports
REQUIRE_SERVICES=1, and a skipped integration test would be a hidden failure. Running a single
unit test by hand without services still works: such tests do not ask for these fixtures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from jobs.kinds import QUEUES
from tests.helpers import ROOT, child_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_env(name: str) -> str:
    """Returns a service URL from the environment, or fails the test naming the command to use."""
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(
            f"{name} is not set: run the suite with `make test`, which starts the services."
        )
    return value


@pytest.fixture(autouse=True)
def _no_heartbeat_in_the_test_process(settings):
    """Work run in the test's own process (execute_run, OCR called directly) runs inside the
    test's transaction, which a heartbeat thread's separate connection would wait on. Worker
    processes keep their own settings; the crash tests set short beats for them."""
    settings.WORKER_HEARTBEAT_SECONDS = 3600


@pytest.fixture(scope="session")
def elasticsearch_url() -> str:
    return require_env("ELASTICSEARCH_URL")


@pytest.fixture(scope="session")
def es_client(elasticsearch_url: str):
    from elasticsearch import Elasticsearch

    client = Elasticsearch(elasticsearch_url, request_timeout=30)
    if not client.ping():
        pytest.fail(f"Elasticsearch at {elasticsearch_url} does not answer.")
    yield client
    client.close()


def start_celery_worker(
    log_path: Path, name: str, queues: str | None = None, **env_overrides: str
) -> subprocess.Popen:
    """A real worker process (its own process group, so a test can kill it with its pool
    children) consuming from the real broker, pointed at the test database; returns once it
    answers a ping."""
    require_env("CELERY_BROKER_URL")
    env = child_env(**env_overrides)
    log = open(log_path, "ab")  # noqa: SIM115 - closed when the process is reaped
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"]
    command += ["--concurrency", "1", "--without-gossip", "--without-mingle", "-n", f"{name}@%h"]
    command += ["-Q", queues or ",".join(QUEUES)]  # every queue unless told otherwise
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Celery worker exited with {proc.returncode}; see {log_path}")
        answers = app.control.ping(timeout=0.5) or []
        if any(any(key.startswith(f"{name}@") for key in answer) for answer in answers):
            return proc
    stop_celery_worker(proc)
    pytest.fail("Celery worker did not come up within 60 s")


def stop_celery_worker(proc: subprocess.Popen, *, kill: bool = False) -> None:
    """Stops a worker started by :func:`start_celery_worker`: warm shutdown, or with ``kill``
    SIGKILL to the whole process group, as the out-of-memory killer or a power cut would."""
    if kill:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen]:
    """A real worker process consuming from the real broker, pointed at the test database."""
    proc = start_celery_worker(Path(settings.DATA_DIR) / "celery-worker.log", "test")
    yield proc
    stop_celery_worker(proc)


@pytest.fixture
def browser(transactional_db) -> Iterator:
    """Chromium, started per test and only after the database is ready.

    Playwright's sync API runs an event loop in this thread, and while it runs Django's
    connection handler resolves to other connection objects: a test database restored after
    the loop started (serialized_rollback) would be invisible. Starting the browser after
    `transactional_db` keeps the order right; it costs about a second per browser test.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    # Playwright's sync API keeps an event loop running in this thread; Django would take the
    # test's own ORM calls for async code. The live server runs in its own thread regardless.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        # Never leak into subprocesses: `check --deploy` rightly refuses this variable.
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def admin_login(db, django_user_model):
    """An administrator and their password, for logging in through the browser."""
    password = "correct-horse-battery-staple"
    user = django_user_model.objects.create_superuser("admin", "", password)
    return user, password


@pytest.fixture(autouse=True)
def database_search_by_default(settings) -> None:
    """Record search runs on the embedded database backend unless a test asks for the
    Elasticsearch one (`tests/search/conftest.py`): other apps' tests create records inside a
    rolled-back transaction, which never reach an index."""
    settings.ELASTICSEARCH_URL = ""


_SERVICE_FIXTURES = {"elasticsearch_url", "es_client", "celery_worker_process"}
_BROWSER_FIXTURES = {"browser", "page"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test by the kind of parts it runs against, from the fixtures it uses, so
    `-m browser` or `-m "not services"` selects by kind while folders mirror the packages."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & _BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if used & _SERVICE_FIXTURES:
            item.add_marker(pytest.mark.services)
