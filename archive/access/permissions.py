"""Every permission the code checks or a role grants, named once.

A name is ``app_label.codename`` as ``user.has_perm`` takes it; the codename is Django's
``<action>_<model name>`` (``get_permission_codename``) for the built-in and the models'
``Meta.permissions`` actions. Views, menus and commands import these names instead of
spelling the strings, and the roles (`archive.access.roles`) grant the same names, so a permission
renamed here is renamed everywhere. No model is imported: the layers above `archive`
(review, search, inspection) use this module too.
"""

from __future__ import annotations


def name(app_label: str, action: str, model_name: str) -> str:
    """``app_label.<action>_<model_name>``, the name Django gives a model permission."""
    return f"{app_label}.{action}_{model_name}"


def split(permission: str) -> tuple[str, str]:
    """(app label, codename) of a permission name, for looking up its `Permission` row."""
    app_label, codename = permission.split(".", 1)
    return app_label, codename


ACCESS_ADMIN = "wagtailadmin.access_admin"

# --- archive ------------------------------------------------------------------------------------
VIEW_PERSON = name("archive", "view", "person")
ADD_PERSON = name("archive", "add", "person")
CHANGE_PERSON = name("archive", "change", "person")
VIEW_ENROLMENT = name("archive", "view", "enrolment")
CHANGE_ENROLMENT = name("archive", "change", "enrolment")
VIEW_IMPORT = name("archive", "view", "importrecord")
IMPORT_ROSTER = name("archive", "add", "importrecord")
VIEW_RULE_SETS = name("archive", "view", "rulesetversion")
ADD_RULE_SET = name("archive", "add", "rulesetversion")
VIEW_CASE_FILE = name("archive", "view", "casefile")
EXPORT_CASE_FILE = name("archive", "export", "casefile")
VIEW_DOCUMENT = name("archive", "view", "document")
ADD_DOCUMENT = name("archive", "add", "document")
CHANGE_DOCUMENT = name("archive", "change", "document")
SOFT_DELETE_DOCUMENT = name("archive", "soft_delete", "document")
VIEW_APPRAISAL = "archive.view_appraisal"  # on Document (到期鉴定, archive.casefiles.appraisal)
VIEW_AUDIT_LOG = name("archive", "view", "auditlog")
VIEW_INTEGRITY = name("archive", "view", "integrityrun")
VIEW_CHECKLIST = name("archive", "view", "checklistversion")
ADD_CHECKLIST = name("archive", "add", "checklistversion")
REVIEW_OCR = name("archive", "add", "ocrcheck")  # OCR 核对: confirm or correct what OCR read
VIEW_OCR_ACCURACY = name("archive", "view", "ocrcheck")  # OCR 准确率 from the checks

# --- review -------------------------------------------------------------------------------------
VIEW_RUN = name("review", "view", "comparisonrun")
ADD_RUN = name("review", "add", "comparisonrun")
VIEW_ROSTER_UPLOAD = name("review", "view", "rosterupload")
ADD_ROSTER_UPLOAD = name("review", "add", "rosterupload")
VIEW_FINDING = name("review", "view", "finding")
EXPORT_FINDING = name("review", "export", "finding")
VERIFY = name("review", "add", "verification")
REVERSE_VERIFICATION = name("review", "reverse", "verification")
NOTIFY = name("review", "add", "notifyoutcome")

# --- inspection ---------------------------------------------------------------------------------
VIEW_SPOT_CHECK = name("inspection", "view", "spotcheck")
ADD_SPOT_CHECK = name("inspection", "add", "spotcheck")
EXPORT_SPOT_CHECK = name("inspection", "export", "spotcheck")
ASSIGN_SPOT_CHECK = name("inspection", "assign", "spotcheck")
VIEW_SPOT_CHECK_ITEM = name("inspection", "view", "spotcheckitem")
RECORD_SPOT_CHECK_ITEM = name("inspection", "change", "spotcheckitem")
VIEW_CAMPAIGN = name("inspection", "view", "reviewcampaign")
ADD_CAMPAIGN = name("inspection", "add", "reviewcampaign")
VIEW_REVIEW_TASK = name("inspection", "view", "reviewtask")
RECORD_REVIEW_TASK = name("inspection", "change", "reviewtask")

# --- search -------------------------------------------------------------------------------------
SEARCH_RECORDS = "search.search_records"  # on OutboxEntry (档案检索)
MANAGE_SEARCH_INDEX = "search.manage_search_index"  # on OutboxEntry (检索索引), no role

# --- CMS and users ------------------------------------------------------------------------------
ADD_WAGTAIL_DOCUMENT = name("wagtaildocs", "add", "document")
CHANGE_WAGTAIL_DOCUMENT = name("wagtaildocs", "change", "document")
CHOOSE_WAGTAIL_DOCUMENT = name("wagtaildocs", "choose", "document")
ADD_IMAGE = name("wagtailimages", "add", "image")
CHANGE_IMAGE = name("wagtailimages", "change", "image")
CHOOSE_IMAGE = name("wagtailimages", "choose", "image")
ADD_TRAINING_SESSION = name("cms", "add", "trainingsession")
CHANGE_TRAINING_SESSION = name("cms", "change", "trainingsession")
VIEW_TRAINING_SESSION = name("cms", "view", "trainingsession")
DELETE_TRAINING_SESSION = name("cms", "delete", "trainingsession")
ADD_ISSUER = name("cms", "add", "issuer")
CHANGE_ISSUER = name("cms", "change", "issuer")
VIEW_ISSUER = name("cms", "view", "issuer")
ADD_POLICY_TOPIC = name("cms", "add", "policytopic")
CHANGE_POLICY_TOPIC = name("cms", "change", "policytopic")
VIEW_POLICY_TOPIC = name("cms", "view", "policytopic")
# Page permissions are granted on a page and its subtree (Wagtail's GroupPagePermission).
ADD_PAGE = name("wagtailcore", "add", "page")
CHANGE_PAGE = name("wagtailcore", "change", "page")
PUBLISH_PAGE = name("wagtailcore", "publish", "page")
LOCK_PAGE = name("wagtailcore", "lock", "page")
UNLOCK_PAGE = name("wagtailcore", "unlock", "page")
ADD_USER = name("auth", "add", "user")
CHANGE_USER = name("auth", "change", "user")

# --- jobs ---------------------------------------------------------------------------------------
VIEW_ALL_JOBS = name("jobs", "view_all", "jobs")  # 我的任务: every job of the jurisdiction
