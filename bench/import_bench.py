"""Benchmark of the beneficiary-roster import: 100 000 rows, first import and re-import.

Why: a province-wide roster has on the order of 10^5 rows, and the import must finish in well
under a minute on a 2-core machine with PostgreSQL (target: 60 s for 100 000 rows), which is
only possible without per-row queries.  This script makes that claim checkable.

It generates a deterministic CSV (fixed seed), imports it through :mod:`archive.imports` on
the database of ``DATABASE_URL`` (migrating it first), then imports it again (everything must
come back unchanged, with no new history rows), and prints rows/s and wall time of both runs.

The synthetic people have ID numbers beginning with ``990``, a prefix no real division has, so
the script can remove exactly its own rows before and after a run.  Use a separate database
anyway: ``createdb bench_import`` and point ``DATABASE_URL`` at it.

``--first-only`` runs the first import alone; ``--stages`` prints where its wall time went
(reading and validating, the plan, COPY, opening the case files, the flags, ANALYZE; the rest
is mostly the ``COMMIT``, where PostgreSQL checks the foreign keys of every new row).

Usage: ``python bench/import_bench.py [--rows N] [--seed S] [--keep] [--first-only] [--stages]``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from archive import imports  # noqa: E402
from archive.imports import run as import_run  # noqa: E402
from archive.imports import write as import_write  # noqa: E402
from archive.models import (  # noqa: E402
    CaseFile,
    Certificate,
    DataFlag,
    Enrolment,
    EnrolmentChange,
    FamilyStatus,
    ImportRecord,
    Person,
)
from core.numbers import id_check_char  # noqa: E402

BENCH_PREFIX = "990"
TARGET_SECONDS = 60.0
HEADERS = [
    "姓名", "公民身份号码", "性别", "残疾人证号", "残疾类别", "残疾等级", "证件有效期至",
    "户籍区划代码", "户籍地址", "家庭类别", "享受生活补贴", "生活补贴标准", "享受护理补贴",
    "护理补贴标准", "护理补贴发放对象", "补贴起始年月", "监护人", "联系电话",
]  # fmt: skip
COUNTIES = ["140403", "140404", "140405", "140406", "140423", "140425", "140426", "140427"]
OLD_COUNTIES = ["140402", "140411", "140421", "140424", "140481"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌凤云"
CATEGORY_NAMES = ["视力", "听力残疾", "言语", "肢体残疾", "智力", "精神残疾", "多重"]
GRADE_NAMES = ["一级", "2级", "三级", "4"]


def make_id(index: int, rng: random.Random) -> tuple[str, str]:
    """A unique valid ID for ``index`` (< 200 000), and the holder's sex."""
    birth = date(1940, 1, 1) + timedelta(days=index % 25000)
    sex_bit = rng.randrange(2)
    sequence = 2 * (index // 25000) + sex_bit
    first17 = f"{BENCH_PREFIX}425{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17), "男" if sex_bit else "女"


def generate(path: Path, rows: int, seed: int) -> None:
    """Write a realistic roster: most rows with a certificate, a mix of both subsidies, some
    pre-2018 county codes, township codes, 长期 certificates and various cell forms."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        for index in range(rows):
            id_number, sex = make_id(index, rng)
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            county = rng.choice(OLD_COUNTIES if rng.random() < 0.05 else COUNTIES)
            hukou = county + (f"{rng.randint(100, 120):03d}" if rng.random() < 0.5 else "")
            has_cert = rng.random() < 0.9
            category = rng.randint(1, 7)
            grade = rng.randint(1, 4)
            nursing = has_cert and grade <= 2 and rng.random() < 0.8
            living = rng.random() < 0.7 or not nursing
            expiry = (
                "长期"
                if rng.random() < 0.3
                else f"{rng.randint(2027, 2035)}年{rng.randint(1, 12)}月1日"
            )
            writer.writerow(
                [
                    name,
                    id_number,
                    sex,
                    f"{id_number}{category}{grade}" if has_cert else "",
                    CATEGORY_NAMES[category - 1] if has_cert else "",
                    GRADE_NAMES[grade - 1] if has_cert else "",
                    expiry if has_cert else "",
                    hukou,
                    f"长治市某街道{rng.randint(1, 300)}号",
                    rng.choice(["低保", "低保边缘", "特困", "一般"]),
                    "是" if living else "否",
                    rng.choice(["60", "70", "80"]) if living else "",
                    "是" if nursing else "否",
                    rng.choice(["80", "90.5"]) if nursing else "",
                    "儿童福利机构" if nursing and rng.random() < 0.01 else "",
                    f"{rng.randint(2016, 2025)}-{rng.randint(1, 12):02d}",
                    rng.choice(["", "", "", "王某"]),
                    f"13{rng.randint(100000000, 999999999)}",
                ]
            )


def changed_copy(source: Path, target: Path, every: int = 10) -> int:
    """A copy in which every ``every``-th row moves to another family type and 生活补贴标准:
    an update-heavy re-import (closed and new family statuses, amended enrolments)."""
    family = HEADERS.index("家庭类别")
    amount = HEADERS.index("生活补贴标准")
    changed = 0
    with (
        source.open(encoding="utf-8", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        reader, writer = csv.reader(src), csv.writer(out)
        writer.writerow(next(reader))
        for index, row in enumerate(reader):
            if index % every == 0:
                row[family] = "一般" if row[family] != "一般" else "低保"
                if row[amount]:
                    row[amount] = str(int(row[amount]) + 5)
                changed += 1
            writer.writerow(row)
    return changed


def cleanup() -> None:
    """Remove the rows of earlier bench runs (people with the bench prefix only)."""
    people = Person.objects.filter(id_number__startswith=BENCH_PREFIX)
    # Dependants first, each in one DELETE without the ORM collecting their relations (which
    # took half a minute for 100 000 people); the import opens a case file per new person.
    purged = (
        EnrolmentChange.objects.filter(enrolment__person__in=people),
        DataFlag.objects.filter(person__in=people),
        Enrolment.objects.filter(person__in=people),
        Certificate.objects.filter(person__in=people),
        FamilyStatus.objects.filter(person__in=people),
        CaseFile.objects.filter(person__in=people),
        people,
    )
    for rows in purged:
        rows._raw_delete(rows.db)
    ImportRecord.objects.filter(filename__startswith="bench-roster-").delete()
    if connection.vendor == "postgresql":
        # Settle the purged tables now: left to autovacuum, it would clean them during the
        # next import, whose ANALYZE then waits a second per table to cancel it.
        tables = ", ".join(rows.model._meta.db_table for rows in purged)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {tables}")


def history_rows() -> int:
    return (
        EnrolmentChange.objects.count() + Certificate.objects.count() + FamilyStatus.objects.count()
    )


#: The steps ``--stages`` times: (label, module, function). Wrapping the package's own steps
#: is for measuring only; the import does not know it is timed.
STAGES = (
    ("read+validate", import_run, "read_roster"),
    ("plan", import_run, "_plan"),
    ("COPY", import_write._Writer, "insert"),
    ("case files", import_write.casefiles, "open_case_files"),
    ("flags", import_run, "sync_flags"),
    ("ANALYZE", import_write, "analyze"),  # before the case files
    ("ANALYZE", import_run, "analyze"),  # after the flags
)


@contextlib.contextmanager
def timed_stages(spent: dict[str, float]):
    """Add the wall time of each of :data:`STAGES` to ``spent`` while the block runs; a stage
    inside another (the flags' COPY) counts for the outer one only."""
    originals = [(owner, name, getattr(owner, name)) for _label, owner, name in STAGES]
    inside: list[str] = []

    def wrap(label: str, function):
        def timed(*args, **kwargs):
            if inside:
                return function(*args, **kwargs)
            inside.append(label)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
                inside.pop()

        return timed

    for (label, _owner, _name), (owner, name, function) in zip(STAGES, originals, strict=True):
        setattr(owner, name, wrap(label, function))
    try:
        yield spent
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def run(path: Path, label: str, stages: bool = False) -> imports.ImportResult:
    spent: dict[str, float] = {}
    with timed_stages(spent) if stages else contextlib.nullcontext():
        start = time.perf_counter()
        result = imports.import_beneficiaries(path, path.name)
        elapsed = time.perf_counter() - start
    rows = result.total
    print(
        f"{label:<12} {rows:>7} rows  {elapsed:6.1f} s  {rows / elapsed:8.0f} rows/s  "
        f"created {result.created}  updated {result.updated}  unchanged {result.unchanged}  "
        f"rejected {len(result.rejected_rows)}"
    )
    if spent:
        rest = elapsed - sum(spent.values())
        shares = "  ".join(f"{name} {seconds:.2f}" for name, seconds in spent.items())
        print(f"  stages (s): {shares}  rest (COMMIT, audit) {rest:.2f}")
    if result.errors:
        print("  first errors:", [str(e) for e in result.errors[:3]])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--keep", action="store_true", help="leave the imported rows in place")
    parser.add_argument("--first-only", action="store_true", help="the first import alone")
    parser.add_argument("--stages", action="store_true", help="time the first import's steps")
    args = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    cleanup()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench-roster-{args.rows}.csv"
        start = time.perf_counter()
        generate(path, args.rows, args.seed)
        print(
            f"generated    {args.rows:>7} rows  {time.perf_counter() - start:6.1f} s  ({path.stat().st_size // 1024} KiB)"
        )
        first = run(path, "first import", args.stages)
        if args.first_only:
            if not args.keep:
                cleanup()
            return 0 if first.created == args.rows else 1
        before = history_rows()
        second = run(path, "re-import")
        after = history_rows()
        changed_path = Path(tmp) / f"bench-roster-{args.rows}-changed.csv"
        changed = changed_copy(path, changed_path)
        third = run(changed_path, "10% changed")
    ok = (
        first.created == args.rows
        and second.unchanged == args.rows
        and second.created == second.updated == 0
        and before == after
        and third.updated == changed
    )
    if not args.keep:
        cleanup()
    print("re-import wrote no history rows" if before == after else "re-import WROTE HISTORY")
    if not ok:
        print("FAILED: unexpected counts")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
