"""The four roles, each a Wagtail group with the permissions it needs and no more.

Kept in sync after every migrate (`archive.apps`), so adding a permission here and migrating
is all it takes. Jurisdiction is separate: it comes from the user's division
(`archive.access`), not from the group.
"""

from __future__ import annotations

from archive.access import permissions as perms

ARCHIVIST = "档案管理员"
INSPECTOR = "检查员"
EDITOR = "编辑"
ADMINISTRATOR = "管理员"

#: What someone who reviews cases needs: read the records and the rules.
_READ_RECORDS: tuple[str, ...] = (
    perms.ACCESS_ADMIN,
    perms.VIEW_PERSON,
    perms.VIEW_ENROLMENT,
    perms.VIEW_IMPORT,
    perms.VIEW_RULE_SETS,
    perms.VIEW_CASE_FILE,
    perms.VIEW_DOCUMENT,
    perms.VIEW_RUN,
    perms.VIEW_ROSTER_UPLOAD,
    perms.VIEW_FINDING,
    perms.EXPORT_FINDING,
)
#: What someone who keeps the case files needs on top: enter people, import, change enrolments.
_KEEP_RECORDS: tuple[str, ...] = (
    *_READ_RECORDS,
    perms.ADD_PERSON,
    perms.CHANGE_PERSON,
    perms.CHANGE_ENROLMENT,
    perms.IMPORT_ROSTER,
    perms.EXPORT_CASE_FILE,
    perms.ADD_DOCUMENT,
    perms.CHANGE_DOCUMENT,
    perms.ADD_ROSTER_UPLOAD,
    perms.ADD_RUN,
    perms.VERIFY,
    perms.NOTIFY,
    perms.REVIEW_OCR,
    perms.VIEW_OCR_ACCURACY,
)

#: Spot checks (抽查, `inspection`): draw, assign, record results, export the report.
_SPOT_CHECKS: tuple[str, ...] = (
    perms.VIEW_SPOT_CHECK,
    perms.ADD_SPOT_CHECK,
    perms.EXPORT_SPOT_CHECK,
    perms.ASSIGN_SPOT_CHECK,
    perms.VIEW_SPOT_CHECK_ITEM,
    perms.RECORD_SPOT_CHECK_ITEM,
)
#: The annual review (年度集中复核): see campaigns and record outcomes; a 停发 / 暂停 outcome
#: also needs archive.change_enrolment (`inspection.review`).
_ANNUAL_REVIEW: tuple[str, ...] = (
    perms.VIEW_CAMPAIGN,
    perms.VIEW_REVIEW_TASK,
    perms.RECORD_REVIEW_TASK,
)
_RUN_ANNUAL_REVIEW: tuple[str, ...] = (*_ANNUAL_REVIEW, perms.ADD_CAMPAIGN)

#: The inspector's search (检索, `search`): the search page and `find --user`.
_SEARCH: tuple[str, ...] = (perms.SEARCH_RECORDS,)

#: Wagtail's own migrations create the groups Moderators and Editors (and a "Moderators
#: approval" workflow, a "Root" page, a "Welcome" page and a "Root" collection). The roles above
#: replace the groups: an unused one is removed, one somebody belongs to is renamed, so no English
#: name is shown. The Welcome page is renamed, and so is its title in the page history (the log
#: entries keep a copy of it), so even once deleted it reads in Chinese on 网站历史.
WAGTAIL_DEFAULT_GROUPS = {"Moderators": "网站审核（原默认组）", "Editors": "网站编辑（原默认组）"}
WAGTAIL_DEFAULT_WORKFLOW = "Moderators approval"
DEFAULT_WORKFLOW_NAME = "默认审核"
ROOT_PAGE_TITLE = "根目录"
WAGTAIL_WELCOME_TITLE = "Welcome to your new Wagtail site!"
WELCOME_PAGE_TITLE = "默认欢迎页"
ROOT_COLLECTION_NAME = "全部文件"

