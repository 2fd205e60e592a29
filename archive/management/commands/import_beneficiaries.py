"""``import_beneficiaries FILE [--dry-run] [--skip-invalid] [--json] [--user U] [--rejected-out X]``

Imports a beneficiary roster (``docs/formats.md``) through :mod:`archive.imports`, the same code
the admin upload uses, so a scripted import and a clerk's upload judge a file identically.

Exit codes (``docs/commands.md``): 0 success; 1 the input was rejected — a whole-file problem (empty,
not a table, wrong headers, formula cells, too big) or, in atomic mode, any invalid row; every
reason is printed; 2 usage errors (unknown option, missing file, unknown user).

``--json`` prints exactly ``{"created", "updated", "unchanged", "rejected": [...], "flagged":
[...]}`` on stdout and nothing else; a whole-file problem appears as one rejected entry with
row 0.  Flagged rows (kept, with the problem stored on the record) never change the exit code.  Without it a
summary goes to stdout and the reasons to stderr, and a progress bar is drawn on stderr when
it is a terminal.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from archive import imports
from core.tabular import TableError, read_table


class Command(BaseCommand):
    help = "导入两项补贴对象花名册（xlsx 或 CSV）。默认整体导入：有任何错误行则不写入。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="花名册文件（.xlsx 或 .csv）")
        parser.add_argument("--dry-run", action="store_true", help="只校验并统计结果，不写入数据库")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="跳过错误行，导入其余有效行"
        )
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果（不显示进度条）")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="代为导入的用户：只接受其辖区内的行，并记为导入人",
        )
        parser.add_argument(
            "--rejected-out",
            metavar="FILE.xlsx",
            help="把被拒绝的行（含错误原因列）写入此 xlsx 文件",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}", returncode=2)
        rejected_out = options["rejected_out"]
        if rejected_out and not str(rejected_out).lower().endswith(".xlsx"):
            raise CommandError("--rejected-out 须为 .xlsx 文件", returncode=2)
        user = None
        if options["user"]:
            User = get_user_model()
            try:
                user = User.objects.get(**{User.USERNAME_FIELD: options["user"]})
            except User.DoesNotExist:
                raise CommandError(f"用户不存在：{options['user']}", returncode=2) from None
        as_json = options["json"]
        mode = imports.SKIP_INVALID if options["skip_invalid"] else imports.ATOMIC

        bars = _Bars(enabled=not as_json and sys.stderr.isatty())
        try:
            result = imports.import_beneficiaries(
                path,
                path.name,
                mode=mode,
                dry_run=options["dry_run"],
                user=user,
                progress=bars.update if bars.enabled else None,
            )
        except TableError as error:
            bars.close()
            self._whole_file_error(error, as_json)
            return
        except IntegrityError as error:  # a concurrent writer outside the import lock
            bars.close()
            raise CommandError(f"写入时与其他操作冲突，未写入任何数据，请重试：{error}") from None
        bars.close()

        if rejected_out:
            rows = read_table(path, path.name).rows
            Path(rejected_out).write_bytes(imports.rejected_rows_xlsx(rows, result.errors))

        if as_json:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self._report(result)
        if result.rejected:
            raise CommandError(
                f"导入被拒绝：{len(result.rejected_rows)}行有错误，未写入任何数据"
                "（可改正后重新导入，或使用 --skip-invalid 只导入有效行）",
                returncode=1,
            )

    def _whole_file_error(self, error: TableError, as_json: bool) -> None:
        """A file that cannot be imported at all: exit 1, nothing written."""
        if as_json:
            rejected = imports.RowError(0, "", error.code, error.message)
            payload = {
                "created": 0,
                "updated": 0,
                "unchanged": 0,
                "rejected": [rejected.as_dict()],
                "flagged": [],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
        raise CommandError(f"{error.message}（{error.code}）", returncode=1)

    def _report(self, result: imports.ImportResult) -> None:
        for notice in result.notices:
            self.stderr.write(f"提示：{notice}")
        for error in result.errors:
            self.stderr.write(f"{error}（{error.code}）")
        for flag in result.flags:
            self.stderr.write(f"有问题标记：{flag}")
        what = "预览（未写入）" if result.dry_run else ("未写入" if result.rejected else "已导入")
        record = f"，导入记录 #{result.record_id}" if result.record_id else ""
        self.stdout.write(
            f"{what}：共{result.total}行，新增{result.created}，更新{result.updated}，"
            f"未变{result.unchanged}，拒绝{len(result.rejected_rows)}，"
            f"有问题标记{len(result.flagged_rows)}{record}"
        )


class _Bars:
    """One tqdm bar per stage (校验, 写入) on stderr, only when asked for."""

    LABELS = {"validate": "校验", "write": "写入"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._stage = ""

    def update(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            from tqdm import tqdm

            self._bar = tqdm(
                total=total or None, desc=self.LABELS.get(stage, stage), unit="行", file=sys.stderr
            )
            self._stage = stage
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = ""
