"""Benchmark of the inspector's search on a real Elasticsearch node: bulk rate and query
latencies at scale (issue 11, figures in docs/benchmarks.md).

Generates N synthetic case files and D documents (deterministic, seeded; rows of the shape of
`search.records`, straight into the index through the backend's bulk path, no database) into
indices of their own (prefix ``bench_search_``), then times the query kinds the search page sends —
surname prefix, two- and three-character names, 4- and 6-digit ID suffixes, a full ID, a
village, an OCR phrase — each with the jurisdiction filter and all facets, and reports median
and 95th percentile. Removes its indices afterwards unless ``--keep``.

Usage: ``ELASTICSEARCH_URL=http://127.0.0.1:9200 python bench/search_bench.py
[--case-files N] [--documents D] [--queries Q] [--keep]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["SEARCH_INDEX_PREFIX"] = "bench_search_"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from core.numbers import id_check_char  # noqa: E402
from search.backends.elasticsearch import ElasticsearchBackend, alias  # noqa: E402
from search.query import Dates, Request, parse  # noqa: E402
from search.records import division_ancestors, number_suffixes  # noqa: E402

COUNTIES = ["140403", "140404", "140405", "140406", "140423", "140425", "140426", "140427"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌玉梅海燕"
VILLAGES = ["东王庄村", "西王庄村", "南河村", "北沟村", "石门村", "下庄村", "上庄村", "柳树沟村"]
SENTENCES = [
    "本人承诺以上所填信息真实准确，如有虚假愿承担相应责任。",
    "经审核，申请人符合困难残疾人生活补贴发放条件。",
    "残疾人两项补贴申请审批表，乡镇人民政府审核意见：同意。",
    "家庭经济状况核对结果：低保家庭。",
    "监护人代为申请，附委托书一份。",
]
TODAY = date(2026, 11, 30)


def id_number(county: str, serial: int) -> str:
    """A valid ID number, unique per serial: birth date from serial // 1000, sequence from the rest."""
    birth = date(1940, 1, 1) + timedelta(days=serial // 1000)
    first17 = f"{county}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def case_file_rows(n: int, rng: random.Random) -> Iterator[dict]:
    for pk in range(1, n + 1):
        county = COUNTIES[pk % len(COUNTIES)]
        township = f"{county}{100 + pk % 12:03d}"
        village_no = pk % len(VILLAGES)
        hukou = f"{township}{200 + village_no:03d}"
        number = id_number(county, pk)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        cert = f"{number}{1 + pk % 7}{1 + pk % 4}"
        yield {
            "id": pk,
            "person_id": pk,
            "name": name,
            "id_number": number,
            "numbers": [number, cert],
            "number_suffixes": number_suffixes([number, cert]),
            "county": county,
            "township": township,
            "hukou_code": hukou,
            "divisions": division_ancestors(county, hukou),
            "address": f"青羊镇{VILLAGES[village_no]}{pk % 90}号",
            "places": VILLAGES[village_no],
            "subsidies": ["living"] if pk % 3 else ["living", "nursing"],
            "statuses": ["active"],
            "enrolments": ["living:active"],
            "category": 1 + pk % 7,
            "grade": 1 + pk % 4,
            "expiry": None,
            "family_type": "低保",
            "completeness": (pk * 7) % 101,
            "missing": [],
            "flags": [],
            "open_findings": [],
            "last_review_year": 2025,
            "ocr_text": rng.choice(SENTENCES) if pk % 2 else "",
            "is_demo": False,
        }


def document_rows(n: int, case_files: int, rng: random.Random) -> Iterator[dict]:
    for pk in range(1, n + 1):
        county = COUNTIES[pk % len(COUNTIES)]
        yield {
            "id": pk,
            "case_file": 1 + pk % case_files,
            "doc_type": "application_form",
            "title": "申请审批表",
            "archival_code": f"{county}-WS·2026-D30-{pk:06d}",
            "archival_parts": [county, "WS·2026", "D30", f"{pk:06d}"],
            "ocr_text": " ".join(rng.choice(SENTENCES) for _ in range(4)),
            "fields": [],
            "flags": [],
            "county": county,
            "divisions": division_ancestors(county, county),
        }


def load(backend: ElasticsearchBackend, kind: str, rows: Iterator[dict], n: int) -> float:
    target = backend.create_index(kind, loading=True)
    start = time.perf_counter()
    versions = _Ones()
    applied = backend.bulk(backend.actions(target, rows, [], versions), chunk_size=2000)
    backend.finish_loading(target)
    elapsed = time.perf_counter() - start
    old = backend.swap(kind, target)
    if old:
        backend.drop(old)
    assert applied == n, (applied, n)
    return n / elapsed


class _Ones(dict):
    """Every document at version 1."""

    def __missing__(self, key):
        return 1


def time_queries(backend: ElasticsearchBackend, queries: list[str], repeat: int) -> dict:
    out = {}
    for label, query in queries:
        request = Request(parse(query), ["1404"], {}, Dates(TODAY), limit=20)
        backend.search(request)  # warm
        times = []
        total = 0
        for _ in range(repeat):
            start = time.perf_counter()
            total = backend.search(request).total
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        out[label] = (statistics.median(times), times[int(len(times) * 0.95) - 1], total)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case-files", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=None)
    parser.add_argument("--queries", type=int, default=30, help="repetitions per query kind")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not settings.ELASTICSEARCH_URL:
        sys.exit("Set ELASTICSEARCH_URL to a real node.")
    documents = args.case_files if args.documents is None else args.documents
    backend = ElasticsearchBackend.for_url(settings.ELASTICSEARCH_URL)
    rng = random.Random(2026)
    try:
        rate = load(backend, "case_file", case_file_rows(args.case_files, rng), args.case_files)
        print(f"case files: {args.case_files} bulk-loaded at {rate:,.0f} docs/s")
        if documents:
            rate = load(
                backend, "document", document_rows(documents, args.case_files, rng), documents
            )
            print(f"documents: {documents} bulk-loaded at {rate:,.0f} docs/s")
        pk = min(12345, args.case_files)
        sample = id_number(COUNTIES[pk % len(COUNTIES)], pk)
        queries = [
            ("surname (1 char, prefix)", "张"),
            ("two-character name", "王伟"),
            ("three-character name", "李秀英"),
            ("ID suffix, 4 digits", sample[-4:]),
            ("ID suffix, 6 digits", sample[-6:]),
            ("full ID, lower-case x", sample.lower()),
            ("village", "东王庄村"),
            ("OCR phrase", "如有虚假愿承担相应责任"),
        ]
        print(
            f"{'query (jurisdiction 1404, all facets)':40} {'median ms':>10} {'p95 ms':>8} {'hits':>8}"
        )
        for label, (median, p95, total) in time_queries(backend, queries, args.queries).items():
            print(f"{label:40} {median:10.1f} {p95:8.1f} {total:8d}")
    finally:
        if not args.keep:
            for kind in ("case_file", "document"):
                current = backend.current_index(kind)
                if current:
                    backend.drop(current)
            print(f"removed {alias('case_file')}, {alias('document')}")


if __name__ == "__main__":
    main()
