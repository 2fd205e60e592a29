"""Registers the comparison pages (数据比对) and their menu with Wagtail."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem


@hooks.register("register_admin_urls")
def register_review_urls():
    from review import views

    return [path("review/", include(views.urlpatterns))]


class _PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


review_menu = Menu(
    register_hook_name="register_review_menu_item", construct_hook_name="construct_review_menu"
)


@hooks.register("register_review_menu_item")
def dashboard_item():
    return _PermissionMenuItem(
        "比对总览",
        reverse("review_dashboard"),
        icon_name="view",
        order=100,
        permission="review.view_comparisonrun",
    )


@hooks.register("register_review_menu_item")
def rosters_item():
    return _PermissionMenuItem(
        "比对数据",
        reverse("review_rosters"),
        icon_name="upload",
        order=200,
        permission="review.view_rosterupload",
    )


@hooks.register("register_review_menu_item")
def runs_item():
    return _PermissionMenuItem(
        "比对批次与发现",
        reverse("review_runs"),
        icon_name="list-ul",
        order=300,
        permission="review.view_comparisonrun",
    )


class _ReviewSubmenu(SubmenuMenuItem):
    def is_shown(self, request):
        return request.user.has_perm("review.view_comparisonrun")


@hooks.register("register_admin_menu_item")
def review_menu_item():
    return _ReviewSubmenu("数据比对", review_menu, icon_name="doc-full-inverse", order=150)
