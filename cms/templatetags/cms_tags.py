"""Site chrome for the public templates: navigation, search, feed and large-text links."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from wagtail.models import Site

from cms.caching import wants_large_text
from cms.models import HomePage, PolicyIndexPage

register = template.Library()


def _home_for(request):
    site = Site.find_for_request(request) if request is not None else None
    root = site.root_page if site else None
    if root is not None and root.specific_class is HomePage:
        return root.specific
    return HomePage.objects.live().first()


@register.simple_tag(takes_context=True)
def cms_chrome(context):
    """Links every public page needs, computed once per request."""
    request = context.get("request")
    cached = getattr(request, "_cms_chrome", None)
    if cached is not None:
        return cached
    home = _home_for(request)
    current = context.get("page") or context.get("self")
    current_path = getattr(current, "url_path", "") or ""
    large = wants_large_text(request) if request is not None else False
    here = request.get_full_path() if request is not None else "/"
    chrome = {"home": home, "nav": [], "large": large}
    if home is not None:
        home_url = home.get_url(request=request) or "/"
        for item in home.get_children().live().in_menu():
            chrome["nav"].append(
                {
                    "title": item.title,
                    "url": item.get_url(request=request),
                    "current": current_path.startswith(item.url_path),
                }
            )
        chrome["home_url"] = home_url
        chrome["search_url"] = home_url + home.reverse_subpage("search")
        chrome["display_url"] = (
            home_url
            + home.reverse_subpage("display")
            + "?"
            + urlencode({"large": "0" if large else "1", "next": here})
        )
        policy_index = PolicyIndexPage.objects.live().descendant_of(home).first()
        if policy_index is not None:
            index_url = policy_index.get_url(request=request)
            chrome["feed_url"] = index_url + policy_index.reverse_subpage("feed")
            chrome["atom_url"] = index_url + policy_index.reverse_subpage("atom_feed")
    if request is not None:
        request._cms_chrome = chrome
    return chrome


@register.simple_tag
def query_with(params: dict, **changes) -> str:
    """A query string from ``params`` with some values changed (for pagination links)."""
    merged = {k: v for k, v in {**(params or {}), **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


@register.filter
def breadcrumbs(page):
    """Ancestors between the site home (inclusive) and the page (exclusive)."""
    if page is None or not getattr(page, "pk", None):
        return []
    return list(page.get_ancestors().filter(depth__gte=2).live())


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)
