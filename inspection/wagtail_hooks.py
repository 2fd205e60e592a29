"""Registers the spot-check (抽查) and annual-review (年度集中复核) pages and their menu."""

from django.urls import include, path
from wagtail import hooks
from wagtail.admin.menu import Menu, SubmenuMenuItem

from archive.access import permissions as perms
from archive.menu import Entry, register_menu_entries


@hooks.register("register_admin_urls")
def register_inspection_urls():
    from inspection import views

    return [path("inspection/", include(views.urlpatterns))]


inspection_menu = Menu(
    register_hook_name="register_inspection_menu_item",
    construct_hook_name="construct_inspection_menu",
)

register_menu_entries(
    "register_inspection_menu_item",
    (
        Entry("抽查", "inspection_spot_checks", "tasks", 100, perms.VIEW_SPOT_CHECK),
        Entry("年度集中复核", "inspection_campaigns", "date", 200, perms.VIEW_CAMPAIGN),
    ),
)


class _InspectionSubmenu(SubmenuMenuItem):
    def is_shown(self, request):
        return request.user.has_perm(perms.VIEW_SPOT_CHECK) or request.user.has_perm(
            perms.VIEW_CAMPAIGN
        )


@hooks.register("register_admin_menu_item")
def inspection_menu_item():
    return _InspectionSubmenu("抽查与复核", inspection_menu, icon_name="search", order=160)
