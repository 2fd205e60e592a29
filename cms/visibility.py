"""Which policy documents the public may see (政府信息公开属性).

Every policy document carries a 公开属性: 主动公开 (published proactively), 依申请公开 (released
only on request) or 不予公开 (not released). Only 主动公开 documents appear on the public site —
in lists, search, the feed and at their own URL; the others stay in the admin for staff.

Pure: no Django.
"""

from __future__ import annotations

__all__ = [
    "ACTIVE",
    "DISCLOSURE_CHOICES",
    "ON_REQUEST",
    "VALIDITY_CHOICES",
    "WITHHELD",
    "is_publicly_visible",
]

ACTIVE = "active"
ON_REQUEST = "on_request"
WITHHELD = "withheld"
DISCLOSURE_CHOICES = [
    (ACTIVE, "主动公开"),
    (ON_REQUEST, "依申请公开"),
    (WITHHELD, "不予公开"),
]

VALID = "valid"
AMENDED = "amended"
REPEALED = "repealed"
VALIDITY_CHOICES = [
    (VALID, "有效"),
    (AMENDED, "已修订"),
    (REPEALED, "废止"),
]


def is_publicly_visible(
    disclosure: str, *, live: bool = True, view_restricted: bool = False
) -> bool:
    """True when a policy document may be shown to an anonymous visitor.

    It must be published (``live``), carry no Wagtail view restriction, and be 主动公开.
    """
    return bool(live) and not view_restricted and disclosure == ACTIVE
