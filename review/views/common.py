"""What every comparison page shares: page sizes, the jurisdiction of runs, uploads and
findings (the rule itself is archive.access's), and the refusal written to the audit log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from archive import access
from archive.access.audit import record
from review.finding_list import (
    visible_findings,
    visible_runs,
)
from review.models import (
    ComparisonRun,
    Finding,
    RosterUpload,
)

PAGE_SIZE = 100
DIFF_LIMIT = 200


def visible_uploads(user) -> QuerySet:
    return access.scope_within_or_above(RosterUpload.objects.all(), user, "division")


def denied(request: HttpRequest, obj_type: str, pk: Any) -> Http404:
    record(request, "denied", obj_type=obj_type, obj_id=str(pk), detail="记录不存在或不在本辖区")
    return Http404("记录不存在或不在您的辖区内。")


def get_run_or_404(request: HttpRequest, pk: int) -> ComparisonRun:
    run = (
        visible_runs(request.user)
        .select_related("division", "rule_set", "created_by", "previous", "job")
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise denied(request, "review.ComparisonRun", pk)
    return run


def get_finding_or_404(request: HttpRequest, pk: int) -> Finding:
    finding = (
        visible_findings(request.user)
        .select_related("run", "run__division", "run__rule_set", "county", "person", "enrolment")
        .filter(pk=pk)
        .first()
    )
    if finding is None:
        raise denied(request, "review.Finding", pk)
    return finding


def audit(request: HttpRequest, action: str, obj_type: str, obj_id: Any, detail: str) -> None:
    record(request, action, obj_type=obj_type, obj_id=str(obj_id), detail=detail)
