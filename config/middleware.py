"""Content-Security-Policy on HTML pages (django-csp), one policy for the public site and one
for the admin.

The public site runs no inline script at all, so its policy allows scripts from this origin
only. Wagtail's admin still writes a few inline scripts (date pickers, inline panels), so the
admin's script-src also allows inline scripts; everything else (no plugins, no foreign
frames or forms, no framing by other sites) is the same. Responses that are not HTML (files,
JSON, CSV) carry no policy: a browser does not run them as pages.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

ADMIN_PREFIX = "/admin/"
ADMIN_REPLACE = {"script-src": [SELF, UNSAFE_INLINE]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(ADMIN_PREFIX) and parts.replace is None:
            parts.replace = ADMIN_REPLACE
        return parts