#: role → permission names (`archive.access.permissions`)
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    ARCHIVIST: (*_KEEP_RECORDS, *_RUN_ANNUAL_REVIEW, *_SEARCH),
    INSPECTOR: (*_READ_RECORDS, *_SPOT_CHECKS, *_ANNUAL_REVIEW, *_SEARCH),
    EDITOR: (
        perms.ACCESS_ADMIN,
        perms.ADD_WAGTAIL_DOCUMENT,
        perms.CHANGE_WAGTAIL_DOCUMENT,
        perms.ADD_IMAGE,
        perms.CHANGE_IMAGE,
        perms.ADD_TRAINING_SESSION,
        perms.CHANGE_TRAINING_SESSION,
        perms.VIEW_TRAINING_SESSION,
        perms.ADD_ISSUER,
        perms.CHANGE_ISSUER,
        perms.VIEW_ISSUER,
        perms.ADD_POLICY_TOPIC,
        perms.CHANGE_POLICY_TOPIC,
        perms.VIEW_POLICY_TOPIC,
    ),
    ADMINISTRATOR: (
        *_KEEP_RECORDS,
        *_SPOT_CHECKS,
        *_RUN_ANNUAL_REVIEW,
        *_SEARCH,
        perms.ADD_RULE_SET,
        perms.VIEW_AUDIT_LOG,
        perms.SOFT_DELETE_DOCUMENT,
        perms.VIEW_APPRAISAL,
        perms.VIEW_INTEGRITY,
        perms.VIEW_CHECKLIST,
        perms.ADD_CHECKLIST,
        perms.REVERSE_VERIFICATION,
        perms.ADD_USER,
        perms.CHANGE_USER,
        perms.VIEW_ALL_JOBS,  # 我的任务: every job of the jurisdiction
    ),
}


#: How far each role reaches (user management, `archive.user_views`): an administrator may
#: grant a role, and change a user, only at or below their own rank. A group not listed here
#: (e.g. the CMS approvers 审核发布) is granted by system administrators (superusers) only.
ROLE_RANK: dict[str, int] = {ARCHIVIST: 1, INSPECTOR: 1, EDITOR: 1, ADMINISTRATOR: 2}
SUPERUSER_RANK = 99


def rank_of(user) -> int:
    """The highest rank among the user's roles; superusers outrank every role."""
    if user.is_superuser:
        return SUPERUSER_RANK
    names = user.groups.values_list("name", flat=True)
    return max((ROLE_RANK.get(name, 0) for name in names), default=0)


def grantable_roles(user) -> list[str]:
    """The role names this user may hand to others (at or below their own rank)."""
    rank = rank_of(user)
    return [role for role, role_rank in ROLE_RANK.items() if role_rank <= rank]


def sync_roles(**kwargs) -> None:
    """Creates the role groups and gives each exactly its permissions (post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [
            Permission.objects.filter(content_type__app_label=app, codename=codename).first()
            for app, codename in map(perms.split, names)
        ]
        group.permissions.set([p for p in wanted if p is not None])
    retire_wagtail_defaults()


def retire_wagtail_defaults() -> None:
    """Removes or renames the English names Wagtail's migrations leave (see above)."""
    from django.contrib.auth.models import Group
    from wagtail.models import Collection, Page, PageLogEntry, Task, Workflow

    for name, chinese in WAGTAIL_DEFAULT_GROUPS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        if group.user_set.exists():
            group.name = chinese
            group.save(update_fields=["name"])
        else:
            group.delete()
    Workflow.objects.filter(name=WAGTAIL_DEFAULT_WORKFLOW).update(name=DEFAULT_WORKFLOW_NAME)
    Task.objects.filter(name=WAGTAIL_DEFAULT_WORKFLOW).update(name=DEFAULT_WORKFLOW_NAME)
    Page.objects.filter(depth=1, title="Root").update(
        title=ROOT_PAGE_TITLE, draft_title=ROOT_PAGE_TITLE
    )
    Page.objects.filter(depth=2, title=WAGTAIL_WELCOME_TITLE).update(
        title=WELCOME_PAGE_TITLE, draft_title=WELCOME_PAGE_TITLE
    )
    PageLogEntry.objects.filter(label=WAGTAIL_WELCOME_TITLE).update(label=WELCOME_PAGE_TITLE)
    Collection.objects.filter(depth=1, name="Root").update(name=ROOT_COLLECTION_NAME)
