"""The search's long work (``jobs.kinds``).

- Exporting every hit of a search to XLSX. The page only submits it (search/views.py); the job
  runs the same service with the same jurisdiction (``search.service.case_file_rows``, the spot
  check's population too), so the file holds exactly what the search shows, ID numbers masked
  as in the list.
- Rebuilding the index from the database (``search.rebuild``, what ``search_index rebuild``
  runs), with progress over both kinds. Safe to run again after a dead worker: the next
  attempt drops the half-built index and starts over, while searches use the old one.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from archive import casefiles
from archive.exports import write_xlsx
from archive.models import CaseFile
from jobs.kinds import BULK, JobFailed, register
from jobs.models import Job
from jobs.runner import Context
from search import rebuild, service
from search.backends import KINDS, SearchUnavailable, get_backend
from search.models import OutboxEntry
from search.query import FilterError

SEARCH_EXPORT = "search_export"
SEARCH_REBUILD = "search_rebuild"
FILE = "search.xlsx"


@register(SEARCH_EXPORT, "检索结果导出", queue=BULK, retry_safe=True)
def export_search(context: Context) -> dict[str, Any]:
    """Writes the hits (whole, not one page) into the job's private directory."""
    query, filters = context.params["query"], context.params["filters"]
    user = context.user
    if user is None:  # no user is not "everyone": the service would apply no jurisdiction
        raise JobFailed("提交导出的用户已不存在，未导出任何数据。")
    context.progress(0, 0, "正在检索", force=True)
    try:
        pks = [
            pk for pk, *_ in service.case_file_rows(query, division="", filters=filters, user=user)
        ]
    except FilterError as error:
        raise JobFailed(str(error)) from None
    except service.SearchUnavailable as error:
        raise JobFailed(error.message) from None
    total = len(pks)

    def report(done: int) -> None:
        context.progress(done, total, f"正在导出：{done}/{total} 份档案")

    rows = CaseFile.objects.filter(pk__in=pks).order_by("county_id", "person__name", "id")
    with (context.directory / FILE).open("wb") as out:
        write_xlsx(out, "检索结果", casefiles.export_rows(rows, masked=True, progress=report))
    (context.directory / FILE).chmod(0o600)
    context.progress(total, total, f"已导出 {total} 份档案")
    described = f"“{query}”" if query else "全部"
    return {
        "file": FILE,
        "filename": f"检索结果_{timezone.localdate():%Y%m%d}.xlsx",
        "summary": f"检索{described}：导出 {total} 份档案",
    }


@register(SEARCH_REBUILD, "重建检索索引", queue=BULK, retry_safe=True)
def rebuild_index(context: Context) -> dict[str, Any]:
    backend = get_backend()
    if not backend.uses_outbox:
        return {"summary": "当前使用数据库检索，数据库即索引，无需重建。"}
    if (
        Job.objects.filter(kind=SEARCH_REBUILD, state=Job.State.RUNNING)
        .exclude(pk=context.job.pk)
        .exists()
    ):
        # two rebuilds would each drop the other's half-built index as a leftover
        raise JobFailed("已有一次重建正在进行，本次未执行。")
    try:
        totals = {kind: rebuild.DB_COUNTS[kind]() for kind in KINDS}
        grand, done = sum(totals.values()), 0
        context.progress(0, grand, "开始重建", force=True)
        counts = {}
        for kind in KINDS:
            label = OutboxEntry.Kind(kind).label

            def report(n: int, label: str = label) -> None:
                nonlocal done
                done += n
                context.progress(done, grand, f"正在重建{label}索引：{done}/{grand}")

            counts[kind] = rebuild.rebuild(backend, kind, report)
            if counts[kind]["index"] != counts[kind]["db"]:
                raise JobFailed(
                    f"{label}索引 {counts[kind]['index']} 条与数据库 {counts[kind]['db']} 条"
                    "不一致，请再次重建或联系技术人员。"
                )
    except SearchUnavailable:
        raise JobFailed(SearchUnavailable.message) from None
    context.progress(grand, grand, "重建完成", force=True)
    parts = "，".join(
        f"{OutboxEntry.Kind(kind).label} {c['index']} 条" for kind, c in counts.items()
    )
    return {"summary": f"检索索引已重建：{parts}"}
