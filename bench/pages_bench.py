"""Benchmark of the public site's pages (cms/): the time each page takes to render when the
cache misses, beside the time the same page takes from the cache (the floor: the same request
through the same middleware, minus the page's own work), as ``Server-Timing`` reports them
(``cms/caching.py``). The figures belong in docs/benchmarks.md, never in a test's asserts.

It builds its own SQLite database in a temporary directory (migrate + load_cms_demo), so it
never touches a real one. Usage: ``python bench/pages_bench.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_data = tempfile.TemporaryDirectory(prefix="pages-bench-")
os.environ["DATABASE_URL"] = f"sqlite:///{_data.name}/bench.sqlite3"
os.environ["DATA_DIR"] = _data.name
os.environ.pop("ELASTICSEARCH_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

PAGES = {
    "home": "/",
    "policy index": "/policies/",
    "policy": "/policies/jinminfa-2023-1/",
    "notice": "/notices/letter-to-disabled-friends/",
    "notice poster": "/notices/letter-to-disabled-friends/print/",
    "training index": "/training/",
    "faq": "/faq/",
    "search results": "/search/?q=精准管理",
}


def _server_ms(response) -> float:
    return float(re.search(r"dur=([\d.]+)", response["Server-Timing"]).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("load_cms_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    client = Client(HTTP_HOST="localhost")  # ALLOWED_HOSTS outside tests
    for url in PAGES.values():
        client.get(url)  # warm templates and connections
    print(f"{'page':<16}{'miss ms (median)':>18}{'hit ms (median)':>17}{'miss/hit':>10}")
    for name, url in PAGES.items():
        misses, hits = [], []
        for _ in range(args.rounds):
            cache.clear()
            misses.append(_server_ms(client.get(url)))
            hits.append(_server_ms(client.get(url)))
        miss, hit = statistics.median(misses), statistics.median(hits)
        print(f"{name:<16}{miss:>18.1f}{hit:>17.2f}{miss / max(hit, 0.01):>10.0f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
