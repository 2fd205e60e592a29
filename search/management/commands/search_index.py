"""``search_index rebuild|status|catch-up [--json]``: the search index from the command line.

``rebuild`` builds new indices from the database and swaps the aliases (`search.rebuild`);
``status`` compares counts per kind in the database and the index and what waits in the
outbox; ``catch-up`` indexes what waits (after an outage). ``--json`` prints
``{"backend": "elasticsearch"|"database", "kinds": {"case_file": {"db", "index", "pending"},
"document": {…}}}`` (after the action, for rebuild and catch-up). With the database backend
the tables are the index: nothing to rebuild or catch up.

Exit codes: 0 success; 1 Elasticsearch unreachable, or the index does not match the database
after a rebuild; 2 usage errors.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from search import rebuild, sync
from search.backends import KINDS, SearchUnavailable, get_backend

ACTIONS = ("rebuild", "status", "catch-up")


class Command(BaseCommand):
    help = "检索索引：重建（rebuild）、状态（status）、补录待索引记录（catch-up）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("--json", action="store_true", help="以 JSON 输出")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = get_backend()
        quiet = options["json"]
        try:
            if options["action"] == "rebuild" and backend.uses_outbox:
                for kind in KINDS:
                    counts = rebuild.rebuild(backend, kind, self._progress(kind, quiet))
                    if not quiet:
                        self.stdout.write(
                            f"{kind}：数据库 {counts['db']}，载入 {counts['loaded']}，"
                            f"重放 {counts['replayed']}，索引 {counts['index']}"
                        )
                    if counts["index"] != counts["db"]:
                        raise CommandError(
                            f"{kind} 索引数 {counts['index']} 与数据库 {counts['db']} 不一致",
                            returncode=1,
                        )
            elif options["action"] == "catch-up":
                done = sync.drain(refresh=True)
                if not quiet:
                    self.stdout.write(f"已索引 {done} 条待索引记录")
            report = rebuild.status()
        except SearchUnavailable as error:
            raise CommandError(SearchUnavailable.message, returncode=1) from error
        if quiet:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(f"检索后端：{report['backend']}")
        for kind, counts in report["kinds"].items():
            self.stdout.write(
                f"{kind}：数据库 {counts['db']}，索引 {counts['index']}，待索引 {counts['pending']}"
            )

    def _progress(self, kind: str, quiet: bool):
        if quiet or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        bar = tqdm(total=rebuild.DB_COUNTS[kind](), desc=f"重建 {kind}", unit="条")
        return bar.update
