"""The comparison dashboard (比对总览): last runs, overdue comparisons and open findings per
division."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from archive.access import permissions as perms
from archive.access.guards import guarded
from review import services


@guarded(perms.VIEW_RUN)
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    divisions = list(services.divisions_of(request.user))
    context = services.dashboard_context(request.user, divisions, today)
    return TemplateResponse(request, "review/dashboard.html", {**context, "today": today})
