"""``spot_check create --division CODE (--size N | --percent P | --plan attribute|gbt2828)
[--confidence C --error-rate R] [--stratify township] [--seed S] [--query QUERY]
[--filter FIELD=VALUE]... [--json]`` and ``spot_check show ID [--json]``.

Draws and stores a spot check (抽查) exactly as the admin page does (`inspection.spot_checks`),
or shows a stored one. ``--json`` prints exactly the shape of docs/commands.md and nothing else:
``{"id", "seed", "population", "population_hash", "items": [{"id_number", "township"}]}``
(``township`` is the 9-digit township code, "" when unknown).

Exit codes: 0 success; 1 the input was rejected (unknown division, a filter value not allowed,
an empty population, a spot check that does not exist), every reason printed; 2 usage errors
(both --size and --percent, no size at all, an unknown filter field, a malformed number).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from archive.models import Division
from inspection import sampling, spot_checks
from inspection.models import SpotCheck
from inspection.population import FILTERS
from search.backends import SearchUnavailable
from search.management.arguments import filter_type, positive_int


def _fraction(text: str) -> float:
    """A percentage (95 or 95%) or a fraction (0.95) as a fraction."""
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为百分数：{text}") from None
    return value / 100 if value >= 1 or text.strip().endswith("%") else value


class Command(BaseCommand):
    help = "抽查：按区划、检索词和筛选条件抽取可复现的样本（create），或显示已保存的抽查（show）。"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="create|show")
        create = actions.add_parser("create", help="抽取并保存一次抽查")
        create.add_argument("--division", required=True, help="区划代码（县、市或省）")
        size = create.add_mutually_exclusive_group(required=True)
        size.add_argument("--size", type=positive_int, help="抽取数量")
        size.add_argument("--percent", type=float, help="抽取比例（%%），向上取整，至少 1 份")
        size.add_argument(
            "--plan",
            choices=[sampling.ATTRIBUTE, sampling.GBT2828],
            help="统计抽样方案：attribute（零缺陷属性抽样）或 gbt2828（GB/T 2828.1 一般检验水平Ⅱ）",
        )
        create.add_argument("--confidence", type=_fraction, default=0.95, help="置信度，默认 95%%")
        create.add_argument(
            "--error-rate", type=_fraction, default=0.05, help="可容忍误差率，默认 5%%"
        )
        create.add_argument("--stratify", choices=["township"], help="按乡镇分层")
        create.add_argument("--seed", help="随机种子；不给时随机生成并记录")
        create.add_argument("--query", default="", help="检索词：姓名或身份号码的一部分")
        create.add_argument(
            "--filter",
            action="append",
            default=[],
            type=filter_type(FILTERS),
            metavar="FIELD=VALUE",
            help=f"筛选条件，可多次给出；FIELD 为 {', '.join(FILTERS)}",
        )
        create.add_argument("--json", action="store_true", help="以 JSON 输出")
        show = actions.add_parser("show", help="显示已保存的抽查")
        show.add_argument("id", type=positive_int)
        show.add_argument("--json", action="store_true", help="以 JSON 输出")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            spot_check = (
                SpotCheck.objects.select_related("division").filter(pk=options["id"]).first()
            )
            if spot_check is None:
                raise CommandError(f"抽查不存在：#{options['id']}", returncode=1)
        else:
            spot_check = self._create(options)
        if options["json"]:
            self.stdout.write(json.dumps(spot_checks.as_json(spot_check), ensure_ascii=False))
            return
        self._report(spot_check)

    def _create(self, options: dict[str, Any]) -> SpotCheck:
        filters: dict[str, str] = {}
        for field, value in options["filter"]:
            if field in filters:
                raise CommandError(f"筛选字段 {field} 只能给出一次。", returncode=2)
            filters[field] = value
        if options["size"] is not None:
            plan = sampling.SamplePlan(sampling.FIXED, size=options["size"])
        elif options["percent"] is not None:
            plan = sampling.SamplePlan(sampling.PERCENT, percent=options["percent"])
        elif options["plan"] == sampling.ATTRIBUTE:
            plan = sampling.SamplePlan(
                sampling.ATTRIBUTE,
                confidence=options["confidence"],
                error_rate=options["error_rate"],
            )
        else:
            plan = sampling.SamplePlan(sampling.GBT2828)
        code = options["division"].strip()
        division = Division.objects.filter(code=code).first()
        if division is None:
            raise CommandError(f"区划代码不存在：{code}", returncode=1)
        try:
            return spot_checks.create(
                division=division,
                plan=plan,
                query=options["query"],
                filters=filters,
                stratify=options["stratify"] or "",
                seed=options["seed"],
            )
        except spot_checks.SpotCheckError as error:
            raise CommandError(str(error), returncode=1) from error
        except SearchUnavailable as error:
            raise CommandError(error.message, returncode=1) from error

    def _report(self, spot_check: SpotCheck) -> None:
        data = spot_checks.as_json(spot_check)
        self.stdout.write(
            f"抽查 #{spot_check.pk}（{spot_check.division.name}）：总体 {spot_check.population} 份，"
            f"抽取 {len(data['items'])} 份，种子 {spot_check.seed}"
        )
        self.stdout.write(f"总体哈希：{spot_check.population_hash}")
        self.stdout.write(f"样本量依据：{spot_check.explanation}")
        for number, item in enumerate(data["items"], start=1):
            self.stdout.write(f"{number:4d}  {item['id_number']}  {item['township'] or '未知乡镇'}")
