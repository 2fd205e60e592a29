"""Fixtures for data comparison: roster files written like the departments send them, and
the demo people of 长治市 (with their planted problems)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path

import pytest

from archive.models import Division, Person
from review import services
from review.rosters import ROSTERS
from tests.archive.conftest import demo_people, make_user

AS_OF = date(2026, 11, 30)
CITY = "140400"

__all__ = ["demo_people", "make_user"]  # the archive's fixtures, shared here


@pytest.fixture(autouse=True)
def _private_media(request, settings, tmp_path):
    """A private media root per test (rosters, evidence scans); the Celery worker process
    keeps the one of its environment, so tests using it keep it too."""
    if "celery_worker_process" not in request.fixturenames:
        settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def roster_file(tmp_path) -> Callable[..., Path]:
    """Writes a roster CSV with the kind's headers; ``rows`` are dicts by header."""
    counter = iter(range(10_000))

    def write(kind: str, rows: Iterable[Mapping[str, str]], name: str | None = None) -> Path:
        path = tmp_path / (name or f"{kind}-{next(counter)}.csv")
        headers = list(ROSTERS[kind].headers)
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, headers)
            writer.writeheader()
            for row in rows:
                writer.writerow({h: row.get(h, "") for h in headers})
        return path

    return write


def cert_base_rows(people: Iterable[Person]) -> list[dict[str, str]]:
    """The federation's base as the archive records it: no finding from cert_base alone."""
    rows = []
    for person in people:
        cert = person.current_certificate
        if cert is None:
            continue
        rows.append(
            {
                "姓名": person.name,
                "公民身份号码": person.id_number,
                "残疾人证号": cert.number,
                "残疾类别": str(cert.number[18]),
                "残疾等级": str(cert.number[19]),
                "证件状态": cert.status,
                "有效期至": "长期" if cert.long_term else (cert.expiry_date or "").__str__(),
                "户籍区划代码": person.hukou_code,
            }
        )
    return rows


@pytest.fixture
def upload(roster_file) -> Callable[..., object]:
    """Stores a roster for a division (the city by default) as an upload."""

    def make(kind: str, rows, division: str = CITY, period: date = AS_OF, user=None):
        path = roster_file(kind, rows)
        with path.open("rb") as fh:
            upload, _ = services.store_roster(
                fh,
                path.name,
                kind=kind,
                division=Division.objects.get(code=division),
                period=period,
                user=user,
            )
        return upload

    return make


@pytest.fixture
def run_comparison() -> Callable[..., object]:
    def run(division: str, uploads=(), as_of: date = AS_OF, user=None):
        created = services.create_run(
            division=Division.objects.get(code=division), as_of=as_of, uploads=uploads, user=user
        )
        return services.execute_run(created.pk)

    return run


@pytest.fixture
def planted(demo_people) -> dict[str, Person]:
    """The demo people carrying a planted problem, by problem (archive.demo.PLANTED)."""
    from archive.demo import PLANTED, generate

    generated = generate(len(PLANTED), seed=7)
    by_id = {p.id_number: p for p in demo_people}
    return {g.planted: by_id[g.id_number] for g in generated}
