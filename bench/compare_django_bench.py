"""Benchmark of a province-size comparison run end to end, from the database.

``bench/compare_bench.py`` measures the engine on files. This one measures what the system
does when a comparison runs (``review.services.execute_run``): re-reading the stored roster
files, streaming the beneficiaries out of PostgreSQL (one aggregated query, server-side
cursor), the DuckDB comparison, and writing the findings and the diff back in bulk.

It fills the database given by ``DATABASE_URL`` (PostgreSQL; use a database of its own) with
the synthetic population of ``compare_bench`` — N people with certificates, family status and
enrolments in 165 counties of the province, a few enrolled by two counties — loaded with
COPY, then stores the seven rosters as uploads and runs one comparison for the province.
A second invocation with ``--reuse`` skips the loading.

    DATABASE_URL=postgres://…/subsidy_bench .venv/bin/python bench/compare_django_bench.py \
        [--people N] [--roster-rows M] [--reuse] [--json]

Prints wall time per stage, peak RSS of this process and of its children (roster-parsing
processes), the number of findings and the diff against the previous run, and the floor of
storing them: PostgreSQL writing the same rows within itself (``store_floor_s``; the stage
保存比对发现 over it is ``store_vs_floor``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from archive.models import Division, Person  # noqa: E402
from bench.compare_bench import (  # noqa: E402
    AS_OF,
    COUNTIES,
    Population,
    beneficiary_rows,
    roster_rows,
    with_typos,
    write_csv,
)
from review import services  # noqa: E402
from review.models import ComparisonRun, Finding  # noqa: E402
from review.rosters import ROSTERS  # noqa: E402

PROVINCE = "140000"


def rss_mb(who: int = resource.RUSAGE_SELF) -> int:
    return round(resource.getrusage(who).ru_maxrss / 1024)


def ensure_divisions() -> None:
    cities = sorted({code[:4] + "00" for code in COUNTIES})
    for city in cities:
        Division.objects.get_or_create(
            code=city, defaults={"name": f"市{city}", "level": "city", "parent_id": PROVINCE}
        )
    for county in COUNTIES:
        Division.objects.get_or_create(
            code=county,
            defaults={"name": f"县{county}", "level": "county", "parent_id": county[:4] + "00"},
        )


def load_population(pop: Population) -> int:
    """COPY the population into person, certificate, family status and enrolment."""
    now = timezone.now()
    raw = connection.connection
    pk_of: dict[str, int] = {}
    seen: set[tuple[int, str, str]] = set()
    people, certs, families, enrolments = [], [], [], []
    for row in beneficiary_rows(pop):
        (_key, id_number, name, division, county, cert, category, grade, expiry, long_term,
         family, living, nursing, start) = row  # fmt: skip
        pk = pk_of.get(id_number)
        if pk is None:
            pk = pk_of[id_number] = len(pk_of) + 1
            birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            sex = "男" if int(id_number[16]) % 2 else "女"
            people.append((pk, name, id_number, sex, birth, "", "", division, "", county,
                           False, now, now))  # fmt: skip
            if cert:
                certs.append((pk, cert, cert[:20], category, grade, expiry, long_term, "正常",
                              True, now))  # fmt: skip
            families.append((pk, family, start))
        for subsidy, wanted in (("living", living), ("nursing", nursing)):
            if wanted and (pk, subsidy, county) not in seen:
                seen.add((pk, subsidy, county))
                enrolments.append((pk, subsidy, county, "active", "本人", start, "", now))
    with raw.cursor() as cur:
        copies = (
            (
                "COPY archive_person (id, name, id_number, sex, birth_date, phone, guardian, "
                "hukou_code, hukou_address, county_id, is_demo, created_at, updated_at) "
                "FROM STDIN",
                people,
            ),
            (
                "COPY archive_certificate (person_id, number, stem, category, grade, "
                "expiry_date, long_term, status, is_current, recorded_at) FROM STDIN",
                certs,
            ),
            (
                "COPY archive_familystatus (person_id, family_type, start_date) FROM STDIN",
                families,
            ),
            (
                "COPY archive_enrolment (person_id, subsidy, county_id, status, payee, "
                "start_month, stop_reason, changed_at) FROM STDIN",
                enrolments,
            ),
        )
        for sql, rows in copies:
            with cur.copy(sql) as copy:
                for item in rows:
                    copy.write_row(item)
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('archive_person', 'id'), "
            "(SELECT max(id) FROM archive_person))"
        )
        cur.execute("ANALYZE")
    raw.commit()
    return len(enrolments)


def store_floor(run_id: int) -> float:
    """Seconds PostgreSQL takes to write the run's findings again within itself — one
    ``INSERT … SELECT`` of the same rows, every index updated and every foreign key checked —
    rolled back: what storing them costs the server whoever sends the rows."""
    columns = ", ".join(f.column for f in Finding._meta.concrete_fields if not f.primary_key)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO review_finding ({columns}) "  # noqa: S608 (column names of the model)
            f"SELECT {columns} FROM review_finding WHERE run_id = %s",
            [run_id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--roster-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--reuse", action="store_true", help="keep the data already loaded")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        parser.error("DATABASE_URL must point to a PostgreSQL database of its own")

    figures: dict[str, object] = {"people": args.people, "roster_rows": args.roster_rows}
    call_command("migrate", verbosity=0)
    ensure_divisions()
    province = Division.objects.get(code=PROVINCE)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="django-bench-") as tmp:
        work = Path(tmp)
        if not (args.reuse and Person.objects.exists()):
            if Person.objects.exists():
                parser.error("the database already has people; use --reuse or a fresh database")
            pop = Population(args.people, max(args.roster_rows, 1), args.seed)
            figures["enrolments"] = load_population(pop)
            figures["load_db_s"] = round(time.perf_counter() - started, 1)
            for kind, spec in ROSTERS.items():
                write_csv(
                    work / f"{kind}.csv",
                    spec.headers,
                    with_typos(roster_rows(kind, pop, args.roster_rows)),
                )
            del pop
        else:
            figures["enrolments"] = None
        t = time.perf_counter()
        uploads = []
        for kind in ROSTERS:
            path = work / f"{kind}.csv"
            if not path.exists():
                continue
            with path.open("rb") as fh:
                upload, _ = services.store_roster(
                    fh, path.name, kind=kind, division=province, period=AS_OF
                )
            uploads.append(upload)
        if not uploads:  # --reuse: the uploads of the last run
            last = ComparisonRun.objects.filter(division=province).order_by("-id").first()
            uploads = list(last.rosters.all()) if last else []
        figures["upload_parse_s"] = round(time.perf_counter() - t, 1)

    stages: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def progress(stage: str, percent: int) -> None:
        now = time.perf_counter()
        if last[1]:
            stages[last[1]] = round(stages.get(last[1], 0) + now - last[0], 1)
        last[0], last[1] = now, stage

    run = services.create_run(division=province, as_of=AS_OF, uploads=uploads)
    t = time.perf_counter()
    run = services.execute_run(run.pk, progress=progress)
    progress("完成", 100)  # closes the timing of the last step (storing the findings)
    figures.update(
        {
            "run": run.pk,
            "run_s": round(time.perf_counter() - t, 1),
            "stages_s": stages,
            "checked": run.checked,
            "findings": run.finding_count,
            "new": run.new_count,
            "still_open": run.still_open_count,
            "resolved": run.resolved_count,
            "peak_rss_mb": rss_mb(),
            "peak_rss_children_mb": rss_mb(resource.RUSAGE_CHILDREN),
        }
    )
    floor = store_floor(run.pk)
    stored = stages.get("保存比对发现", 0.0)
    figures["store_floor_s"] = round(floor, 1)
    figures["store_vs_floor"] = round(stored / floor, 2) if floor else None
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
