"""Staff names as Chinese write them: family name first, no space (李明, not 明 李).

Django's ``AbstractUser.get_full_name`` joins ``first_name`` and ``last_name`` with a space
(django/contrib/auth/models.py), and Wagtail's admin shows every user through it (the account
menu, the user list, page history, the audit log: ``wagtail.admin.utils.get_user_display_name``).
Replacing that one method is therefore the one place that makes every screen right. A custom
user model would be the textbook way, but swapping ``AUTH_USER_MODEL`` in a project that holds
data means migrating every foreign key to users; this keeps ``auth.User``.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractUser

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def full_name(user: AbstractUser) -> str:
    """李明 for 姓 李 / 名 明; a Latin name keeps Django's order and space (John Smith)."""
    given, family = (user.first_name or "").strip(), (user.last_name or "").strip()
    if _CJK.search(given + family) and not re.search(r"[A-Za-z]", given + family):
        return f"{family}{given}"
    return f"{given} {family}".strip()


def install() -> None:
    """Called once from ``ArchiveConfig.ready``."""
    AbstractUser.get_full_name = full_name
