"""load_cms_demo builds the site tree idempotently; the groups and the 政策发布审核 workflow let
editors draft and submit and only approvers publish."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from archive.access import permissions as perms
from cms.demo import APPROVERS_GROUP, EDITORS_GROUP, TASK_NAME, WORKFLOW_NAME

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    from django.contrib.auth.models import Group
    from wagtail.documents import get_document_model
    from wagtail.models import (
        GroupCollectionPermission,
        GroupPagePermission,
        Page,
        PageLogEntry,
        Revision,
        Site,
        Task,
        Workflow,
        WorkflowPage,
        WorkflowTask,
    )

    from cms.models import Issuer, PolicyTopic, TrainingSession

    models = [
        Page,
        Revision,
        PageLogEntry,
        Site,
        get_document_model(),
        Group,
        GroupPagePermission,
        GroupCollectionPermission,
        Task,
        Workflow,
        WorkflowTask,
        WorkflowPage,
        Issuer,
        PolicyTopic,
        TrainingSession,
    ]
    counts = {m.__name__: m.objects.count() for m in models}
    counts["group permissions"] = sum(g.permissions.count() for g in Group.objects.all())
    return counts


def test_load_cms_demo_twice_changes_nothing_the_second_time():
    out = io.StringIO()
    call_command("load_cms_demo", stdout=out)
    assert "新建" in out.getvalue()
    before = _counts()
    out = io.StringIO()
    call_command("load_cms_demo", stdout=out)
    assert _counts() == before
    assert "未做改动" in out.getvalue()


def test_home_page_replaces_the_wagtail_welcome_page_as_site_root(cms_home):
    from wagtail.models import Page, Site

    site = Site.objects.get(is_default_site=True)
    assert site.root_page_id == cms_home.pk
    assert not Page.objects.filter(title__startswith="Welcome").exists()
    assert [p.slug for p in cms_home.get_children()] == ["policies", "notices", "training", "faq"]
    assert cms_home.url_path == "/home/"


def test_seed_documents_carry_the_metadata_and_forwarding_link(cms_home):
    import datetime as dt

    from cms.models import PolicyPage

    shanxi = PolicyPage.objects.get(doc_number="晋民发〔2023〕1号")
    changzhi = PolicyPage.objects.get(doc_number="长民发〔2023〕18号")
    assert shanxi.issuer_names == "山西省民政厅、山西省财政厅、山西省残疾人联合会"
    assert changzhi.issuer_names == "长治市民政局、长治市财政局、长治市残疾人联合会"
    assert shanxi.issued_date == dt.date(2023, 1, 11)
    assert shanxi.year == changzhi.year == 2023
    assert shanxi.disclosure == changzhi.disclosure == "active"
    assert shanxi.is_public and changzhi.is_public
    assert changzhi.forwards_id == shanxi.pk
    assert "晋民发〔2023〕1号" in changzhi.attachment_text  # the seed file is its attachment


def test_editor_can_draft_but_not_publish_and_approver_can_publish(cms_home, editor, approver):
    from cms.models import PolicyIndexPage

    index = PolicyIndexPage.objects.get()
    as_editor = index.permissions_for_user(editor)
    assert as_editor.can_add_subpage() and as_editor.can_edit()
    assert not as_editor.can_publish() and not as_editor.can_publish_subpage()
    as_approver = index.permissions_for_user(approver)
    assert as_approver.can_publish() and as_approver.can_publish_subpage()
    assert editor.has_perm(perms.ACCESS_ADMIN)


def test_editor_submission_goes_to_the_approval_workflow_and_approval_publishes(
    cms_home, editor, approver
):
    from wagtail.models import Workflow

    from cms.models import PolicyIndexPage, PolicyPage

    workflow = cms_home.get_workflow()
    assert workflow is not None and workflow.name == WORKFLOW_NAME
    [task] = [t.specific for t in workflow.tasks.all()]
    assert task.name == TASK_NAME
    assert [g.name for g in task.groups.all()] == [APPROVERS_GROUP]
    assert Workflow.objects.get(name=WORKFLOW_NAME).workflow_pages.get().page_id == cms_home.pk

    draft = PolicyPage(
        title="审核流程测试文件",
        slug="workflow-test",
        doc_number="晋民发〔2024〕11号",
        body="<p>审核流程测试正文。</p>",
        live=False,
    )
    PolicyIndexPage.objects.get().add_child(instance=draft)
    draft.save_revision(user=editor)
    state = draft.get_workflow().start(draft, editor)
    draft.refresh_from_db()
    assert not draft.live
    task_state = state.current_task_state.specific
    assert task.get_actions(draft, editor) == []  # the editor cannot approve their own draft
    assert "approve" in [name for name, *_ in task.get_actions(draft, approver)]
    task_state.approve(user=approver)
    draft.refresh_from_db()
    assert draft.live
    state.refresh_from_db()
    assert state.status == "approved"


def test_groups_exist_with_the_documented_names(cms_home):
    from django.contrib.auth.models import Group

    assert Group.objects.filter(name=EDITORS_GROUP).exists()
    assert Group.objects.filter(name=APPROVERS_GROUP).exists()
