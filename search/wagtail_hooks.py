"""Registers the inspector's search page (检索) and its menu item."""

from django.urls import include, path
from wagtail import hooks

from archive.access import permissions as perms
from archive.menu import Entry, register_menu_entries


@hooks.register("register_admin_urls")
def register_search_urls():
    from search import views

    return [path("records-search/", include(views.urlpatterns))]


register_menu_entries(
    "register_admin_menu_item",
    (Entry("档案检索", "search_records", "search", 150, perms.SEARCH_RECORDS),),
)
register_menu_entries(
    "register_settings_menu_item",
    (Entry("检索索引", "search_index", "search", 900, perms.MANAGE_SEARCH_INDEX),),
)
