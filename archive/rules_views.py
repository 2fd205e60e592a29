"""Admin pages for the eligibility rule sets: every version with its legal basis, and a form
to add a new one (versions are append-only, so past comparisons stay explainable)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from archive.access import permissions as perms
from archive.access.audit import record
from archive.models import RuleSetVersion
from archive.rulesets import CONNECTION_CHOICES, RuleSetForm, save_rule_set
from core.eligibility import BENEFITS, SUBSIDIES, RuleSet
from core.numbers import CATEGORIES, GRADES


def _summary(version: RuleSetVersion) -> dict:
    rules = RuleSet.from_dict(version.data)
    labels = dict(CONNECTION_CHOICES)
    return {
        "version": version,
        "rules": rules,
        "pairs": [
            f"{CATEGORIES[c]}{GRADES[g]}：{rules.nursing_amounts[(c, g)]} 元/月"
            for c, g in sorted(rules.nursing_pairs)
        ],
        "exclusions": [
            (
                BENEFITS.get(benefit, benefit),
                [(SUBSIDIES[s], labels[statuses[s]]) for s in SUBSIDIES],
            )
            for benefit, statuses in rules.exclusions.items()
        ],
    }


@permission_required(perms.VIEW_RULE_SETS, raise_exception=True)
def rule_set_list(request: HttpRequest) -> TemplateResponse:
    versions = [_summary(v) for v in RuleSetVersion.objects.select_related("created_by")]
    return TemplateResponse(
        request,
        "archive/rule_sets.html",
        {"versions": versions, "can_add": request.user.has_perm(perms.ADD_RULE_SET)},
    )


@permission_required(perms.ADD_RULE_SET, raise_exception=True)
def rule_set_new(request: HttpRequest) -> HttpResponse:
    latest = RuleSetVersion.objects.first()
    initial = RuleSet.from_dict(latest.data) if latest else None
    form = RuleSetForm(request.POST or None, initial_rules=initial)
    if request.method == "POST" and form.is_valid():
        version = save_rule_set(form.cleaned_data["rule_set"], request.user)
        record(
            request,
            "ruleset_add",
            obj_type="archive.RuleSetVersion",
            obj_id=str(version.pk),
            detail=version.name,
        )
        messages.success(request, f"已新增规则版本：{version}")
        return redirect("archive_rule_sets")
    return TemplateResponse(request, "archive/rule_set_form.html", {"form": form})
