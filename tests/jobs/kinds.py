"""Kinds registered for the runner's tests only (imported by them, never by the project)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from archive.models import Division
from jobs.kinds import BULK, JobFailed, register
from jobs.runner import Context

COUNT = "test_count"
FAIL = "test_fail"
BOOM = "test_boom"
WRITE_THEN_REPORT = "test_write_then_report"
UNSAFE = "test_unsafe"


@register(COUNT, "测试：计数", retry_safe=True)
def count(context: Context) -> dict[str, Any]:
    total = context.params.get("total", 5)
    for done in range(total + 1):
        context.progress(done, total, f"第 {done} 步", force=True)
    return {"summary": f"数到 {total}", "url": "/admin/"}


@register(FAIL, "测试：失败")
def fail(context: Context) -> dict[str, Any]:
    raise JobFailed("文件不是花名册。", url="/admin/import/")


@register(BOOM, "测试：程序错误")
def boom(context: Context) -> dict[str, Any]:
    raise RuntimeError("division by zero somewhere deep")


@register(WRITE_THEN_REPORT, "测试：写入后报告进度")
def write_then_report(context: Context) -> dict[str, Any]:
    with transaction.atomic():
        Division.objects.create(code="149999", name="测试县", level="county")
        context.progress(1, 2, "写了一半", force=True)
    return {}


@register(UNSAFE, "测试：不可重做", queue=BULK)
def unsafe(context: Context) -> dict[str, Any]:
    return {}


REPORT_IN_TRANSACTION = "test_report_in_transaction"


@register(REPORT_IN_TRANSACTION, "测试：事务中报告进度")
def report_in_transaction(context: Context) -> dict[str, Any]:
    """Reports inside its own transaction, then waits there until the test says go."""
    import time

    with transaction.atomic():
        Division.objects.create(code="149998", name="测试县二", level="county")
        context.progress(1, 4, "事务中", force=True)
        deadline = time.monotonic() + 30
        while not Division.objects.filter(code="149997").exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    return {}


MEMORY_HOG = "test_memory_hog"


@register(MEMORY_HOG, "测试：内存超限", memory_limit="JOB_PARSE_MEMORY_LIMIT_MB")
def memory_hog(context: Context) -> dict[str, Any]:
    """Writes, then asks for ``mb`` megabytes at once, as a parser led astray by a file would."""
    with transaction.atomic():
        Division.objects.create(code="149996", name="测试县三", level="county")
        held = bytearray(context.params["mb"] * 1024 * 1024)
    return {"summary": f"{len(held)}"}


TIMED_OUT_MID_QUERY = "test_timed_out_mid_query"


@register(TIMED_OUT_MID_QUERY, "测试：查询中途超时")
def timed_out_mid_query(context: Context) -> dict[str, Any]:
    """What the worker's soft time limit does when it strikes during a query: the query sent
    to PostgreSQL, its answer never read, and SoftTimeLimitExceeded raised there."""
    from billiard.exceptions import SoftTimeLimitExceeded
    from django.db import connection

    connection.ensure_connection()
    connection.connection.pgconn.send_query(b"SELECT pg_sleep(0.2)")
    raise SoftTimeLimitExceeded()
