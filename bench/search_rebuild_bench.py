"""Benchmark of the search index fed from the database (issue 11, figures in docs/benchmarks.md).

``bench/search_bench.py`` loads generated rows straight into an index; this one measures what
the system does with a real database behind it:

- ``populate --case-files N``: fills the PostgreSQL database of ``DATABASE_URL`` (a database
  of its own, empty) with the population of ``bench/compare_bench.py`` (people, certificates,
  family status, enrolments, loaded with COPY by ``bench/compare_django_bench.py``), then
  set-wise (INSERT … SELECT) one case file per person and enrolment county, one filed document
  per case file with a current version carrying OCR text, and a hukou address with a village.
- ``rebuild [--runs R]``: runs ``manage.py search_index rebuild`` R times as a child process;
  prints its wall time, its peak RSS (``wait4``) and its RSS sampled along the way (does it
  grow with the data?). While a rebuild runs over an existing index, threads search in a loop
  and count failed searches and empty answers (the alias swap must lose none).
- ``latency [--changes K]``: starts a real Celery worker (queue ``interactive``), edits K
  people's names through the model's save path (which writes the outbox; the drain is queued
  on commit) and polls the search until each new name is found: commit-to-searchable p50/p95.
- ``database``: the query kinds of ``search_bench`` on the database backend (run it with
  ``ELASTICSEARCH_URL=`` empty), median and p95.
- ``queries``: the same kinds on Elasticsearch, as the issue measures them: each lookup
  (numbers, names, a village or an OCR phrase) alone, then with the nine facets (the faceted
  query); names and numbers across the province, village and OCR phrase also within one county.

Indices use the prefix ``bench_rebuild_``; ``drop-index`` removes them.

    DATABASE_URL=postgres://…/own_db ELASTICSEARCH_URL=http://127.0.0.1:59461 \
        .venv/bin/python bench/search_rebuild_bench.py populate --case-files 200000
    … search_rebuild_bench.py rebuild --runs 2
    … search_rebuild_bench.py latency --changes 50
    ELASTICSEARCH_URL= … search_rebuild_bench.py database
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["SEARCH_INDEX_PREFIX"] = "bench_rebuild_"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from archive.models import CaseFile, Person  # noqa: E402
from bench.compare_bench import Population  # noqa: E402
from bench.compare_django_bench import ensure_divisions, load_population  # noqa: E402
from bench.search_bench import SENTENCES, VILLAGES  # noqa: E402
from search.backends import KINDS, get_backend  # noqa: E402
from search.query import Dates, Request, parse  # noqa: E402

TODAY = date(2026, 11, 30)
JURISDICTION = ["14"]
#: Characters no generated name uses: the edited names of ``latency`` are found only once
#: indexed.
RARE = "龚鞠蔺褚缪臧佟邝闫阚窦冉逯郜詹甄"


def populate(case_files: int, seed: int) -> None:
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must point to a PostgreSQL database of its own")
    call_command("migrate", verbosity=0)
    if Person.objects.exists():
        sys.exit("the database already has people: use a fresh database")
    ensure_divisions()
    started = time.perf_counter()
    # About 86 % of the generated people are enrolled (so get a case file).
    load_population(Population(round(case_files / 0.856), 1, seed))
    people_s = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE archive_person SET hukou_address = '青羊镇' || (%s::text[])[1 + mod(id, 8)]"
            " || mod(id, 90) || '号'",
            [VILLAGES],
        )
        cur.execute(
            "INSERT INTO archive_casefile (person_id, county_id, completeness, missing,"
            " document_count, page_count, created_at, updated_at)"
            " SELECT person_id, county_id, mod(person_id * 7, 101), '', 1, 1, now(), now()"
            " FROM (SELECT DISTINCT person_id, county_id FROM archive_enrolment) e"
            " ORDER BY person_id, county_id"
        )
        cur.execute(
            "INSERT INTO archive_storedfile (sha256, size, kind, page_count, stored_at,"
            " check_status) VALUES (repeat('0', 64), 1, 'png', 1, now(), '') RETURNING id"
        )
        (blob,) = cur.fetchone()
        cur.execute(
            "INSERT INTO archive_document (case_file_id, county_id, doc_type, title,"
            " archival_code, retention, filed_year, item_number, filed_at, proposed_type,"
            " created_at, delete_reason)"
            " SELECT id, county_id, 'application_form', '申请审批表',"
            " county_id || '-WS·2026-D30-' || lpad(id::text, 7, '0'), 'D30', 2026, id, now(),"
            " '', now(), '' FROM archive_casefile ORDER BY id"
        )
        cur.execute(
            "INSERT INTO archive_documentversion (document_id, number, blob_id, original_name,"
            " note, uploaded_at, ocr_status, ocr_text, ocr_fields, ocr_engine, ocr_priority,"
            " ocr_reasons, ocr_pages_done)"
            " SELECT id, 1, %s, 'scan.png', '', now(), 'done', (%s::text[])[1 + mod(id, 5)],"
            " '{}', 'bench', 2, '', 1 FROM archive_document ORDER BY id",
            [blob, SENTENCES],
        )
        cur.execute(
            "UPDATE archive_document d SET current_id = v.id FROM archive_documentversion v"
            " WHERE v.document_id = d.id"
        )
        cur.execute("ANALYZE")
    print(
        f"populated {CaseFile.objects.count()} case files of {Person.objects.count()} people"
        f" in {time.perf_counter() - started:.0f} s (people, certificates, enrolments"
        f" {people_s:.0f} s)"
    )


def queries() -> list[tuple[str, str]]:
    """The query kinds of search_bench, on values of this database."""
    files = CaseFile.objects.select_related("person").order_by("pk")
    person = files[min(12345, files.count() - 1)].person
    return [
        ("surname (1 char, prefix)", "张"),
        ("two-character name", person.name[:2]),
        ("three-character name", files.filter(person__name__regex="^...$")[0].person.name),
        ("ID suffix, 4 digits", person.id_number[-4:]),
        ("ID suffix, 6 digits", person.id_number[-6:]),
        ("full ID, lower-case x", person.id_number.lower()),
        ("village", "东王庄村"),
        ("OCR phrase", "如有虚假愿承担相应责任"),
    ]


def county_queries() -> tuple[str, list[tuple[str, str]]]:
    """A county of this database and the phrase kinds an inspector asks within it."""
    county = CaseFile.objects.order_by("pk")[12345 % CaseFile.objects.count()].county_id
    kinds = [q for q in queries() if q[0] in ("village", "OCR phrase")]
    return county, [(f"{label} within county {county}", query) for label, query in kinds]


def request(query: str, *, facets: bool = True, jurisdiction: list[str] = JURISDICTION) -> Request:
    return Request(parse(query), jurisdiction, {}, Dates(TODAY), limit=20, facets=facets)


def time_queries(
    backend,
    repeat: int,
    facets: bool,
    kinds: list[tuple[str, str]] | None = None,
    jurisdiction: list[str] = JURISDICTION,
) -> None:
    heading = f"query (jurisdiction {jurisdiction[0]}, " + (
        "all facets)" if facets else "no facets)"
    )
    print(f"{heading:40} {'median ms':>10} {'p95 ms':>8} {'hits':>8}")
    for label, query in kinds or queries():
        backend.search(request(query, facets=facets, jurisdiction=jurisdiction))  # warm
        times, total = [], 0
        for _ in range(repeat):
            start = time.perf_counter()
            total = backend.search(request(query, facets=facets, jurisdiction=jurisdiction)).total
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"{label:40} {statistics.median(times):10.1f} {p95:8.1f} {total:8d}")


class Searcher(threading.Thread):
    """Searches in a loop until stopped; counts failures and empty answers."""

    def __init__(self, backend, kinds: list[tuple[str, str]], pause: float):
        super().__init__(daemon=True)
        self.backend, self.kinds, self.pause = backend, kinds, pause
        self.stop = threading.Event()
        self.searches = self.failures = self.empty = 0
        self.slowest = 0.0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            for _label, query in self.kinds:
                start = time.perf_counter()
                try:
                    total = self.backend.search(request(query, facets=False)).total
                except Exception as error:  # what a user would see as a failed search
                    self.failures += 1
                    self.errors.append(repr(error)[:200])
                else:
                    self.empty += total == 0
                self.searches += 1
                self.slowest = max(self.slowest, time.perf_counter() - start)
                time.sleep(self.pause)


def child_env() -> dict[str, str]:
    """This process's environment with its index prefix (importing search_bench set another)."""
    return {**os.environ, "SEARCH_INDEX_PREFIX": settings.SEARCH_INDEX_PREFIX}


