"""Benchmark of a province-size data comparison (数据比对).

Generates, with a fixed seed, N synthetic beneficiaries (one row per enrolment, with a few
people enrolled by two counties) and the seven comparison rosters of ``docs/formats.md`` with M
rows each, written as the CSV files departments send (Chinese headers, raw cell texts); then
times, separately:

1. generation (not part of the system's work);
2. reading, validating and parsing the rosters (``core.tabular`` + ``review.rosters``),
   one process per roster file, ``--workers`` at a time;
3. the comparison itself (``review.engine.compare``: DuckDB SQL plus formatting findings).

It prints wall times, peak RSS of this process and of the worker processes
(``resource.getrusage``), and the number of findings per code.  Defaults: 1 000 000
beneficiaries, 1 000 000 rows per roster, 2 threads / workers, DuckDB memory limit 1 GB.

    .venv/bin/python bench/compare_bench.py [--people N] [--roster-rows M] [--json]

Rates of the synthetic problems (deaths, moves, expired certificates, …) are chosen so that
each rule fires on a realistic few per cent of the beneficiaries; most roster rows concern
people outside the beneficiary list, as in real departmental lists.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing the project
    sys.path.insert(0, str(ROOT))

from core.numbers import id_check_char  # noqa: E402
from review.engine import (  # noqa: E402
    EngineConfig,
    SpooledRoster,
    compare,
    spool_roster_files,
    write_beneficiaries_csv,
)
from review.rosters import ROSTERS  # noqa: E402

AS_OF = date(2026, 11, 30)
DIVISION = "140000"  # Shanxi province: every synthetic county lies in it
# 11 cities × 15 counties of the province: enough counties for a realistic spread.
COUNTIES = [f"14{city:02d}{county:02d}" for city in range(1, 12) for county in range(21, 36)]
BIRTH_BASE = date(1930, 1, 1)
BIRTH_SPAN = 30_000  # days; with the county this keeps every synthetic ID unique
NAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
CATEGORY_WORDS = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
GRADE_WORDS = ["一级", "二级", "三级", "四级"]


def make_id(index: int, rnd: random.Random) -> str:
    """The index-th synthetic ID: unique county + birth date, random sequence, real check."""
    county = COUNTIES[index % len(COUNTIES)]
    birth = BIRTH_BASE + timedelta(days=(index // len(COUNTIES)) % BIRTH_SPAN)
    first = f"{county}{birth:%Y%m%d}{rnd.randrange(1000):03d}"
    return first + id_check_char(first)


def make_name(rnd: random.Random) -> str:
    return rnd.choice(NAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.6 else "")


def day_text(day: date, rnd: random.Random) -> str:
    """Dates in the mix of forms clerks really type."""
    form = rnd.random()
    if form < 0.6:
        return day.isoformat()
    if form < 0.8:
        return f"{day.year}年{day.month}月{day.day}日"
    if form < 0.9:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day:%Y%m%d}"


def random_day(rnd: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rnd.randrange((end - start).days + 1))


class Population:
    """Beneficiaries and the outsiders that fill up the rosters, generated once."""

    def __init__(self, people: int, outsiders: int, seed: int) -> None:
        rnd = random.Random(seed)
        self.rnd = rnd
        self.ids = [make_id(i, rnd) for i in range(people)]
        self.names = [make_name(rnd) for _ in range(people)]
        # cert digits: mostly physical; intellectual/mental grades 3–4 also receive nursing.
        self.certs: list[tuple[int, int]] = []
        for _ in range(people):
            category = rnd.choices(range(1, 8), weights=[8, 8, 3, 45, 14, 14, 8])[0]
            self.certs.append((category, rnd.choices(range(1, 5), weights=[20, 30, 28, 22])[0]))
        self.living = [rnd.random() < 0.6 for _ in range(people)]
        self.nursing = [
            (grade <= 2 or category in (5, 6)) or rnd.random() < 0.01
            for category, grade in self.certs
        ]
        self.outsiders = [make_id(people + i, rnd) for i in range(outsiders)]

    def outsider(self) -> str:
        return self.rnd.choice(self.outsiders)


def write_csv(path: Path, headers: tuple[str, ...], rows: Iterator[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)


def beneficiary_rows(pop: Population) -> Iterator[tuple[object, ...]]:
    rnd = pop.rnd
    for i, id_number in enumerate(pop.ids):
        category, grade = pop.certs[i]
        has_cert = rnd.random() > 0.003
        long_term = rnd.random() < 0.3
        expiry = None if long_term else random_day(rnd, date(2026, 6, 1), date(2036, 1, 1))
        # A few records whose category disagrees with the number (CERT_CODE_MISMATCH).
        recorded_category = category if rnd.random() > 0.002 else (category % 7) + 1
        county = id_number[:6]
        row = (
            f"E{i}",
            id_number,
            pop.names[i],
            county + f"{rnd.randrange(100, 120):03d}",
            county,
            id_number + f"{category}{grade}" if has_cert else None,
            recorded_category if has_cert else None,
            grade if has_cert else None,
            expiry,
            long_term,
            rnd.choice(["低保", "低保边缘"]) if pop.living[i] else "一般",
            pop.living[i],
            pop.nursing[i],
            date(rnd.randrange(2016, 2026), rnd.randrange(1, 13), 1),
        )
        yield row
        if rnd.random() < 0.005:  # the same person enrolled by a second county
            other = rnd.choice(COUNTIES)
            yield (f"E{i}b", *row[1:3], other, other, *row[5:])


def roster_rows(kind: str, pop: Population, rows: int) -> Iterator[list[str]]:
    """``rows`` rows of one roster: some about beneficiaries, the rest about outsiders."""
    rnd = pop.rnd
    people = len(pop.ids)

    def pick_beneficiaries(rate: float) -> list[int]:
        count = min(rows, int(people * rate))
        return rnd.sample(range(people), count)

    if kind == "cert_base":
        for i in pick_beneficiaries(0.97):
            category, grade = pop.certs[i]
            if rnd.random() < 0.02:  # re-assessed: grade changed (CERT_CHANGED)
                grade = rnd.randrange(1, 5)
            status = rnd.choices(["正常", "注销", "冻结"], weights=[970, 15, 15])[0]
            expiry = (
                "长期"
                if rnd.random() < 0.3
                else day_text(random_day(rnd, date(2026, 1, 1), date(2036, 1, 1)), rnd)
            )
            id_number = pop.ids[i]
            yield [
                pop.names[i], id_number, id_number + f"{category}{grade}",
                CATEGORY_WORDS[category - 1], GRADE_WORDS[grade - 1], status, expiry,
                id_number[:6],
            ]  # fmt: skip
        produced = min(rows, int(people * 0.97))
        for _ in range(rows - produced):
            id_number = pop.outsider()
            category, grade = rnd.randrange(1, 8), rnd.randrange(1, 5)
            yield [
                make_name(rnd), id_number, id_number + f"{category}{grade}",
                CATEGORY_WORDS[category - 1], GRADE_WORDS[grade - 1], "正常", "长期",
                id_number[:6],
            ]  # fmt: skip
        return

    if kind == "assistance":
        receiving = [i for i in range(people) if pop.living[i]]
        chosen = receiving[:rows]
        for i in chosen:
            r = rnd.random()
            benefit = "特困" if r < 0.005 else rnd.choice(["低保", "低保边缘"])
            ended = r > 0.98  # left assistance before the reference date (LEFT_ASSISTANCE)
            start = random_day(rnd, date(2015, 1, 1), date(2024, 12, 31 if ended else 1))
            end = random_day(rnd, date(2025, 1, 1), date(2026, 11, 29)) if ended else None
            yield [
                pop.names[i], pop.ids[i], benefit, day_text(start, rnd),
                day_text(end, rnd) if end else "",
            ]  # fmt: skip
        for _ in range(rows - len(chosen)):
            start = random_day(rnd, date(2015, 1, 1), date(2026, 6, 1))
            yield [make_name(rnd), pop.outsider(), rnd.choice(["低保", "低保边缘", "特困"]),
                   day_text(start, rnd), ""]  # fmt: skip
        return

    rate = {"death": 0.01, "hukou_out": 0.01}.get(kind, 0.002)
    hits = pick_beneficiaries(rate)
    for n in range(rows):
        if n < len(hits):
            i = hits[n]
            id_number, name = pop.ids[i], pop.names[i]
        else:
            id_number, name = pop.outsider(), make_name(rnd)
        if kind == "death":
            yield [
                name,
                id_number,
                day_text(random_day(rnd, date(2020, 1, 1), date(2026, 12, 31)), rnd),
            ]
        elif kind == "hukou_out":
            moved = random_day(rnd, date(2020, 1, 1), date(2026, 12, 31))
            same_county = rnd.random() < 0.3
            destination = id_number[:6] if same_county else rnd.choice(COUNTIES)
            yield [name, id_number, day_text(moved, rnd), destination + "101"]
        else:
            start = random_day(rnd, date(2015, 1, 1), date(2026, 12, 31))
            end = random_day(rnd, start, date(2028, 1, 1)) if rnd.random() < 0.5 else None
            extra = [rnd.choice(["孤儿", "事实无人抚养儿童"])] if kind == "orphan" else []
            yield [name, id_number, *extra, day_text(start, rnd), day_text(end, rnd) if end else ""]


def with_typos(rows: Iterator[list[str]], every: int = 10_000) -> Iterator[list[str]]:
    """One row in ``every`` gets a mistyped ID (wrong check character), as real lists do."""
    for n, row in enumerate(rows, start=1):
        if n % every == 0:
            last = row[1][-1]
            row[1] = row[1][:-1] + ("0" if last != "0" else "1")
        yield row


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(work: Path, people: int, rows_each: int, seed: int) -> dict[str, object]:
    """Write the beneficiary file and the seven roster files into ``work``."""
    started = time.perf_counter()
    pop = Population(people, max(rows_each, 1), seed)
    enrolments = write_beneficiaries_csv(beneficiary_rows(pop), work / "beneficiaries.csv")
    for kind, spec in ROSTERS.items():
        write_csv(work / f"{kind}.csv", spec.headers, with_typos(roster_rows(kind, pop, rows_each)))
    return {
        "enrolments": enrolments,
        "generation_s": round(time.perf_counter() - started, 1),
        "peak_rss_generation_mb": round(peak_rss_mb()),
    }


def spool_one(kind: str, source: str, work: str) -> tuple[SpooledRoster, float, float]:
    """Worker: the public per-file spooling, plus this worker's peak RSS and the job's CPU s.

    CPU seconds are reported besides wall time because a shared machine makes wall time
    depend on what else runs; CPU time does not (much).
    """
    cpu = time.process_time()
    spooled = spool_roster_files({kind: source}, work, workers=1)[kind]
    return spooled, peak_rss_mb(), time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--roster-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--workers", type=int, default=2, help="roster-parsing processes")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    if args.generate_only:
        print(json.dumps(generate(args.workdir, args.people, args.roster_rows, args.seed)))
        return 0

    with tempfile.TemporaryDirectory(prefix="compare-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        # Generation runs in its own process so that its memory does not count as ours.
        child = subprocess.run(
            [sys.executable, __file__, "--generate-only", "--workdir", str(work),
             "--people", str(args.people), "--roster-rows", str(args.roster_rows),
             "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        generation = json.loads(child.stdout)

        started = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
            # Largest file first, as spool_roster_files does (longest-processing-time-first).
            kinds = sorted(ROSTERS, key=lambda kind: -(work / f"{kind}.csv").stat().st_size)
            futures = {
                kind: pool.submit(spool_one, kind, str(work / f"{kind}.csv"), str(work))
                for kind in kinds
            }
            outcomes = {kind: future.result() for kind, future in futures.items()}
        spooled = {kind: outcome[0] for kind, outcome in outcomes.items()}
        parsed = time.perf_counter() - started
        parse_cpu = {kind: round(outcome[2], 1) for kind, outcome in outcomes.items()}

        started = time.perf_counter()
        compare_cpu = time.process_time()
        result = compare(
            work / "beneficiaries.csv",
            spooled,
            as_of=AS_OF,
            division=DIVISION,
            config=EngineConfig(threads=args.threads, memory_limit=args.memory_limit),
        )
        compared = time.perf_counter() - started
        compare_cpu = time.process_time() - compare_cpu

    figures = {
        "people": args.people,
        **generation,
        "roster_rows_each": args.roster_rows,
        "roster_rows_rejected": sum(len(s.errors) for s in spooled.values()),
        "parse_rosters_s": round(parsed, 1),
        "parse_cpu_s_per_roster": parse_cpu,
        "compare_s": round(compared, 1),
        "compare_cpu_s": round(compare_cpu, 1),
        "total_system_s": round(parsed + compared, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "peak_rss_compare_mb": round(peak_rss_mb()),
        "peak_rss_parse_worker_mb": round(max(rss for _, rss, _ in outcomes.values())),
        "duckdb": f"threads={args.threads} memory_limit={args.memory_limit}",
        "checked": result.checked,
        "findings": len(result.findings),
        "findings_by_code": dict(Counter(f.code for f in result.findings).most_common()),
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
