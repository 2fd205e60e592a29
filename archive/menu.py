"""Admin menu items that appear only to users holding a permission.

Shared by every app's wagtail_hooks, so that adding a page to the menu is one line of data
rather than another hook function and menu-item class.
"""

from __future__ import annotations

from typing import NamedTuple

from django.urls import reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request) -> bool:
        return request.user.has_perm(self.permission)


class Entry(NamedTuple):
    label: str
    url_name: str
    icon: str
    order: int
    permission: str


def register_menu_entries(hook_name: str, entries: tuple[Entry, ...]) -> None:
    """Registers one menu item per entry with the given Wagtail menu hook."""
    for entry in entries:

        def item(entry: Entry = entry) -> PermissionMenuItem:
            return PermissionMenuItem(
                entry.label,
                reverse(entry.url_name),
                icon_name=entry.icon,
                order=entry.order,
                permission=entry.permission,
            )

        hooks.register(hook_name, item)
