"""Registers the comparison pages (数据比对) and their menu with Wagtail."""

from django.urls import include, path
from wagtail import hooks
from wagtail.admin.menu import Menu, SubmenuMenuItem

from archive.access import permissions as perms
from archive.menu import Entry, register_menu_entries


@hooks.register("register_admin_urls")
def register_review_urls():
    from review import views

    return [path("review/", include(views.urlpatterns))]


review_menu = Menu(
    register_hook_name="register_review_menu_item", construct_hook_name="construct_review_menu"
)

register_menu_entries(
    "register_review_menu_item",
    (
        Entry("比对总览", "review_dashboard", "view", 100, perms.VIEW_RUN),
        Entry("比对数据", "review_rosters", "upload", 200, perms.VIEW_ROSTER_UPLOAD),
        Entry("比对批次与发现", "review_runs", "list-ul", 300, perms.VIEW_RUN),
    ),
)


class _ReviewSubmenu(SubmenuMenuItem):
    def is_shown(self, request):
        return request.user.has_perm(perms.VIEW_RUN)


@hooks.register("register_admin_menu_item")
def review_menu_item():
    return _ReviewSubmenu("数据比对", review_menu, icon_name="doc-full-inverse", order=150)