def timestamped(stream, started: float, lines: list[str]) -> None:
    """Keeps a child's output lines with the second each arrived (when each kind finished)."""
    for line in stream:
        lines.append(f"{time.perf_counter() - started:5.0f} s  {line.rstrip()}")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rebuild(runs: int, searchers: int, pause: float) -> None:
    backend = get_backend()
    if not backend.uses_outbox:
        sys.exit("Set ELASTICSEARCH_URL to a node of its own.")
    kinds = [q for q in queries() if q[0] != "surname (1 char, prefix)"]
    print(f"case files {CaseFile.objects.count()}; load average {os.getloadavg()}")
    for run in range(1, runs + 1):
        threads = []
        if all(backend.current_index(kind) for kind in KINDS):
            threads = [Searcher(backend, kinds, pause) for _ in range(searchers)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "manage.py", "search_index", "rebuild"],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=timestamped, args=(child.stdout, started, lines))
        reader.start()
        samples: list[tuple[float, float]] = []
        while not (waited := os.wait4(child.pid, os.WNOHANG))[0]:
            rss = rss_mb(child.pid)
            if rss is not None:
                samples.append((time.perf_counter() - started, rss))
            time.sleep(1)
        _pid, status, usage = waited
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        reader.join()
        for thread in threads:
            thread.stop.set()
            thread.join()
        peak = usage.ru_maxrss / 1024
        print(f"run {run}: exit {child.returncode}, {elapsed:.0f} s, peak RSS {peak:.0f} MB")
        print("\n".join(f"  {line}" for line in lines))
        curve = samples[:: max(1, len(samples) // 10)]
        print("  RSS along the way (s: MB): " + ", ".join(f"{t:.0f}: {r:.0f}" for t, r in curve))
        print(f"  load average {os.getloadavg()}")
        if threads:
            done = sum(t.searches for t in threads)
            failed = sum(t.failures for t in threads)
            empty = sum(t.empty for t in threads)
            slowest = max(t.slowest for t in threads) * 1000
            print(
                f"  searches during the rebuild: {done}, failed {failed}, empty {empty},"
                f" slowest {slowest:.0f} ms"
            )
            for error in sorted({e for t in threads for e in t.errors})[:5]:
                print(f"    {error}")


def latency(changes: int) -> None:
    backend = get_backend()
    if not backend.uses_outbox:
        sys.exit("Set ELASTICSEARCH_URL to a node of its own.")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "interactive",
         "--concurrency", "1", "--loglevel", "WARNING", "-n", "bench-latency@%h"],
        cwd=ROOT,
        env=child_env(),
    )  # fmt: skip
    try:
        time.sleep(8)  # the worker connects to the broker
        files = CaseFile.objects.order_by("pk").values_list("person_id", flat=True)
        chosen = list(dict.fromkeys(files[: changes * 997 : 997]))
        by_pk = Person.objects.in_bulk(chosen)
        people = [by_pk[pk] for pk in chosen]
        seconds = []
        for i, person in enumerate(people):
            # Another last character than the person's: a second run must wait for the index too.
            last = next(c for c in "测" + RARE if c != person.name[-1:])
            name = RARE[i % len(RARE)] + RARE[(i // len(RARE)) % len(RARE)] + last
            wanted = set(person.case_files.values_list("pk", flat=True))
            with transaction.atomic():
                person.name = name
                person.save()
                committed = time.perf_counter()
            while True:
                hits = backend.search(request(name, facets=False)).hits
                if wanted & {hit.case_file for hit in hits}:
                    break
                if time.perf_counter() - committed > 120:
                    sys.exit(f"{name} not searchable after 120 s")
                time.sleep(0.05)
            seconds.append(time.perf_counter() - committed)
        seconds.sort()
        p95 = seconds[max(0, int(len(seconds) * 0.95) - 1)]
        print(
            f"commit-to-searchable over {len(seconds)} edits: p50 {statistics.median(seconds):.2f} s,"
            f" p95 {p95:.2f} s, max {seconds[-1]:.2f} s; load average {os.getloadavg()}"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def drop_index() -> None:
    backend = get_backend()
    for kind in KINDS:
        for name in [backend.current_index(kind), *backend.leftovers(kind)]:
            if name:
                backend.drop(name)
                print(f"dropped {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fill = commands.add_parser("populate")
    fill.add_argument("--case-files", type=int, default=200_000)
    fill.add_argument("--seed", type=int, default=20261130)
    again = commands.add_parser("rebuild")
    again.add_argument("--runs", type=int, default=2)
    again.add_argument("--searchers", type=int, default=1, help="threads searching meanwhile")
    again.add_argument("--pause", type=float, default=20, help="ms between their searches")
    lag = commands.add_parser("latency")
    lag.add_argument("--changes", type=int, default=50)
    fallback = commands.add_parser("database")
    fallback.add_argument("--queries", type=int, default=30, help="repetitions per query kind")
    fallback.add_argument("--no-facets", action="store_true", help="the hits and count only")
    elastic = commands.add_parser("queries")
    elastic.add_argument("--queries", type=int, default=30, help="repetitions per query kind")
    commands.add_parser("drop-index")
    args = parser.parse_args()
    if args.command == "populate":
        populate(args.case_files, args.seed)
    elif args.command == "rebuild":
        rebuild(args.runs, args.searchers, args.pause / 1000)
    elif args.command == "latency":
        latency(args.changes)
    elif args.command == "database":
        if settings.ELASTICSEARCH_URL:
            sys.exit("Run with ELASTICSEARCH_URL= (empty): the database backend.")
        print(f"case files {CaseFile.objects.count()} on {connection.vendor}")
        time_queries(get_backend(), args.queries, not args.no_facets)
        print(f"load average {os.getloadavg()}")
    elif args.command == "queries":
        backend = get_backend()
        if not backend.uses_outbox:
            sys.exit("Set ELASTICSEARCH_URL to a node of its own.")
        county, phrases = county_queries()
        print(f"case files {CaseFile.objects.count()}; load average {os.getloadavg()}")
        for facets in (False, True):
            time_queries(backend, args.queries, facets)
            time_queries(backend, args.queries, facets, phrases, [county])
        print(f"load average {os.getloadavg()}")
    else:
        drop_index()


if __name__ == "__main__":
    main()
