"""Benchmark of the case-file pages: one case file with 40 documents, and the list of 100 000
case files.

Targets (issue 4): the case-file page with 40 documents renders in under 300 ms; the case-file
list at 100 000 case files stays under 500 ms per page, with filters, without per-row
queries. Both are measured through the real views (Django test client: URL routing, Wagtail
admin chrome, permission, jurisdiction, audit log, template), as a county archivist would see
them, and report the median and the worst of several requests plus the number of queries.

The synthetic people have ID numbers beginning with ``990`` (no real division), so the script
removes exactly its own rows before and after a run. Use a separate database:
``createdb bench_docs`` and point ``DATABASE_URL`` at it.

Usage: ``python bench/casefile_bench.py [--case-files N] [--documents D] [--keep]``.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_media = tempfile.TemporaryDirectory(prefix="casefile-bench-")
os.environ["PRIVATE_MEDIA_ROOT"] = _media.name

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from archive import casefiles  # noqa: E402
from archive.access.roles import ARCHIVIST  # noqa: E402
from archive.documents import ingest  # noqa: E402
from archive.models import (  # noqa: E402
    CaseFile,
    Document,
    DocumentVersion,
    Enrolment,
    Person,
    StoredFile,
    UserProfile,
)
from core.doctypes import DOCUMENT_TYPES  # noqa: E402
from core.numbers import id_check_char  # noqa: E402

BENCH_PREFIX = "990"
BENCH_USER = "bench-archivist"
COUNTIES = ["140403", "140404", "140405", "140406", "140423", "140425", "140426", "140427"]


def bench_id(index: int) -> str:
    birth = date(1940, 1, 1).toordinal() + index % 25000
    first17 = f"{BENCH_PREFIX}425{date.fromordinal(birth):%Y%m%d}{index // 25000:03d}"
    return first17 + id_check_char(first17)


def cleanup() -> None:
    people = Person.objects.filter(id_number__startswith=BENCH_PREFIX)
    documents = Document.objects.filter(case_file__person__in=people)
    documents.update(current=None)
    blobs = list(
        DocumentVersion.objects.filter(document__in=documents).values_list("blob_id", flat=True)
    )
    DocumentVersion.objects.filter(document__in=documents).delete()
    documents.delete()
    StoredFile.objects.filter(pk__in=blobs, versions__isnull=True).delete()
    CaseFile.objects.filter(person__in=people).delete()
    Enrolment.objects.filter(person__in=people).delete()
    people.delete()


def archivist(county: str):
    user, created = get_user_model().objects.get_or_create(username=BENCH_USER)
    if created:
        user.groups.add(Group.objects.get(name=ARCHIVIST))
        UserProfile.objects.create(user=user, division_id=county)
    return user


def timed(client: Client, url: str, params: dict | None = None, runs: int = 7):
    times, queries = [], 0
    for run in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url, params or {})
            elapsed = time.perf_counter() - start
        assert response.status_code == 200, (url, response.status_code)
        if run:  # the first request warms caches and templates
            times.append(elapsed * 1000)
        queries = len(captured.captured_queries)
    return statistics.median(times), max(times), queries


def scan(seed: int) -> bytes:
    rng = random.Random(seed)
    page = Image.new("L", (1240, 1754), 250)
    draw = ImageDraw.Draw(page)
    for _ in range(30):
        x, y = rng.randrange(1100), rng.randrange(1700)
        draw.rectangle((x, y, x + 120, y + 8), fill=20)
    out = io.BytesIO()
    page.save(out, "JPEG", quality=70)
    return out.getvalue()


def bench_case_file_page(client: Client, user, documents: int, target_ms: float) -> bool:
    person = Person.objects.create(
        name="压测四十",
        id_number=bench_id(199_999),
        sex="女",
        birth_date=date(1960, 5, 1),
        hukou_code="140425",
        county_id="140425",
    )
    Enrolment.objects.create(person=person, subsidy="living", county_id="140425")
    case_file = casefiles.case_file_for(person)
    types = [t.code for t in DOCUMENT_TYPES]
    for index in range(documents):
        target = ingest.Target(case_file, types[index % len(types)])
        ingest.ingest_stream(io.BytesIO(scan(index)), f"{index}.jpg", target, user)
    case_file.refresh_from_db()
    assert case_file.document_count == documents, case_file.document_count
    median, worst, queries = timed(client, reverse("archive_casefile_detail", args=[case_file.pk]))
    ok = median < target_ms
    print(
        f"case-file page, {documents} documents: median {median:5.0f} ms, worst {worst:5.0f} ms, "
        f"{queries} queries  (target < {target_ms:.0f} ms) {'ok' if ok else 'TOO SLOW'}"
    )
    document = Document.objects.filter(case_file=case_file).first()
    median, worst, queries = timed(client, reverse("archive_document_view", args=[document.pk]))
    print(
        f"viewer page:                  median {median:5.0f} ms, worst {worst:5.0f} ms, {queries} queries"
    )
    return ok


def make_case_files(count: int, seed: int) -> None:
    rng = random.Random(seed)
    codes = [t.code for t in DOCUMENT_TYPES if t.required_for in ("both", "living", "nursing")]
    start = time.perf_counter()
    people = [
        Person(
            name=rng.choice("王李张刘陈杨赵黄周吴") + rng.choice("伟芳娜敏静丽强磊军洋"),
            id_number=bench_id(index),
            sex=rng.choice("男女"),
            birth_date=date(1960, 1, 1),
            hukou_code="140425",
            county_id=rng.choice(COUNTIES),
        )
        for index in range(count)
    ]
    Person.objects.bulk_create(people, batch_size=5000)
    people = list(
        Person.objects.filter(id_number__startswith=BENCH_PREFIX)
        .exclude(id_number=bench_id(199_999))
        .values_list("pk", "county_id")
    )
    enrolments, files = [], []
    for pk, county in people:
        subsidies = rng.choice([("living",), ("nursing",), ("living", "nursing")])
        for subsidy in subsidies:
            status = "active" if rng.random() < 0.9 else rng.choice(["stopped", "suspended"])
            enrolments.append(
                Enrolment(person_id=pk, subsidy=subsidy, county_id=county, status=status)
            )
        missing = [c for c in codes if rng.random() < 0.3]
        files.append(
            CaseFile(
                person_id=pk,
                county_id=county,
                completeness=100 * (len(codes) - len(missing)) // len(codes),
                missing=f",{','.join(missing)}," if missing else "",
                document_count=rng.randrange(0, 40),
                page_count=rng.randrange(0, 80),
            )
        )
    Enrolment.objects.bulk_create(enrolments, batch_size=5000)
    CaseFile.objects.bulk_create(files, batch_size=5000)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE archive_casefile, archive_person, archive_enrolment")
    print(f"generated    {count} case files in {time.perf_counter() - start:5.1f} s")


def bench_list(client: Client, target_ms: float) -> bool:
    url = reverse("archive_casefile_list")
    cases = [
        ("first page", {}),
        ("page 200", {"p": "200"}),
        ("incomplete", {"completeness": "incomplete"}),
        ("missing 身份证", {"missing": "id_card"}),
        ("nursing, stopped", {"subsidy": "nursing", "status": "stopped"}),
        ("county + missing", {"division": "140425", "missing": "bank_card"}),
        ("name search", {"q": "王伟"}),
    ]
    ok = True
    for label, params in cases:
        median, worst, queries = timed(client, url, params)
        good = median < target_ms
        ok &= good
        print(
            f"list {label:<18} median {median:5.0f} ms, worst {worst:5.0f} ms, {queries} queries "
            f"(target < {target_ms:.0f} ms) {'ok' if good else 'TOO SLOW'}"
        )
    start = time.perf_counter()
    response = client.get(url, {"format": "xlsx", "division": "140425"})
    size = sum(len(chunk) for chunk in response.streaming_content)
    print(f"XLSX export of one county: {time.perf_counter() - start:5.1f} s, {size // 1024} KiB")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case-files", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    cleanup()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # the city's archivist sees all eight counties of the bench
    user = archivist("140400")
    client = Client()
    client.force_login(user)
    ok = bench_case_file_page(client, user, args.documents, 300)
    make_case_files(args.case_files, args.seed)
    ok &= bench_list(client, 500)
    if not args.keep:
        cleanup()
    _media.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
