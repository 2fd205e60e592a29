"""Benchmark of filing scans: 1 000 single-page JPEG scans uploaded as one ZIP to a case file.

Why: archivists scan and file hundreds of pages a day, usually as a ZIP from the scanner's
folder. Each page is hashed, checked by decoding it completely, stored, given a page image and
a thumbnail, filed with its 档号 (locked counter), and queued for OCR; the good scans of a ZIP
are filed in one transaction. The upload view only receives the ZIP and submits its background
job (扫描件归档, archive/jobs.py); this measures how soon the view answers (multipart parsing
included), then runs the job in this process (``jobs.runner.execute``, what a worker does; if
a worker on the same database claims it first, the script waits for it) and prints pages per
second.

The scans are A4 at 150 dpi, greyscale (1240×1754, about 150 KB each — what an office scanner
makes for ID copies and forms), distinct (each has its own serial number), generated with a
fixed seed before the clock starts. OCR is not run (it is queued; the OCR benchmark measures it).

The synthetic person has an ID number beginning with ``990`` (no real division), so the script
removes exactly its own rows before and after a run. Use a separate database anyway:
``createdb bench_docs`` and point ``DATABASE_URL`` at it. Scans go to a temporary
PRIVATE_MEDIA_ROOT that is removed afterwards.

Usage: ``python bench/upload_bench.py [--scans N] [--dpi D] [--keep]``.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_media = tempfile.TemporaryDirectory(prefix="upload-bench-")
os.environ["PRIVATE_MEDIA_ROOT"] = _media.name

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from archive import casefiles  # noqa: E402
from archive.models import (  # noqa: E402
    CaseFile,
    Document,
    DocumentVersion,
    Enrolment,
    Person,
    StoredFile,
)
from core.numbers import id_check_char  # noqa: E402
from jobs.models import Job  # noqa: E402
from jobs.runner import execute  # noqa: E402

BENCH_PREFIX = "990"
BENCH_USER = "bench-uploader"


def bench_person(serial: int = 1) -> Person:
    first17 = f"{BENCH_PREFIX}42519700101{serial:03d}"
    person, _ = Person.objects.get_or_create(
        id_number=first17 + id_check_char(first17),
        defaults={
            "name": f"压测{serial}",
            "sex": "男",
            "birth_date": date(1970, 1, 1),
            "hukou_code": "140425",
            "county_id": "140425",
        },
    )
    Enrolment.objects.get_or_create(person=person, subsidy="living", county_id="140425")
    return person


def cleanup() -> None:
    """Remove the rows of earlier runs: the bench people's case files and documents (the
    audit log is append-only and keeps its entries)."""
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


def make_scans(count: int, dpi: int, seed: int) -> bytes:
    """A ZIP of ``count`` distinct greyscale A4 JPEG scans."""
    from ocr.fonts import cjk_font_path

    rng = random.Random(seed)
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    font = ImageFont.truetype(cjk_font_path(), max(12, dpi // 6))
    base = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(base)
    for line in range(24):  # a form: a title, labelled lines, white space
        y = dpi + line * (height - 2 * dpi) // 24
        text = "".join(rng.choice("残疾人两项补贴申请审批表姓名性别身份证号码") for _ in range(16))
        draw.text((dpi, y), text, fill=30, font=font)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for index in range(count):
            page = base.copy()
            stamp = ImageDraw.Draw(page)
            stamp.text((width - 4 * dpi, dpi // 2), f"第 {index + 1:05d} 页", fill=0, font=font)
            for _ in range(200):  # a little scanner noise
                x, y = rng.randrange(width), rng.randrange(height)
                stamp.point((x, y), fill=rng.randrange(0, 120))
            buffer = io.BytesIO()
            page.save(buffer, "JPEG", quality=70)
            zf.writestr(f"扫描/{index + 1:05d}.jpg", buffer.getvalue())
    return out.getvalue()


def upload_zip(client: Client, url: str, data: bytes) -> tuple[list[dict], float]:
    """Posts the ZIP as the uploader does and runs its job; returns each file's outcome and
    how long the view took to answer."""
    start = time.perf_counter()
    response = client.post(
        url,
        {"doc_type": "other", "files": SimpleUploadedFile("scans.zip", data)},
        headers={"Accept": "application/json"},
    )
    answered = time.perf_counter() - start
    [submitted] = response.json()["jobs"]
    execute(submitted["id"])
    job = Job.objects.get(pk=submitted["id"])
    while not job.is_finished:
        time.sleep(0.2)
        job.refresh_from_db()
    return job.result.get("outcomes", []), answered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scans", type=int, default=1000)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--keep", action="store_true", help="leave the filed scans in place")
    args = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    cleanup()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_superuser": True, "is_staff": True}
    )
    case_file = casefiles.case_file_for(bench_person())

    start = time.perf_counter()
    data = make_scans(args.scans, args.dpi, args.seed)
    print(
        f"generated  {args.scans} scans at {args.dpi} dpi  {time.perf_counter() - start:6.1f} s  "
        f"ZIP {len(data) / 1024 / 1024:.0f} MB"
    )
    client = Client()
    client.force_login(user)
    url = reverse("archive_casefile_upload", args=[case_file.pk])
    start = time.perf_counter()
    results, answered = upload_zip(client, url, data)
    elapsed = time.perf_counter() - start
    filed = sum(1 for r in results if r["status"] == "filed")
    pages = sum(r["pages"] for r in results if r["status"] == "filed")
    print(f"answered   {answered:6.2f} s  (the view received the ZIP and submitted its job)")
    print(
        f"uploaded   {filed}/{args.scans} filed  {elapsed:6.1f} s  {pages / elapsed:6.1f} pages/s  "
        f"({1000 * elapsed / max(pages, 1):.0f} ms per page: hash, decode, page image, thumbnail, "
        f"store, 档号, commit)"
    )
    start = time.perf_counter()
    again, _answered = upload_zip(client, url, data)
    elapsed_again = time.perf_counter() - start
    duplicates = sum(1 for r in again if r["status"] == "duplicate")
    print(
        f"re-upload  {duplicates}/{args.scans} recognised as duplicates  {elapsed_again:6.1f} s  "
        f"{args.scans / elapsed_again:6.1f} files/s"
    )
    case_file.refresh_from_db()
    ok = filed == args.scans and duplicates == args.scans and case_file.page_count == pages
    if not args.keep:
        cleanup()
    _media.cleanup()
    if not ok:
        print("FAILED: not every scan was filed once")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
