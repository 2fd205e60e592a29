"""The four roles, each a Wagtail group with the permissions it needs and no more.

Kept in sync after every migrate (`archive.apps`), so adding a permission here and migrating
is all it takes. Jurisdiction is separate: it comes from the user's division
(`archive.access`), not from the group.
"""

from __future__ import annotations

ARCHIVIST = "档案管理员"
INSPECTOR = "检查员"
EDITOR = "编辑"
ADMINISTRATOR = "管理员"

WAGTAIL_ADMIN = ("wagtailadmin", "admin", "access_admin")

#: role → (app_label, model, codename) triples
ROLE_PERMISSIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    ARCHIVIST: (
        WAGTAIL_ADMIN,
        ("archive", "person", "view_person"),
        ("archive", "person", "add_person"),
        ("archive", "person", "change_person"),
        ("archive", "enrolment", "view_enrolment"),
        ("archive", "enrolment", "change_enrolment"),
        ("archive", "importrecord", "view_importrecord"),
        ("archive", "importrecord", "add_importrecord"),
        ("archive", "rulesetversion", "view_rulesetversion"),
    ),
    INSPECTOR: (
        WAGTAIL_ADMIN,
        ("archive", "person", "view_person"),
        ("archive", "enrolment", "view_enrolment"),
        ("archive", "importrecord", "view_importrecord"),
        ("archive", "rulesetversion", "view_rulesetversion"),
    ),
    EDITOR: (
        WAGTAIL_ADMIN,
        ("wagtaildocs", "document", "add_document"),
        ("wagtaildocs", "document", "change_document"),
        ("wagtailimages", "image", "add_image"),
        ("wagtailimages", "image", "change_image"),
        *(
            ("cms", model, f"{action}_{model}")
            for model in ("trainingsession", "issuer", "policytopic")
            for action in ("add", "change", "view")
        ),
    ),
    ADMINISTRATOR: (
        WAGTAIL_ADMIN,
        ("archive", "person", "view_person"),
        ("archive", "person", "add_person"),
        ("archive", "person", "change_person"),
        ("archive", "enrolment", "view_enrolment"),
        ("archive", "enrolment", "change_enrolment"),
        ("archive", "importrecord", "view_importrecord"),
        ("archive", "importrecord", "add_importrecord"),
        ("archive", "rulesetversion", "view_rulesetversion"),
        ("archive", "rulesetversion", "add_rulesetversion"),
        ("archive", "auditlog", "view_auditlog"),
        ("archive", "userprofile", "view_userprofile"),
        ("archive", "userprofile", "add_userprofile"),
        ("archive", "userprofile", "change_userprofile"),
        ("auth", "user", "add_user"),
        ("auth", "user", "change_user"),
    ),
}


def sync_roles(**kwargs) -> None:
    """Creates the role groups and gives each exactly its permissions (post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role, triples in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [
            Permission.objects.filter(
                content_type__app_label=app, content_type__model=model, codename=codename
            ).first()
            for app, model, codename in triples
        ]
        group.permissions.set([p for p in wanted if p is not None])
