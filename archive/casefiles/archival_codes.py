"""The archival reference code (档号) of a filed document, after DA/T 22-2015 (docs/archive.md):

    全宗号-门类代码·年度-保管期限-机构代码-件号        e.g. J014-MZ·2026-D30-LX-0042

全宗号, 门类代码 and 机构代码 are settings of the office (ARCHIVE_FONDS, ARCHIVE_CATEGORY,
ARCHIVE_ORG); 年度 is the year the document is filed; 保管期限 is the default of its document
type; 件号 is a 4-digit sequence per (全宗, 门类, 年度, 期限, 机构).

The 件号 comes from an `ArchivalCounter` row locked with SELECT … FOR UPDATE inside the
transaction that files the document: concurrent uploads queue on the row, a rolled-back upload
gives its number back with the rollback, so numbers are neither skipped nor given twice. A
code, once given, stays with the document (moves and new versions keep it).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.models import ArchivalCounter, Document
from core.doctypes import BY_CODE

DEFAULT_RETENTION = "D10"


def format_code(fonds: str, category: str, year: int, retention: str, org: str, number: int) -> str:
    return f"{fonds}-{category}·{year}-{retention}-{org}-{number:04d}"


def retention_for(doc_type: str) -> str:
    known = BY_CODE.get(doc_type)
    return known.retention if known else DEFAULT_RETENTION


def series() -> tuple[str, str, str]:
    """(全宗号, 门类代码, 机构代码) of this office."""
    return (
        settings.ARCHIVE_FONDS,
        settings.ARCHIVE_CATEGORY,
        settings.ARCHIVE_ORG,
    )


def next_number(fonds: str, category: str, year: int, retention: str, org: str) -> int:
    """Takes the next 件号 of a series. Must run inside the filing transaction: the counter
    row stays locked until it commits or rolls back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("件号只能在归档事务中分配")
    key = {"fonds": fonds, "category": category, "year": year, "retention": retention, "org": org}
    counter = ArchivalCounter.objects.select_for_update().filter(**key).first()
    if counter is None:
        # The series' first number: create the row (a concurrent creator makes this a no-op).
        ArchivalCounter.objects.bulk_create([ArchivalCounter(**key)], ignore_conflicts=True)
        counter = ArchivalCounter.objects.select_for_update().get(**key)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def assign(document: Document, when: datetime | None = None) -> str | None:
    """Gives a filed document its 档号 (once; a document that has one keeps it). Sets the
    fields on the instance; the caller saves it in the same transaction."""
    if document.archival_code or not document.is_filed:
        return document.archival_code
    when = when or timezone.now()
    year = timezone.localtime(when).year
    retention = retention_for(document.doc_type)
    fonds, category, org = series()
    number = next_number(fonds, category, year, retention, org)
    document.archival_code = format_code(fonds, category, year, retention, org, number)
    document.retention = retention
    document.filed_year = year
    document.item_number = number
    document.filed_at = when
    return document.archival_code
