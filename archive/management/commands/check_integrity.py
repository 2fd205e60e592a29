"""Re-hash every stored original now (the nightly Celery beat job, by hand).

Exit status 0 when every original is intact, 1 when any is missing or altered; the run is
kept and shown on the admin page 完整性校验 either way.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from archive.casefiles.integrity import run_check


class Command(BaseCommand):
    help = "校验全部原件的 SHA-256，报告缺失或被改动的文件（结果同时显示在管理后台“完整性校验”）。"

    def handle(self, *args, **options) -> None:
        run = run_check(triggered_by="check_integrity 命令")
        self.stdout.write(
            f"已校验 {run.checked} 个原件：完好 {run.ok}，缺失 {run.missing}，被改动 {run.altered}，"
            f"无记录文件 {run.orphans}"
        )
        for problem in run.problems:
            codes = "、".join(d["code"] or f"#{d['document']}" for d in problem["documents"])
            self.stdout.write(f"  {problem['label']}：{problem['sha256']}（{codes}）")
        if run.has_problems:
            raise CommandError(f"发现 {run.missing + run.altered} 个问题原件（校验记录 #{run.pk}）")
