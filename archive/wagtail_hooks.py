"""Registers the archive's admin pages and menu items with Wagtail."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from archive import admin_views, import_views, rules_views


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [
        path("people/", admin_views.person_list, name="archive_person_list"),
        path("people/<int:pk>/", admin_views.person_detail, name="archive_person_detail"),
        path(
            "enrolments/<int:pk>/<slug:action>/",
            admin_views.enrolment_action,
            name="archive_enrolment_action",
        ),
        path("audit-log/", admin_views.audit_log, name="archive_audit_log"),
        path("import/beneficiaries/", include((import_views.urlpatterns, "archive_import"))),
        path("rule-sets/", rules_views.rule_set_list, name="archive_rule_sets"),
        path("rule-sets/new/", rules_views.rule_set_new, name="archive_rule_set_new"),
    ]


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


@hooks.register("register_admin_menu_item")
def people_menu_item():
    return PermissionMenuItem(
        "残疾人档案",
        reverse("archive_person_list"),
        icon_name="user",
        order=100,
        permission="archive.view_person",
    )


@hooks.register("register_admin_menu_item")
def import_menu_item():
    return PermissionMenuItem(
        "导入花名册",
        reverse("archive_import:upload"),
        icon_name="upload",
        order=200,
        permission="archive.add_importrecord",
    )


@hooks.register("register_admin_menu_item")
def rule_sets_menu_item():
    return PermissionMenuItem(
        "认定规则",
        reverse("archive_rule_sets"),
        icon_name="cog",
        order=800,
        permission="archive.view_rulesetversion",
    )


@hooks.register("register_admin_menu_item")
def audit_menu_item():
    return PermissionMenuItem(
        "审计日志",
        reverse("archive_audit_log"),
        icon_name="history",
        order=900,
        permission="archive.view_auditlog",
    )


# --- Case files and scanned documents (issue 4) ------------------------------------------------


@hooks.register("register_admin_urls")
def register_document_urls():
    from archive import document_views

    return document_views.urlpatterns


@hooks.register("register_admin_menu_item")
def case_files_menu_item():
    return PermissionMenuItem(
        "补贴档案",
        reverse("archive_casefile_list"),
        icon_name="folder-open-inverse",
        order=110,
        permission="archive.view_casefile",
    )


@hooks.register("register_admin_menu_item")
def inbox_menu_item():
    return PermissionMenuItem(
        "待归档扫描件",
        reverse("archive_inbox"),
        icon_name="upload",
        order=120,
        permission="archive.add_document",
    )


@hooks.register("register_admin_menu_item")
def integrity_menu_item():
    return PermissionMenuItem(
        "完整性校验",
        reverse("archive_integrity"),
        icon_name="warning",
        order=910,
        permission="archive.view_integrityrun",
    )


@hooks.register("register_admin_viewset")
def register_user_profile_viewset():
    from archive.viewsets import UserProfileViewSet

    return UserProfileViewSet("user_profiles")


@hooks.register("register_admin_menu_item")
def checklist_menu_item():
    return PermissionMenuItem(
        "档案材料清单",
        reverse("archive_checklist"),
        icon_name="list-ul",
        order=810,
        permission="archive.view_checklistversion",
    )


@hooks.register("register_admin_menu_item")
def appraisal_menu_item():
    return PermissionMenuItem(
        "到期鉴定",
        reverse("archive_appraisal"),
        icon_name="calendar-alt",
        order=920,
        permission="archive.view_appraisal",
    )
