"""Registers the archive's admin pages and menu items with Wagtail."""

from django.templatetags.static import static
from django.urls import include, path
from django.utils.html import format_html
from wagtail import hooks

from archive import import_views, job_views, rules_views
from archive.access import permissions as perms
from archive.access import viewsets
from archive.menu import Entry, register_menu_entries
from archive.people import admin_views, person_views


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
        *person_views.urlpatterns,
        path("import/beneficiaries/", include((import_views.urlpatterns, "archive_import"))),
        path("rule-sets/", rules_views.rule_set_list, name="archive_rule_sets"),
        path("rule-sets/new/", rules_views.rule_set_new, name="archive_rule_set_new"),
        *job_views.urlpatterns,
    ]


@hooks.register("register_admin_urls")
def register_document_urls():
    """Case files and scanned documents (their views import the OCR and imaging stack)."""
    from archive.casefiles import appraisal_views, casefile_views, checklist_views, integrity_views
    from archive.documents import (
        bulk_views,
        document_views,
        file_views,
        ocr_views,
        rerun_views,
        upload_views,
    )

    return [
        *casefile_views.urlpatterns,
        *upload_views.urlpatterns,
        *document_views.urlpatterns,
        *bulk_views.urlpatterns,
        *file_views.urlpatterns,
        *integrity_views.urlpatterns,
        *checklist_views.urlpatterns,
        *appraisal_views.urlpatterns,
        *ocr_views.urlpatterns,
        *rerun_views.urlpatterns,
    ]


hooks.register("before_bulk_action", viewsets.refuse_bulk_actions_on_users_out_of_reach)

register_menu_entries(
    "register_admin_menu_item",
    (
        Entry("残疾人档案", "archive_person_list", "user", 100, perms.VIEW_PERSON),
        Entry(
            "补贴档案", "archive_casefile_list", "folder-open-inverse", 110, perms.VIEW_CASE_FILE
        ),
        Entry("待归档扫描件", "archive_inbox", "upload", 120, perms.ADD_DOCUMENT),
        Entry("OCR 核对", "archive_ocr_queue", "glasses", 130, perms.REVIEW_OCR),
        Entry("导入花名册", "archive_import:upload", "upload", 200, perms.IMPORT_ROSTER),
        Entry("认定规则", "archive_rule_sets", "cog", 800, perms.VIEW_RULE_SETS),
        Entry("档案材料清单", "archive_checklist", "list-ul", 810, perms.VIEW_CHECKLIST),
        Entry("审计日志", "archive_audit_log", "history", 900, perms.VIEW_AUDIT_LOG),
        Entry("完整性校验", "archive_integrity", "warning", 910, perms.VIEW_INTEGRITY),
        Entry("到期鉴定", "archive_appraisal", "calendar-alt", 920, perms.VIEW_APPRAISAL),
    ),
)


@hooks.register("insert_global_admin_css")
def narrow_screens_css() -> str:
    """On every admin page: tables usable at 200 % zoom and on a phone (archive/narrow.css)."""
    return format_html('<link rel="stylesheet" href="{}">', static("archive/narrow.css"))
