"""Benchmark of the OCR pipeline: pages per second and accuracy on generated certificates.

Why: every uploaded document goes through OCR on the Celery worker, and an office scanning a
backlog of case files sends thousands of pages at once; the throughput of one worker process
decides how many workers that needs.  Accuracy is measured at the same time because speed
bought with wrong certificate numbers would be worthless: the figure that must stay at 0 is
``wrong`` (a number returned that is not the one printed).

It renders N certificate data pages (:mod:`ocr.samples`, fixed seed) at three qualities —
clean, scanner-quality (noise, 1.5° skew, blur, JPEG 50) and very poor (heavy grain, specks,
3° skew, JPEG 25) — then reads each through :func:`ocr.pipeline.read_image` in this single
process, and prints pages/s, per-page latency (median, 95th percentile), and per field how
many pages were read right, left empty (null), or read wrong.  Generating the pages is not
timed.

    .venv/bin/python bench/ocr_bench.py [--pages N] [--seed S] [--quality clean|scanner|poor|all] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from ocr import pipeline, samples  # noqa: E402
from ocr.extract import FIELD_NAMES  # noqa: E402

QUALITIES = {
    "clean": samples.Degradation(),
    "scanner": samples.Degradation(noise=40, rotate=1.5, blur=0.6, jpeg_quality=50),
    "poor": samples.Degradation(noise=80, speckle=0.003, rotate=-3, blur=1.2, jpeg_quality=25),
}


def run(pages: int, seed: int, qualities: list[str]) -> dict[str, object]:
    """Read ``pages`` generated pages of each quality; return the figures."""
    report: dict[str, object] = {"pages_per_quality": pages, "seed": seed, "qualities": {}}
    for quality in qualities:
        how = QUALITIES[quality]
        people = [samples.make_person(seed + index) for index in range(pages)]
        images = [
            samples.degrade(
                samples.certificate_page(person),
                samples.Degradation(**{**how.__dict__, "seed": seed + index}),
            )
            for index, person in enumerate(people)
        ]
        latencies: list[float] = []
        outcome: Counter[str] = Counter()
        doc_types: Counter[str] = Counter()
        started = time.perf_counter()
        for index, (person, image) in enumerate(zip(people, images, strict=True), start=1):
            began = time.perf_counter()
            result = pipeline.read_image(image, file=f"{quality}-{index}", page=1)
            latencies.append(time.perf_counter() - began)
            doc_types[result.doc_type] += 1
            for field in FIELD_NAMES:
                got, expected = result.fields[field], person.expected_fields[field]
                verdict = "right" if got == expected else ("null" if got is None else "wrong")
                outcome[f"{field}:{verdict}"] += 1
        elapsed = time.perf_counter() - started
        latencies.sort()
        report["qualities"][quality] = {  # type: ignore[index]
            "seconds": round(elapsed, 2),
            "pages_per_second": round(pages / elapsed, 2),
            "median_seconds": round(statistics.median(latencies), 2),
            "p95_seconds": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 2),
            "fields": {
                field: {v: outcome[f"{field}:{v}"] for v in ("right", "null", "wrong")}
                for field in FIELD_NAMES
            },
            "doc_types": dict(doc_types),
        }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="pages per quality (default 20)")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--quality", choices=[*QUALITIES, "all"], default="all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    qualities = list(QUALITIES) if args.quality == "all" else [args.quality]
    report = run(args.pages, args.seed, qualities)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    omp = os.environ.get("OMP_THREAD_LIMIT", "1 (default of ocr.engine)")
    print(
        f"OCR benchmark: {args.pages} generated certificate pages per quality, seed {args.seed}, "
        f"single process, OMP_THREAD_LIMIT={omp}"
    )
    wrong_total = 0
    for quality, figures in report["qualities"].items():  # type: ignore[union-attr]
        print(
            f"\n[{quality}] {figures['seconds']} s, {figures['pages_per_second']} pages/s, "
            f"median {figures['median_seconds']} s/page, p95 {figures['p95_seconds']} s/page, "
            f"types {figures['doc_types']}"
        )
        for field, counts in figures["fields"].items():
            wrong_total += counts["wrong"]
            print(
                f"  {field:<20} right {counts['right']:>3}  null {counts['null']:>3}  wrong {counts['wrong']:>3}"
            )
    print(f"\nwrong values in total: {wrong_total} (must be 0)")
    return 1 if wrong_total else 0


if __name__ == "__main__":
    sys.exit(main())
