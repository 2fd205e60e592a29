"""`import_divisions FILE`: adds or renames townships and villages (乡镇、村社区) from a
spreadsheet with the columns 区划代码 and 名称. Atomic: one bad row writes nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from archive.models import Division
from core.divisions import DIVISION_HEADERS, township_and_village_rows
from core.tabular import HeaderSpec, TableError, read_table


class Command(BaseCommand):
    help = "从表格（列：区划代码、名称）导入乡镇和村（社区）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")

    def handle(self, *args, file: str, **options) -> None:
        try:
            table = read_table(file, file, spec=HeaderSpec(required=DIVISION_HEADERS))
        except TableError as error:
            raise CommandError(error.message, returncode=1) from error
        except OSError as error:
            raise CommandError(f"无法读取文件：{error}", returncode=2) from error
        known = set(Division.objects.values_list("code", flat=True))
        rows, errors = township_and_village_rows(list(table.rows), known)
        if errors:
            raise CommandError("\n".join(e.message for e in errors), returncode=1)
        with transaction.atomic():
            for row in rows:
                Division.objects.update_or_create(
                    code=row.code,
                    defaults={"name": row.name, "level": row.level, "parent_id": row.parent},
                )
        self.stdout.write(f"已导入 {len(rows)} 个乡镇、村（社区）。")
