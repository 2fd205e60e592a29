"""The jurisdiction sweep: every URL pattern of the admin and the site, taken from the resolver
(so a view added tomorrow is covered the day it is added), requested with another county's
object ids by an archivist, an inspector, an editor and a county administrator. None may
answer with the other county's record: 403/404 (or Wagtail's refusal, a redirect to the
dashboard or the login page), never 200, never a redirect onwards, never a 500; and every
refusal by one of our own views is in the audit log.

The other county's objects all get primary key OBJECT_ID: every sequence is moved past
everything county A has, so the first row of each table created afterwards gets that key,
and one id stands for "the other county's person, case file, document, run, finding…"."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.apps import apps
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from archive import casefiles
from archive.access.roles import ADMINISTRATOR, ARCHIVIST, EDITOR, INSPECTOR
from archive.documents import ingest
from archive.models import AuditLog, Division, ImportRecord
from tests.archive.conftest import make_person, make_user
from tests.archive.documents import samples

__all__ = ["make_user"]  # the archive's fixture, used here
pytestmark = pytest.mark.django_db

COUNTY, OTHER = "140425", "140426"
OBJECT_ID = 100_000
#: Our own apps: their refusals must be audited (Wagtail's own CMS views are not records).
AUDITED_PREFIXES = (
    "/admin/people/",
    "/admin/enrolments/",
    "/admin/import/",
    "/admin/casefiles/",
    "/admin/files/",
    "/admin/review/",
    "/admin/inspection/",
    "/admin/users/",
)
#: Wagtail URLs whose parameters are no record of anyone's, with what they answer.
NOT_RECORDS = {
    "/admin/editing-sessions/release/100000/": "releases one's own editing session (JSON)",
    "/admin/pages/100000/revisions/": "redirects to the page history, a 404 for no page",
    "/admin/password_reset/confirm/100000/100000/": "the 'invalid reset link' page",
}
CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")


def patterns(resolver=None, prefix: str = ""):
    """(route with converters, name) of every URL pattern, recursively."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


def fill(route: str) -> str | None:
    """The route with every parameter filled with the other county's id; None for a regex
    route or one without parameters (lists: scoped by the list tests)."""
    if route.startswith("^") or "(?P" in route:
        return None
    if not CONVERTER.search(route):
        return None

    def value(match: re.Match) -> str:
        return {"int": str(OBJECT_ID), "path": "x", "slug": "stop"}.get(
            match["kind"] or "str", str(OBJECT_ID)
        )

    return "/" + CONVERTER.sub(value, route).lstrip("^").rstrip("$")


def _restart_sequences() -> None:
    with connection.cursor() as cursor:
        for model in apps.get_models():
            pk = model._meta.pk
            if pk.get_internal_type() not in {"AutoField", "BigAutoField"}:
                continue
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)",
                    [f'"{table}"', pk.column, OBJECT_ID],
                )
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                    [table, OBJECT_ID - 1],
                )


@pytest.fixture
def other_county(settings, tmp_path, make_user):
    """County A's users; then county B's person, enrolment, case file, document, import,
    roster, comparison run and finding, spot check and annual review, all with OBJECT_ID."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    users = {
        role: make_user(f"a-{n}", COUNTY, role=role)
        for n, role in enumerate((ARCHIVIST, INSPECTOR, EDITOR, ADMINISTRATOR))
    }
    _restart_sequences()
    owner = make_user("b-archivist", OTHER)
    person = make_person(1, county=OTHER, name="冯斌")
    case_file = casefiles.case_file_for(person)
    ingest.ingest_stream(
        io.BytesIO(samples.jpeg(1)), "scan.jpg", ingest.Target(case_file, ""), owner
    )
    ImportRecord.objects.create(filename="b.csv", mode="atomic", imported_by=owner)
    _review_objects(owner, person)
    _inspection_objects(owner, case_file)
    return users


def _review_objects(owner, person) -> None:
    from review import services

    data = f"姓名,公民身份号码,死亡日期\n{person.name},{person.id_number},2026-10-15\n".encode()
    division = Division.objects.get(code=OTHER)
    upload, _ = services.store_roster(
        io.BytesIO(data), "death.csv", kind="death", division=division,
        period=date(2026, 11, 1), user=owner,
    )  # fmt: skip
    run = services.create_run(division=division, as_of=date(2026, 11, 30), uploads=[upload])
    services.execute_run(run.pk)


def _inspection_objects(owner, case_file) -> None:
    from inspection import campaigns
    from inspection.models import PLAN_CHOICES, SpotCheck, SpotCheckItem

    spot_check = SpotCheck.objects.create(
        division_id=OTHER, plan=PLAN_CHOICES[0][0], seed="s", population=1,
        population_hash="0" * 64, created_by=owner,
    )  # fmt: skip
    SpotCheckItem.objects.create(
        spot_check=spot_check, case_file=case_file, case_key="k", rank="0" * 64, position=1
    )
    campaigns.create(
        year=2026, division=Division.objects.get(code=OTHER), due_date=date(2026, 12, 31),
        user=owner,
    )  # fmt: skip


def refusal(response) -> bool:
    if response.status_code in (403, 404):
        return True
    if response.status_code == 302:
        location = response["Location"]
        return location == reverse("wagtailadmin_home") or location.startswith(
            reverse("wagtailadmin_login")
        )
    return False


def test_no_url_serves_another_countys_record(client, other_county):
    from review.models import Finding

    assert Finding.objects.filter(pk=OBJECT_ID).exists(), "the sweep needs a finding"
    urls = sorted({url for route, _ in patterns() if (url := fill(route))} - set(NOT_RECORDS))
    assert len(urls) > 40
    leaks, unaudited = [], []
    refusals = AuditLog.objects.filter(action__in=("denied", "permission_denied"))
    for role, user in other_county.items():
        client.force_login(user)
        for url in urls:
            before = refusals.count()
            response = client.get(url)
            if response.status_code == 405:
                response = client.post(url, {})
            if not refusal(response):
                leaks.append(f"{role} {url} → {response.status_code}")
                continue
            if url.startswith(AUDITED_PREFIXES) and refusals.count() == before:
                unaudited.append(f"{role} {url} → {response.status_code}")
    assert not leaks, "another county's record served:\n" + "\n".join(leaks)
    assert not unaudited, "refusal not audited:\n" + "\n".join(unaudited)
