"""``find QUERY [--division CODE] [--filter FIELD=VALUE]... [--limit N] [--user USERNAME]
[--json]``: the inspector's search from the command line (`search.service`).

The same service, ranking and jurisdiction as the search page: with ``--user``, that user's
division and permission; with ``--division``, only that division. ``--json`` prints
``{"backend", "total", "hits": [{"id_number", "name", "county", "case_file", "score",
"highlight"}], "facets"}`` with full ID numbers (an administrator's tool), and the search is
written to the audit log like an export.

Exit codes: 0 success (also with no hits); 1 rejected input (unknown user or division, a
filter value not allowed, the user may not search, the search engine down); 2 usage errors
(an unknown filter field, a malformed argument).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from archive.access import permissions as perms
from archive.models import Division
from search import service
from search.management.arguments import filter_type, positive_int
from search.query import FILTERS, FilterError

SEARCH_PERMISSION = perms.SEARCH_RECORDS


def hit_json(hit) -> dict[str, Any]:
    return {
        "id_number": hit.id_number,
        "name": hit.name,
        "county": hit.county,
        "case_file": str(hit.case_file),
        "score": hit.score,
        "highlight": hit.highlight,
    }


class Command(BaseCommand):
    help = "检索补贴档案：姓名、身份证号或残疾人证号的一部分、村或地址、扫描件识别文字。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query", help="检索词")
        parser.add_argument("--division", help="只检索该区划（县、市或省代码）")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            type=filter_type(FILTERS),
            metavar="FIELD=VALUE",
            help=f"筛选条件，可多次给出；FIELD 为 {', '.join(FILTERS)}",
        )
        parser.add_argument("--limit", type=positive_int, default=20, help="最多显示条数，默认 20")
        parser.add_argument("--user", help="以该用户的辖区和权限检索")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出")

    def handle(self, *args: Any, **options: Any) -> None:
        filters: dict[str, str] = {}
        for field, value in options["filter"]:
            if field in filters:
                raise CommandError(f"筛选字段 {field} 只能给出一次。", returncode=2)
            filters[field] = value
        user = self._user(options["user"])
        division = (options["division"] or "").strip() or None
        if division and not Division.objects.filter(code=division).exists():
            raise CommandError(f"区划代码不存在：{division}", returncode=1)
        try:
            result = service.search(
                options["query"],
                user=user,
                division=division,
                filters=filters,
                limit=options["limit"],
                audit_action="export",
            )
        except FilterError as error:
            raise CommandError(str(error), returncode=1) from error
        except service.SearchUnavailable as error:
            raise CommandError(error.message, returncode=1) from error
        if options["json"]:
            data = {
                "backend": result.backend,
                "total": result.total,
                "hits": [hit_json(h) for h in result.hits],
                "facets": result.facets,
            }
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(f"共 {result.total} 条（{result.backend}）")
        for hit in result.hits:
            line = f"{hit.score:5.1f}  {hit.id_number}  {hit.name}  {hit.county}  档案 #{hit.case_file}"
            self.stdout.write(line + (f"  {hit.highlight}" if hit.highlight else ""))

    def _user(self, username: str | None):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在或已停用：{username}", returncode=1)
        if not user.has_perm(SEARCH_PERMISSION):
            raise CommandError(f"用户 {username} 没有检索权限。", returncode=1)
        return user
