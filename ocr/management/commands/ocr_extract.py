"""``ocr_extract FILE... [--json]`` — run the OCR pipeline on files without filing them.

For trying the pipeline on a scan, scripting bulk checks, and testing (``spec/cli.md``).

Exit codes: 0 every file read; 1 a file was rejected (not a readable JPEG/PNG/TIFF/PDF, an
encrypted or damaged PDF, a decompression bomb) or Tesseract could not run — every reason is
printed on stderr, and the other files are still read; 2 usage errors (unknown option, no
file given, a file that does not exist).

``--json`` prints exactly the list of page items of ``docs/commands.md`` on stdout, nothing else, and
no progress bar.  Without it, a readable summary goes to stdout and a progress bar is drawn on
stderr when stderr is a terminal.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.doctypes import BY_CODE
from core.numbers import CATEGORIES, GRADES
from ocr import pipeline
from ocr.engine import EngineError
from ocr.pages import PageError, count_pages

_FIELD_LABELS = {
    "certificate_number": "残疾人证号",
    "id_number": "公民身份号码",
    "name": "姓名",
    "category": "残疾类别",
    "grade": "残疾等级",
    "valid_until": "有效期至",
}


class Command(BaseCommand):
    help = (
        "对扫描件（JPEG、PNG、TIFF、PDF）进行文字识别，输出每页的材料类型和识别出的字段，不归档。"
    )
    # Reading files needs neither the database nor the project's system checks; skipping them
    # keeps the command usable (and fast) on a machine where only OCR is set up.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="扫描件文件")
        parser.add_argument(
            "--json", action="store_true", help="以 JSON 输出每页结果（不显示进度条）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names: list[str] = options["files"]
        missing = [name for name in names if not Path(name).is_file()]
        if missing:
            raise CommandError("找不到文件：" + "、".join(missing), returncode=2)
        as_json: bool = options["json"]
        bar = self._progress(names) if not as_json and sys.stderr.isatty() else None

        results: list[pipeline.PageResult] = []
        rejected: list[str] = []
        for name in names:
            try:
                pages = pipeline.read_file(
                    name, name=name, progress=(lambda _page: bar.update(1)) if bar else None
                )
            except PageError as error:
                rejected.append(f"{name}：{error.message}（{error.code}）")
                continue
            except EngineError as error:
                rejected.append(f"{name}：{error.message}")
                continue
            results.extend(pages)
        if bar is not None:
            bar.close()

        if as_json:
            payload = [result.to_json() for result in results]
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
        else:
            for result in results:
                self._report(result)
        for reason in rejected:
            self.stderr.write(f"已拒绝 {reason}")
        if rejected:
            raise CommandError(f"{len(rejected)}个文件无法识别，见上述原因", returncode=1)

    def _progress(self, names: list[str]) -> Any:
        from tqdm import tqdm

        total = 0
        for name in names:
            try:
                total += count_pages(name)
            except PageError:
                continue
        return tqdm(total=total or None, desc="识别", unit="页", file=sys.stderr)

    def _report(self, result: pipeline.PageResult) -> None:
        kind = BY_CODE[result.doc_type].name if result.doc_type in BY_CODE else "未能确定类型"
        self.stdout.write(
            f"{result.file} 第{result.page}页：{kind}（{result.doc_type}，置信度{result.confidence:.2f}）"
        )
        for key, label in _FIELD_LABELS.items():
            value = result.fields.get(key)
            if value is None:
                continue
            if key == "category":
                value = f"{value}（{CATEGORIES[value]}）"
            elif key == "grade":
                value = f"{value}（{GRADES[value]}）"
            self.stdout.write(f"  {label}：{value}")
        for warning in result.warnings:
            self.stdout.write(f"  ！{warning}")
