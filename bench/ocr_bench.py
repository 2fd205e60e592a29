"""Benchmark of the OCR pipeline per engine on the generated world (:mod:`ocr.world`).

Why: what matters is how the pipeline reads scans it was *not* built on — other fonts and
layouts, cards photocopied onto A4, seals, faxes, phone photos — and that it never returns
a wrong certificate number.  Each engine reads the same pages through
:func:`ocr.pipeline.read_image`, in this single process, and the report gives, for the
tuning set and the held-out set (seeds ≥ ``world.HELD_OUT_BASE``, never tuned on), per
engine: certificate number exact % and **wrong numbers** (must be 0), category+grade, expiry,
name, ID number, document type, and seconds per page, then the same per layout and per
degradation level.  Generating the pages is not timed.  The exit status is 1 when any
engine returned a wrong certificate or ID number.

    .venv/bin/python bench/ocr_bench.py [--pages N] [--engines rapidocr,tesseract]
        [--sets tuning,held_out] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from ocr import engine, pipeline, world  # noqa: E402

#: Certificate layouts: every field is printed; the others print some.
FIELDS = ("certificate_number", "id_number", "name", "category_grade", "valid_until", "doc_type")
_NUMBERS = ("certificate_number", "id_number")
#: Layouts printed on A4 (the others are card- or booklet-sized, the register a half page).
_A4 = ("a4_copy", "application_form", "commitment_letter")


def _score(sample: world.Sample, result: pipeline.PageResult) -> dict[str, str]:
    """right / null / wrong for each field the page prints (and for numbers it does not)."""
    got = dict(result.fields, doc_type=result.doc_type)
    expected = sample.expected
    verdicts: dict[str, str] = {}
    for key in FIELDS:
        if key == "category_grade":
            if "category" not in expected:
                continue
            want = (expected["category"], expected["grade"])
            have = (got["category"], got["grade"])
            missing = None in have
        elif key in expected:
            want, have = expected[key], got[key]
            missing = have is None
        elif key in _NUMBERS:
            want, have, missing = None, got[key], got[key] is None  # a number it does not print
        else:
            continue
        if have == want:
            verdicts[key] = "right"
        else:
            verdicts[key] = (
                "null" if missing or (key == "doc_type" and have == "unknown") else "wrong"
            )
    return verdicts


def _cpu() -> float:
    """CPU seconds of this process and its finished children (Tesseract runs as a child)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _read(samples: list[world.Sample], name: str) -> list[tuple[world.Sample, dict, float]]:
    rows = []
    for sample in samples:
        began = _cpu()
        result = pipeline.read_image(sample.image, file=str(sample.seed), page=1, engine=name)
        rows.append((sample, _score(sample, result), _cpu() - began))
    return rows


def _summary(rows: list[tuple[world.Sample, dict, float]]) -> dict[str, object]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"right": 0, "null": 0, "wrong": 0})
    for _, verdicts, _ in rows:
        for key, verdict in verdicts.items():
            counts[key][verdict] += 1
    figures: dict[str, object] = {"pages": len(rows)}
    for key in FIELDS:
        if key not in counts:
            continue
        total = sum(counts[key].values())
        figures[key] = {
            **counts[key],
            "pct": round(100 * counts[key]["right"] / total, 1) if total else None,
        }
    seconds = [s for _, _, s in rows]
    figures["cpu_s_per_page"] = round(statistics.fmean(seconds), 2) if seconds else None
    return figures


def _group(rows, key) -> dict[str, dict[str, object]]:
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[key(row[0])].append(row)
    return {name: _summary(members) for name, members in sorted(groups.items())}


def run(pages: int, engines: list[str], sets: list[str]) -> dict[str, object]:
    report: dict[str, object] = {
        "pages_per_set": pages,
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "sets": {},
    }
    for which in sets:
        samples = world.generate(pages, held_out=which == "held_out")
        per_engine = {}
        for name in engines:
            engine.recognise(samples[0].image, engine=name)  # load the models outside the clock
            rows = _read(samples, name)
            per_engine[name] = {
                "all": _summary(rows),
                "layout": _group(rows, lambda s: s.layout),
                "level": _group(rows, lambda s: s.level),
                "sealed": _group(rows, lambda s: "sealed" if s.sealed else "no seal"),
                "page": _group(
                    rows,
                    lambda s: (
                        "A4"
                        if max(s.image.size) > 1.6 * min(s.image.size) or s.image.height > 1600
                        else "card"
                    ),
                ),
            }
        report["sets"][which] = per_engine  # type: ignore[index]
    return report


def _cell(figures: dict, key: str) -> str:
    value = figures.get(key)
    if not isinstance(value, dict):
        return "–"
    return f"{value['pct']:.0f}%" + (f" ({value['wrong']} wrong)" if value["wrong"] else "")


def _print_table(title: str, groups: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(
        "| group | pages | cert no. | wrong cert | id | cat+grade | expiry | name | type | CPU s/page |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, f in groups.items():
        wrong = (
            f.get("certificate_number", {}).get("wrong", 0)
            if isinstance(f.get("certificate_number"), dict)
            else 0
        )
        print(
            f"| {name} | {f['pages']} | {_cell(f, 'certificate_number')} | {wrong} | {_cell(f, 'id_number')} "
            f"| {_cell(f, 'category_grade')} | {_cell(f, 'valid_until')} | {_cell(f, 'name')} "
            f"| {_cell(f, 'doc_type')} | {f['cpu_s_per_page']} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=80, help="pages per set (default 80)")
    parser.add_argument("--engines", default=",".join(engine.ENGINES))
    parser.add_argument("--sets", default="tuning,held_out")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    engines = [name for name in args.engines.split(",") if name]
    report = run(args.pages, engines, [name for name in args.sets.split(",") if name])
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"OCR benchmark, {args.pages} pages per set, {report['machine']}, {report['date']}")
        for which, per_engine in report["sets"].items():  # type: ignore[union-attr]
            _print_table(
                f"## {which}: per engine", {name: f["all"] for name, f in per_engine.items()}
            )
            for name, figures in per_engine.items():
                for part in ("page", "layout", "level", "sealed"):
                    _print_table(f"### {which}, {name}, per {part}", figures[part])
    wrong = sum(
        figures["all"][key]["wrong"]
        for per_engine in report["sets"].values()  # type: ignore[union-attr]
        for figures in per_engine.values()
        for key in _NUMBERS
        if isinstance(figures["all"].get(key), dict)
    )
    print(f"\nwrong certificate/ID numbers in total: {wrong} (must be 0)", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
