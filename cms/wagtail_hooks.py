"""Admin registration (snippets) and the page cache hook."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from cms.caching import cached_serve
from cms.models import Issuer, PolicyTopic, TrainingSession

# Wagtail's own view-restriction check is registered with the default order (0) and so wraps
# this one: restricted pages are refused before the cache is consulted.
hooks.register("on_serve_page", cached_serve, order=100)


class IssuerViewSet(SnippetViewSet):
    model = Issuer
    icon = "group"
    menu_label = "发文机关"
    list_display = ["name", "level", "sort_order"]
    ordering = ["sort_order", "name"]


class PolicyTopicViewSet(SnippetViewSet):
    model = PolicyTopic
    icon = "tag"
    menu_label = "政策主题"
    list_display = ["name"]


class TrainingSessionViewSet(SnippetViewSet):
    model = TrainingSession
    icon = "date"
    menu_label = "培训开展记录"
    list_display = ["held_on", "city", "title", "organizer", "participants"]
    list_filter = ["city", "organizer"]


class CmsSnippetGroup(SnippetViewSetGroup):
    items = (IssuerViewSet, PolicyTopicViewSet, TrainingSessionViewSet)
    menu_icon = "folder-open-inverse"
    menu_label = "政策发布设置"
    menu_name = "cms-settings"


register_snippet(CmsSnippetGroup)
