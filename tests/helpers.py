"""Running `manage.py` in a child process, as a person or a scheduler would.

Commands are a public interface (docs/commands.md): their exit codes and output are tested from a real
process, not through call_command, and the child must use the same test database.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

#: Set by test fixtures for Playwright, never wanted in a child (`check --deploy` refuses it).
_NEVER_INHERITED = ("DJANGO_ALLOW_ASYNC_UNSAFE",)


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment, pointed at the current test database."""
    env = {k: v for k, v in os.environ.items() if k not in _NEVER_INHERITED}
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    # The same record-search backend and index as the test (tests/conftest.py picks it).
    env["ELASTICSEARCH_URL"] = settings.ELASTICSEARCH_URL or ""
    env["SEARCH_INDEX_PREFIX"] = settings.SEARCH_INDEX_PREFIX
    env.update(overrides)
    return env


def run_manage(
    *args: str, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Runs `python manage.py ARGS` from the project root and returns the finished process."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(predicate, seconds: float, interval: float = 0.3) -> bool:
    """Polls ``predicate`` until it is true or ``seconds`` have passed (for real processes)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


#: The packages whose source the "one home per fact" checks read.
SOURCE_PACKAGES = (
    "core",
    "archive",
    "review",
    "ocr",
    "cms",
    "search",
    "inspection",
    "config",
    "jobs",
)


def source_matches(
    pattern: str,
    *,
    allowed: tuple[str, ...] = (),
    files: str = "*.py",
    packages: tuple[str, ...] = SOURCE_PACKAGES,
) -> list[str]:
    """``path:line: text`` of every line of the project's Python source (migrations aside),
    or of its other ``files`` (e.g. ``*.html``), matching the regular expression, outside the
    files ``allowed`` (paths from the root). The checks that each fact has one home grep with
    it, as a reviewer would."""
    import re

    regex = re.compile(pattern)
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob(files)):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in allowed:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if regex.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    return found


def submitted_job_id(response) -> int:
    """The job a view just submitted: its response redirects to the job's page."""
    from django.urls import resolve

    assert response.status_code == 302, response.status_code
    match = resolve(response["Location"].split("?")[0])
    assert match.url_name == "archive_job_detail", response["Location"]
    return int(match.kwargs["pk"])


def run_submitted_job(response):
    """Runs, in this process, the job a view just submitted, with the real runner
    (jobs.runner.execute) — what the worker would do — and returns the job. View tests use it;
    tests/jobs covers the same jobs through a real worker."""
    from jobs.models import Job
    from jobs.runner import execute

    pk = submitted_job_id(response)
    execute(pk)
    return Job.objects.get(pk=pk)


def follow_job(response) -> str:
    """Where the job's page moves on to once the job that a view submitted has run."""
    return run_submitted_job(response).result.get("url", "")


@contextlib.contextmanager
def row_locked(instance) -> Iterator[None]:
    """The model instance's row locked (``FOR UPDATE``) on a database connection of its own
    until the block ends: whatever else wants to lock it (a job filing into a case file) waits
    there, however fast the machine."""
    from django.db import connections

    default = connections["default"]
    holder = type(default)(dict(default.settings_dict), "holder")
    table = default.ops.quote_name(instance._meta.db_table)
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [instance.pk])  # noqa: S608
        yield
    finally:
        holder.rollback()
        holder.close()


def run_dying_past_commit_then_retry(job_pk: int):
    """Runs a submitted job's kind in this process up to its end without finishing the job — a
    worker that committed and died before marking it done — then queues it again as the reaper
    does (without sending it to a worker another test may have left running) and runs the
    retry with the real runner; returns the job."""
    from jobs import kinds
    from jobs.models import Job
    from jobs.runner import Context, execute

    Job.objects.filter(pk=job_pk).update(state="running", attempts=1)
    job = Job.objects.get(pk=job_pk)
    kinds.get(job.kind).run(Context(job))
    Job.objects.filter(pk=job_pk).update(state="queued", heartbeat_at=None)
    execute(job_pk)
    return Job.objects.get(pk=job_pk)


def log_in(page, base_url: str, username: str, password: str = "pw-Secret-123") -> None:
    """Logs a Chromium page in through the admin's login form and waits for the dashboard."""
    page.goto(f"{base_url}/admin/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/admin/")


def foreign_keys(tables: list[str] | None = None) -> set[tuple[str, str, str]]:
    """(table, name, definition) of the PostgreSQL foreign keys of ``tables`` (all when not
    given): what a bulk load drops and must give back as it was (archive.pgcopy)."""
    from django.db import connection

    query = (
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE contype = 'f'"
    )
    with connection.cursor() as cursor:
        if tables is None:
            cursor.execute(query)
        else:
            cursor.execute(query + " AND conrelid = ANY(%s::regclass[])", [tables])
        return set(cursor.fetchall())
