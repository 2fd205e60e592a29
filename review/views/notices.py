"""Policy notices (政策告知书) for the eligible who do not receive a subsidy, and a run's
outreach list."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from archive import access
from archive.access import permissions as perms
from archive.access.guards import guarded
from archive.models import Division
from core.codes import SUBSIDY_NAMES
from core.eligibility import RuleSet
from core.numbers import mask_id
from review import services
from review.models import (
    Finding,
)
from review.views.common import (
    audit,
    get_finding_or_404,
    get_run_or_404,
)


def _notice_context(finding: Finding, rules: RuleSet | None = None) -> dict[str, Any]:
    """A letter to a citizen cites the rule set the run applied (its own legal basis), and the
    county office's phone from settings (NOTICE_OFFICE_PHONES)."""
    rules = rules or services.rules_of(finding.run)
    values = (finding.evidence or {}).get("values") or {}
    missed = [SUBSIDY_NAMES[s] for s in SUBSIDY_NAMES if finding.subsidy in (s, None, "", "both")]
    return {
        "finding": finding,
        "values": values,
        "missed": missed,
        "county": finding.county,
        "citation": rules.notice_citation or rules.legal_basis,
        "office_phone": settings.NOTICE_OFFICE_PHONES.get(finding.county_id, ""),
        "today": timezone.localdate(),
    }


@guarded(perms.VIEW_FINDING)
def finding_notice(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_finding_or_404(request, pk)
    if finding.action != "NOTIFY":
        raise Http404("只有应享未享的发现有政策告知书。")
    audit(request, "print", "review.Finding", pk, f"打印政策告知书 {mask_id(finding.id_number)}")
    return TemplateResponse(
        request, "review/notice.html", {"notices": [_notice_context(finding)], "single": True}
    )


@guarded(perms.VIEW_FINDING)
def run_outreach(request: HttpRequest, pk: int) -> HttpResponse:
    """NOTIFY findings of a run grouped by township, for outreach; ``?notices=1`` prints every
    notice of the list."""
    run = get_run_or_404(request, pk)
    township = request.GET.get("township", "").strip()
    findings = (
        access.scope(run.findings.filter(action="NOTIFY"), request.user, "county")
        .with_status()
        .select_related("run", "county", "person")
    )
    if township:
        findings = findings.filter(township_code__startswith=township)
    findings = findings.order_by("county_id", "township_code", "id")
    audit(
        request, "print", "review.ComparisonRun", pk, f"应享未享告知名单 乡镇={township or '全部'}"
    )
    if request.GET.get("notices"):
        rules = services.rules_of(run)  # one rule set for the whole run's letters
        return TemplateResponse(
            request,
            "review/notice.html",
            {"notices": [_notice_context(f, rules) for f in findings], "single": False},
        )
    present = (
        access.scope(run.findings.filter(action="NOTIFY"), request.user, "county")
        .exclude(township_code="")
        .values_list("township_code", flat=True)
        .distinct()
    )
    names = Division.objects.names(present)
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.county.name, finding.township_code)].append(finding)
    return TemplateResponse(
        request,
        "review/outreach.html",
        {
            "run": run,
            "township": township,
            "townships": sorted(names.items()),
            "groups": [
                {
                    "county": county,
                    "township": code,
                    "township_name": names.get(code, ""),
                    "findings": items,
                }
                for (county, code), items in groups.items()
            ],
        },
    )
