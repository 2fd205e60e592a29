"""The search's long work (``jobs.kinds``): exporting every hit of a search to XLSX. The page
only submits it (search/views.py); the job runs the same service with the same jurisdiction
(``search.service.case_file_rows``, the spot check's population too), so the file holds
exactly what the search shows, ID numbers masked as in the list.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from archive import case_files
from archive.exports import write_xlsx
from archive.models import CaseFile
from jobs.kinds import BULK, JobFailed, register
from jobs.runner import Context
from search import service
from search.query import FilterError

SEARCH_EXPORT = "search_export"
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
        write_xlsx(out, "检索结果", case_files.export_rows(rows, masked=True, progress=report))
    (context.directory / FILE).chmod(0o600)
    context.progress(total, total, f"已导出 {total} 份档案")
    described = f"“{query}”" if query else "全部"
    return {
        "file": FILE,
        "filename": f"检索结果_{timezone.localdate():%Y%m%d}.xlsx",
        "summary": f"检索{described}：导出 {total} 份档案",
    }
