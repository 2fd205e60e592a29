"""The findings of a run as the findings list (比对发现列表) shows and exports them: which runs
and findings a user may see, the list's filters, and the XLSX sheet — one definition for the
page (review/views/findings.py) and its export job (review/jobs.py), so the file holds exactly what
the list shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db.models import Q, QuerySet

from archive import access
from archive.models import Division
from core.codes import SUBSIDY_LABELS
from core.numbers import mask_id
from review.findings import CODE_LABELS
from review.models import ACTION_LABELS, ComparisonRun, Finding


def visible_runs(user) -> QuerySet:
    return access.scope_within_or_above(ComparisonRun.objects.all(), user, "division")


def visible_findings(user) -> QuerySet:
    return access.scope(Finding.objects.all(), user, "county").filter(run__in=visible_runs(user))


def filter_findings(findings: QuerySet, data: dict) -> QuerySet:
    findings = findings.with_status()
    if data.get("code"):
        findings = findings.filter(code=data["code"])
    if data.get("action"):
        findings = findings.filter(action=data["action"])
    if data.get("township"):
        findings = findings.filter(township_code__startswith=data["township"].strip())
    if data.get("diff"):
        findings = findings.filter(diff=data["diff"])
    if data.get("q"):
        q = data["q"].strip()
        findings = findings.filter(Q(name__contains=q) | Q(id_number=q.upper()))
    status = data.get("status")
    if status == "open":
        findings = findings.open()
    elif status in ("confirmed", "not_confirmed"):
        findings = findings.filter(verdict=status)
    elif status == "notified":
        findings = findings.filter(notified__isnull=False)
    return findings


def evidence_text(evidence: dict) -> str:
    values = evidence.get("values") or {}
    return "；".join(f"{k}：{v}" for k, v in values.items())


def township_names(findings: QuerySet) -> dict[str, str]:
    """code → name of the townships the findings lie in (a code with no division keeps its
    code as its name, so that it can still be chosen and read)."""
    codes = findings.exclude(township_code="").values_list("township_code", flat=True).distinct()
    codes = list(codes.order_by())
    names = Division.objects.names(codes)
    return {code: names.get(code, code) for code in codes}


XLSX_HEADERS = [
    "编号",
    "县（区）",
    "乡镇代码",
    "乡镇（街道）",
    "姓名",
    "公民身份号码",
    "问题代码",
    "问题类型",
    "补贴",
    "处理方式",
    "事件日期",
    "证据来源",
    "证据行号",
    "证据内容",
    "备注",
    "与上次比较",
    "状态",
]


def export_rows(
    run: ComparisonRun,
    findings: QuerySet,
    townships: dict[str, str],
    *,
    progress: Callable[[int], None] | None = None,
) -> Iterator[list]:
    """The sheet: a title row, the headers, one row per finding (ID numbers masked as in the
    list); ``progress(done)`` is called every 1 000 findings."""
    yield [f"比对批次 #{run.pk} {run.division.name}（{run.division_id}） 基准日 {run.as_of}"]
    yield XLSX_HEADERS
    for done, f in enumerate(findings.iterator(chunk_size=2000), 1):
        if progress is not None and done % 1000 == 0:
            progress(done)
        yield [
            f.pk,
            f.county.name,
            f.township_code,
            townships.get(f.township_code, ""),
            f.name,
            mask_id(f.id_number),
            f.code,
            CODE_LABELS.get(f.code, f.code),
            SUBSIDY_LABELS.get(f.subsidy or "", ""),
            ACTION_LABELS.get(f.action, f.action),
            f.event_date,
            f.roster_label,
            (f.evidence or {}).get("row"),
            evidence_text(f.evidence or {}),
            f.note,
            Finding.Diff(f.diff).label,
            f.status_label,
        ]
