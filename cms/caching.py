"""Caching of public pages.

Wagtail's ``on_serve_page`` hook wraps page serving; :func:`cached_serve` (registered in
``wagtail_hooks.py``, inside Wagtail's own view-restriction check) keeps the rendered response
of anonymous GET requests in Django's cache. Admin views and previews never pass through this
hook, logged-in users always get a fresh page, and any response that sets a cookie, is not 200
or says ``private``/``no-store`` is not stored.

The cache key carries a content version: the newest page and model log entries (every publish,
unpublish, move, delete and admin edit writes one, so all web processes agree) plus a counter
bumped by signals in this process (see :mod:`cms.signals`). Browsers may keep a page for
``BROWSER_MAX_AGE`` seconds. ``Server-Timing`` reports the time spent.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

CACHE_SECONDS = 600
BROWSER_MAX_AGE = 60
GENERATION_KEY = "cms:generation"
_KEPT_HEADERS = ("Content-Type", "Content-Language", "Content-Disposition")


def bump_generation() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)


def content_version() -> str:
    from wagtail.models import ModelLogEntry, PageLogEntry

    page_log = PageLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    model_log = ModelLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    return f"{cache.get(GENERATION_KEY, 0)}.{page_log or 0}.{model_log or 0}"


LARGE_TEXT_COOKIE = "cms_large"


def wants_large_text(request) -> bool:
    """Large-text / easy-read mode: ``?large=1|0`` for this view, else the cookie."""
    if request is None:
        return False
    value = request.GET.get("large")
    if value in {"0", "1"}:
        return value == "1"
    return request.COOKIES.get(LARGE_TEXT_COOKIE) == "1"


def _is_anonymous(request) -> bool:
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def cache_key(request) -> str:
    raw = "|".join(
        [
            request.get_host(),
            request.get_full_path(),
            "large" if wants_large_text(request) else "normal",
        ]
    )
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]
    return f"cms:page:{content_version()}:{digest}"


def _storable(response) -> bool:
    if response.status_code != 200 or response.cookies or getattr(response, "streaming", False):
        return False
    control = response.get("Cache-Control", "")
    return "private" not in control and "no-store" not in control and "no-cache" not in control


def _finish(response, started: float, state: str, *, public: bool):
    elapsed_ms = (time.perf_counter() - started) * 1000
    response["Server-Timing"] = f'app;dur={elapsed_ms:.1f};desc="{state}"'
    if public:
        if "Cache-Control" not in response:
            patch_cache_control(response, public=True, max_age=BROWSER_MAX_AGE)
        patch_vary_headers(response, ["Cookie"])
    elif "Cache-Control" not in response:
        patch_cache_control(response, private=True, no_cache=True)
    return response


def cached_serve(callback):
    """``on_serve_page`` hook: serve anonymous GETs from the cache when possible."""

    def inner(page, request, serve_args, serve_kwargs):
        started = time.perf_counter()
        if request.method not in ("GET", "HEAD") or not _is_anonymous(request):
            response = callback(page, request, serve_args, serve_kwargs)
            return _finish(response, started, "bypass", public=False)

        key = cache_key(request)
        stored = cache.get(key)
        if stored is not None:
            content, headers = stored
            response = HttpResponse(content)
            for name, value in headers.items():
                response[name] = value
            return _finish(response, started, "hit", public=True)

        response = callback(page, request, serve_args, serve_kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        if _storable(response):
            headers = {name: response[name] for name in _KEPT_HEADERS if name in response}
            cache.set(key, (response.content, headers), CACHE_SECONDS)
            return _finish(response, started, "miss", public=True)
        return _finish(response, started, "uncached", public=False)

    return inner
