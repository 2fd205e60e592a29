"""Benchmark of parsing one comparison roster (比对数据) against the floor of the machine.

Generates, with a fixed seed, a CSV roster of each ``--kind`` with ``--rows`` rows as
departments send them (Chinese headers, the date forms of ``docs/numbers.md`` mixed, ID
numbers with lower-case x, full-width digits or spaces now and then, one bad cell in 10 000
rows), then measures on the same file, each in a fresh process (so that its peak RSS is its
own), alternately, best of ``--repeat``:

* **floor** — DuckDB reading the file with every column as text, upper-casing and trimming the
  ID number and parsing the date columns (``try_strptime`` of the forms), into a table: what
  the hardware needs to read and normalise the file at all;
* **ours** — ``core.tabular.read_table`` (validation pass included) and
  ``review.engine.spool_roster`` (set-wise parse, per-row messages for the rejected rows, the
  normalised CSV the engine reads), the roster path of a comparison.

It prints wall and CPU seconds (user + system, DuckDB's threads included), the ratios, and the
peak RSS (``resource.getrusage``) of each process.

    .venv/bin/python bench/roster_bench.py [--rows 100000 1000000] [--kind death cert_base]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing the project
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from core.numbers import id_check_char  # noqa: E402
from core.tabular import read_table  # noqa: E402
from review.engine import spool_roster  # noqa: E402
from review.rosters import ID_HEADER, ROSTERS, header_spec  # noqa: E402

_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}
_CATEGORIES = ("视力", "听力残疾", "言语", "肢体残疾", "5", "精神", "多重残疾")
_GRADES = ("一级", "二级", "3级", "4", "叁级", "Ⅱ级")
_COUNTIES = [f"14{city:02d}{county:02d}" for city in range(1, 12) for county in range(21, 36)]


def _id(rnd: random.Random) -> str:
    birth = date(1930, 1, 1) + timedelta(days=rnd.randrange(30_000))
    first = f"{rnd.choice(_COUNTIES)}{birth:%Y%m%d}{rnd.randrange(1000):03d}"
    return first + id_check_char(first)


def _id_text(number: str, rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.02:
        return number.lower()
    if roll < 0.03:
        return number.translate(_FULL_WIDTH)
    if roll < 0.04:
        return f"{number[:6]} {number[6:14]} {number[14:]}"
    return number


def _day(rnd: random.Random, start: date = date(2000, 1, 1)) -> date:
    return start + timedelta(days=rnd.randrange(9000))


def _day_text(day: date, rnd: random.Random) -> str:
    form = rnd.randrange(6)
    if form == 0:
        return f"{day.year}年{day.month:02d}月{day.day:02d}日"
    if form == 1:
        return f"{day.year}年{day.month}月{day.day}日"
    if form == 2:
        return f"{day:%Y.%m.%d}"
    if form == 3:
        return day.isoformat()
    if form == 4:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day:%Y%m%d}"


def _cell(header: str, number: str, rnd: random.Random, start: date) -> str:
    """A valid cell of ``header`` for the person ``number``."""
    if header in ("死亡日期", "迁出日期", "开始日期", "入监日期"):
        return _day_text(start, rnd)
    if header in ("终止日期", "出监日期"):
        return "" if rnd.random() < 0.5 else _day_text(start + timedelta(days=400), rnd)
    if header == "有效期至":
        return "长期" if rnd.random() < 0.2 else _day_text(_day(rnd, date(2026, 1, 1)), rnd)
    if header == "残疾人证号":
        return f"{number}{rnd.randint(1, 7)}{rnd.randint(1, 4)}" + ("B" * (rnd.random() < 0.05))
    simple = {
        "残疾类别": _CATEGORIES,
        "残疾等级": _GRADES,
        "证件状态": ("正常", "正常", "正常", "注销"),
        "保障类别": ("低保", "低保边缘", "特困"),
        "保障类型": ("孤儿", "事实无人抚养儿童"),
    }
    if header in simple:
        return rnd.choice(simple[header])
    if header in ("户籍区划代码", "迁入地区划代码"):
        return rnd.choice(_COUNTIES) + ("001" if rnd.random() < 0.3 else "")
    raise ValueError(header)


def generate(path: Path, kind: str, rows: int, seed: int) -> None:
    rnd = random.Random(seed)
    spec = ROSTERS[kind]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(spec.headers)
        for i in range(rows):
            number = _id(rnd)
            start = _day(rnd)
            row = ["张三", _id_text(number, rnd)]
            row += [_cell(h, number, rnd, start) for h in spec.evidence_headers]
            if i % 10_000 == 9_999:  # one bad cell: a check character or a date
                row[1 if i % 20_000 else 2] = number[:-1] + ("0" if number[-1] != "0" else "1")
            writer.writerow(row)


_FLOOR_FORMS = ("%Y-%m-%d", "%Y年%m月%d日", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


def floor(kind: str, path: Path, threads: int) -> dict[str, float]:
    """DuckDB: all text, ID upper/trim, dates parsed, into a table."""
    spec = ROSTERS[kind]
    con = duckdb.connect(":memory:", config={"threads": threads, "memory_limit": "1GB"})
    columns = []
    for i, header in enumerate(spec.headers):
        cell = f"column{i:d}"
        if header == ID_HEADER:
            columns.append(f"upper(trim({cell})) AS c{i}")
        elif header.endswith("日期") or header == "有效期至":
            forms = ", ".join(f"try_strptime({cell}, '{form}')" for form in _FLOOR_FORMS)
            columns.append(f"coalesce({forms})::DATE AS c{i}")
        else:
            columns.append(f"{cell} AS c{i}")
    con.execute(
        f"CREATE TABLE floor AS SELECT {', '.join(columns)} FROM read_csv($path, "  # noqa: S608
        "header = false, skip = 1, all_varchar = true, "
        f"names = [{', '.join(repr(f'column{i}') for i in range(len(spec.headers)))}])",
        {"path": str(path)},
    )
    con.close()
    return {}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ours(kind: str, path: Path, _threads: int) -> dict[str, float]:
    """read_table + spool_roster: what a comparison does with an uploaded roster.  Returns
    the CPU seconds of the validation pass (``read_table``, Python) apart."""
    start = _cpu()
    table = read_table(path, path.name, spec=header_spec(kind))
    read = _cpu() - start
    with tempfile.TemporaryDirectory() as tmp:
        spooled = spool_roster(kind, table, Path(tmp) / "parsed.parquet")
    assert spooled.row_count + len({e.row for e in spooled.errors}) == table.row_count
    return {"read_table_cpu_s": read}


def _one(which: str, kind: str, path: Path, threads: int) -> dict[str, float]:
    start = time.perf_counter()
    before = _cpu()
    parts = {"floor": floor, "ours": ours}[which](kind, path, threads)
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": _cpu() - before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **parts,
    }


def _measure(which: str, kind: str, path: Path, threads: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", which, kind, str(path), str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--kind", nargs="+", default=["death", "cert_base"], choices=ROSTERS)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        which, kind, path, threads = args.one
        print(json.dumps(_one(which, kind, Path(path), int(threads))))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp:
        for rows in args.rows:
            for kind in args.kind:
                path = Path(tmp) / f"{kind}-{rows}.csv"
                generate(path, kind, rows, args.seed)
                runs: dict[str, list[dict[str, float]]] = {"floor": [], "ours": []}
                for _ in range(args.repeat):
                    for which in runs:
                        runs[which].append(_measure(which, kind, path, args.threads))
                best = {w: min(r, key=lambda m: m["wall_s"]) for w, r in runs.items()}
                result = {
                    "kind": kind,
                    "rows": rows,
                    "file_mb": round(path.stat().st_size / 1e6, 1),
                    **{f"{w}_{k}": round(v, 2) for w, m in best.items() for k, v in m.items()},
                    "ratio_wall": round(best["ours"]["wall_s"] / best["floor"]["wall_s"], 2),
                    "ratio_cpu": round(best["ours"]["cpu_s"] / best["floor"]["cpu_s"], 2),
                }
                results.append(result)
                if not args.json:
                    print(
                        f"{kind:>10} {rows:>9} rows ({result['file_mb']} MB): "
                        f"floor {result['floor_wall_s']} s wall / {result['floor_cpu_s']} s CPU, "
                        f"peak {result['floor_peak_rss_mb']:.0f} MB; "
                        f"ours {result['ours_wall_s']} s / {result['ours_cpu_s']} s "
                        f"(read_table {result['ours_read_table_cpu_s']} s CPU), "
                        f"peak {result['ours_peak_rss_mb']:.0f} MB; "
                        f"ratio {result['ratio_wall']}x wall, {result['ratio_cpu']}x CPU",
                        flush=True,
                    )
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
