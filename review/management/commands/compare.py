"""``compare --as-of YYYY-MM-DD --division CODE [--roster KIND=FILE]... [--json] [--user U]``

Runs a data comparison (``docs/rules.md``) exactly as the admin does — the roster files are stored
as uploads, the run is stored with its findings and its difference from the previous run —
and prints the result. The run's background job (``review/jobs.py``) runs here, in this
process, and the command waits for it; the job is listed in 我的任务 like any other.

``--json`` prints exactly the shape of ``docs/commands.md`` on stdout and nothing else:
``{"run", "as_of", "division", "checked", "findings": [{"id_number", "name", "code",
"subsidy", "action", "event_date", "evidence": {"roster", "row", "values"}}]}``. Without it a
summary goes to stdout (with the rules not evaluated and the rejected roster rows), and a
progress bar is drawn on stderr when it is a terminal.

Exit codes: 0 success (findings are a result, not an error); 1 the input was rejected (a roster
file that is not a readable roster, a division the archive does not know or outside the
user's jurisdiction) with every reason printed, or the run failed (the reason printed, the
run stored as failed with no finding); 2 usage errors (bad date, unknown roster kind,
missing file, unknown user).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from archive import access
from archive.models import Division
from core.tabular import TableError
from review import services
from review.findings import CODE_LABELS
from review.jobs import run_now
from review.models import ComparisonRun
from review.rosters import KINDS, ROSTERS


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD：{text}") from None


def _roster(text: str) -> tuple[str, Path]:
    import argparse

    kind, sep, file = text.partition("=")
    if not sep or not file:
        raise argparse.ArgumentTypeError(f"应为 KIND=FILE：{text}")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"未知的比对数据类别 {kind}；可用：{', '.join(KINDS)}")
    return kind, Path(file)


class Command(BaseCommand):
    help = "数据比对：按区划和比对基准日，用给定的比对数据比对两项补贴对象，保存比对批次和发现。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", required=True, type=_date, help="比对基准日 YYYY-MM-DD")
        parser.add_argument(
            "--division", required=True, help="区划代码：县 6 位、市 XXXX00、省 XX0000"
        )
        parser.add_argument(
            "--roster",
            action="append",
            default=[],
            type=_roster,
            metavar="KIND=FILE",
            help=f"比对数据文件，可多次给出；KIND 为 {', '.join(KINDS)}",
        )
        parser.add_argument("--json", action="store_true", help="以 JSON 输出（不显示进度）")
        parser.add_argument("--user", metavar="USERNAME", help="代为比对的用户：限于其辖区")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        rosters: list[tuple[str, Path]] = options["roster"]
        kinds = [kind for kind, _ in rosters]
        if len(kinds) != len(set(kinds)):
            raise CommandError("每类比对数据只能给出一个文件。", returncode=2)
        for _, path in rosters:
            if not path.is_file():
                raise CommandError(f"找不到文件：{path}", returncode=2)
        user = None
        if options["user"]:
            User = get_user_model()
            try:
                user = User.objects.get(**{User.USERNAME_FIELD: options["user"]})
            except User.DoesNotExist:
                raise CommandError(f"用户不存在：{options['user']}", returncode=2) from None

        code = options["division"].strip()
        division = Division.objects.filter(code=code).first()
        if division is None:
            raise CommandError(f"区划代码不存在：{code}", returncode=1)
        if user is not None and not access.covers(user, division.code):
            raise CommandError(f"区划 {code} 不在用户 {user} 的辖区内。", returncode=1)

        bar = _Bar(enabled=not as_json and sys.stderr.isatty())
        uploads = []
        reasons = []
        for kind, path in rosters:
            bar.update(f"读取{ROSTERS[kind].label}", 0)
            try:
                with path.open("rb") as fh:
                    upload, _ = services.store_roster(
                        fh,
                        path.name,
                        kind=kind,
                        division=division,
                        period=options["as_of"],
                        user=user,
                    )
            except TableError as error:
                reasons.append(f"{path}（{ROSTERS[kind].label}）：{error.message}（{error.code}）")
                continue
            uploads.append(upload)
        if reasons:
            bar.close()
            for reason in reasons:
                self.stderr.write(reason)
            raise CommandError("比对数据文件无法读取，未进行比对。", returncode=1)

        run = services.create_run(
            division=division,
            as_of=options["as_of"],
            uploads=uploads,
            user=user,
            trigger=ComparisonRun.Trigger.COMMAND,
        )
        # The job's "started"/"done" lines are for a worker's log, not this command's stderr;
        # warnings and errors still show.
        jobs_log = logging.getLogger("jobs")
        level = jobs_log.level
        jobs_log.setLevel(logging.WARNING)
        try:
            job = run_now(run.pk, user=user, on_progress=bar.report if bar.enabled else None)
            run.refresh_from_db()
            if run.is_finished:
                bar.update("完成", 100)
        finally:
            jobs_log.setLevel(level)
            bar.close()
        if not run.is_finished:
            raise CommandError(f"比对未完成：{run.error or job.error or job.message}", returncode=1)
        if as_json:
            self.stdout.write(json.dumps(services.run_json(run), ensure_ascii=False))
            return
        self._report(run, uploads)

    def _report(self, run: ComparisonRun, uploads) -> None:
        for upload in uploads:
            for error in upload.errors:
                self.stderr.write(
                    f"{upload.get_kind_display()} 第{error['row']}行，{error['column']}："
                    f"{error['message']}（{error['code']}）"
                )
        for code, missing in run.not_evaluated:
            labels = "、".join(ROSTERS[k].label for k in missing)
            self.stdout.write(f"未比对：{CODE_LABELS[code]}（{code}），缺少{labels}")
        counts: dict[str, int] = {}
        for item in run.findings.values_list("code", flat=True):
            counts[item] = counts.get(item, 0) + 1
        for code, label in CODE_LABELS.items():
            if counts.get(code):
                self.stdout.write(f"{label}（{code}）：{counts[code]}")
        self.stdout.write(
            f"比对批次 #{run.pk}：{run.division_id} 基准日 {run.as_of}，比对 {run.checked} 人次，"
            f"发现 {run.finding_count} 条（新增 {run.new_count}，仍存在 {run.still_open_count}，"
            f"已消除 {run.resolved_count}）"
        )


class _Bar:
    """A tqdm bar in percent on stderr, only when asked for."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def report(self, done: int, total: int, message: str) -> None:
        """As the comparison's job reports its progress (percent of 100)."""
        self.update(message, done * 100 // total if total else 0)

    def update(self, stage: str, percent: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=100, unit="%", file=sys.stderr)
        self._bar.set_description(stage)
        self._bar.update(max(0, percent - self._bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
