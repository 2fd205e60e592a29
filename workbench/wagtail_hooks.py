"""The workbench on the admin dashboard: a panel first among Wagtail's, and Wagtail's own site
summary ("9 Pages · 0 Images · 2 Documents") taken away for everyone who does not edit pages."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from wagtail import hooks
from wagtail.admin.ui.components import Component

from archive.access import permissions as perms
from workbench.items import items_for


class WorkbenchPanel(Component):
    name = "workbench"
    template_name = "workbench/panel.html"
    order = 10  # before Wagtail's panels (recent edits is 250)

    def __init__(self, user: Any) -> None:
        self.user = user

    def get_context_data(self, parent_context: Any = None) -> dict[str, Any]:
        return {"items": items_for(self.user, timezone.localdate())}


@hooks.register("construct_homepage_panels")
def add_workbench(request, panels: list) -> None:
    panels.insert(0, WorkbenchPanel(request.user))


@hooks.register("construct_homepage_summary_items", order=100)  # after Wagtail adds its own
def keep_page_counts_for_editors(request, summary_items: list) -> None:
    if not request.user.has_perm(perms.ADD_PAGE) and not request.user.is_superuser:
        summary_items.clear()
