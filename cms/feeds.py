"""RSS 2.0 and Atom feeds of new policy documents (主动公开 only), served by the policy index
at ``feed/`` and ``feed/atom/``. The index page hands over its items (``feed_items``) and each
policy its text (``feed_text``), so this module never imports the page models back."""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

FEED_SIZE = 20


class PolicyRssFeed(Feed):
    feed_type = Rss201rev2Feed
    language = "zh-hans"
    description_template = None

    def __call__(self, request, *args, **kwargs):
        self.request = request
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request, index_page=None):
        return index_page

    def title(self, obj):
        return f"{obj.title} - {settings.WAGTAIL_SITE_NAME}"

    def subtitle(self, obj):
        return "新发布的残疾人两项补贴政策文件"

    def description(self, obj):
        return self.subtitle(obj)

    def link(self, obj):
        return obj.get_url(request=self.request)

    def items(self, obj):
        return obj.feed_items(FEED_SIZE)

    def item_title(self, item):
        return f"{item.title}（{item.doc_number}）"

    def item_description(self, item):
        return f"{item.issuer_names}　{item.feed_text()[:300]}"

    def item_link(self, item):
        return item.get_url(request=self.request)

    def item_guid(self, item):
        return f"policy-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        return item.last_published_at

    def item_author_name(self, item):
        return item.issuer_names

    def item_categories(self, item):
        return [item.topic.name] if item.topic_id else []


class PolicyAtomFeed(PolicyRssFeed):
    feed_type = Atom1Feed
