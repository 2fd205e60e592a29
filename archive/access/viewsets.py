"""The Wagtail viewset of user management (用户管理), including which division each user works
for (用户所属区划, a field of the user form).

User management is scoped like records (`archive.access.manageable_users`): an administrator
sees and changes only users of their own jurisdiction, grants only roles at or below their own
(`archive.access.roles.ROLE_RANK`), never the superuser flag, and cannot touch a user above them — not
even to reset a password. Every user, role, division and password change is written to the
audit log with what changed. Wagtail's own user views are replaced through the users app
config (`archive.apps.UsersConfig.user_viewset`).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.models import Group
from django.http import Http404
from django.shortcuts import redirect
from django.utils.functional import cached_property
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.usage import UsageView
from wagtail.users.forms import UserCreationForm, UserEditForm
from wagtail.users.views import users as wagtail_users

from archive import access
from archive.access.audit import record
from archive.access.roles import grantable_roles
from archive.models import UserProfile

NOT_YOURS = "记录不存在或不在您的辖区内。"


def user_facts(user) -> dict[str, str]:
    """What an audit entry of a user change compares: roles, division, flags."""
    profile = UserProfile.objects.filter(user=user).first()
    return {
        "角色": "、".join(sorted(user.groups.values_list("name", flat=True))) or "无",
        "所属区划": profile.division_id if profile else "无",
        "状态": "启用" if user.is_active else "停用",
        "超级管理员": "是" if user.is_superuser else "否",
    }


def describe_change(before: dict[str, str], after: dict[str, str]) -> str:
    return "；".join(
        f"{key}：{before.get(key, '无')}→{value}"
        for key, value in after.items()
        if before.get(key) != value
    )


def audit_user_change(request, user, before: dict[str, str], *, password_set: bool) -> None:
    """One audit entry per saved user: created, or what changed (and a password reset)."""
    after = user_facts(user)
    if not before:
        action, detail = "user_create", describe_change({}, after)
    else:
        action, detail = "user_change", describe_change(before, after) or "无字段变化"
    record(request, action, obj_type="auth.User", obj_id=str(user.pk), detail=detail)
    if password_set and before:
        record(
            request,
            "password_reset",
            obj_type="auth.User",
            obj_id=str(user.pk),
            detail=f"重置用户 {user.get_username()} 的密码",
        )


class ScopedUserFormMixin:
    """The user form an administrator fills in: a division inside their jurisdiction (required
    unless they are a superuser), only the roles they may grant, and the superuser flag shown
    but never editable by anyone but a superuser."""

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.for_user = for_user
        instance = kwargs.get("instance")
        profile = UserProfile.objects.filter(user=instance).first() if instance else None
        self.fields["division"] = forms.ModelChoiceField(
            label="所属区划",
            queryset=access.assignable_divisions(for_user),
            required=not for_user.is_superuser,
            initial=profile.division_id if profile else None,
            help_text="用户只能查看和处理本区划内的档案。",
        )
        if not for_user.is_superuser:
            self.fields["groups"].queryset = Group.objects.filter(
                name__in=grantable_roles(for_user)
            )
            if "is_superuser" in self.fields:
                self.fields["is_superuser"].disabled = True

    def save(self, commit=True):
        user = super().save(commit=commit)
        division = self.cleaned_data.get("division")
        if commit and division is not None:
            UserProfile.objects.update_or_create(user=user, defaults={"division": division})
        elif commit:
            UserProfile.objects.filter(user=user).delete()
        return user


class ScopedUserCreationForm(ScopedUserFormMixin, UserCreationForm):
    pass


class ScopedUserEditForm(ScopedUserFormMixin, UserEditForm):
    pass


class ManageableUsersMixin:
    """Only users the acting administrator may manage exist for them (else 404, audited)."""

    def get_object(self, queryset=None):
        pk = self.kwargs.get(self.pk_url_kwarg) or (self.args[0] if self.args else "")
        try:
            return access.manageable_users(self.request.user).get(pk=pk)
        except (self.model.DoesNotExist, ValueError):
            record(
                self.request,
                "denied",
                obj_type="auth.User",
                obj_id=str(pk),
                detail="用户不在本辖区或级别高于本人",
            )
            raise Http404(NOT_YOURS) from None


class FormForUserMixin:
    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "for_user": self.request.user}


class UserIndexView(wagtail_users.IndexView):
    def get_base_queryset(self):
        users = super().get_base_queryset().select_related("subsidy_profile__division")
        return access.manageable_users(self.request.user, users)

    @cached_property
    def columns(self):
        division = Column(
            "division",
            label="所属区划",
            accessor=lambda u: getattr(getattr(u, "subsidy_profile", None), "division", "—"),
        )
        return [*super().columns, division]


class UserCreateView(FormForUserMixin, wagtail_users.CreateView):
    template_name = "archive/users/create.html"

    def save_instance(self):
        user = super().save_instance()
        audit_user_change(self.request, user, {}, password_set=True)
        return user


class UserEditView(ManageableUsersMixin, FormForUserMixin, wagtail_users.EditView):
    template_name = "archive/users/edit.html"

    def save_instance(self):
        before = user_facts(self.object)
        user = super().save_instance()
        password_set = bool(self.form.cleaned_data.get("password1"))
        audit_user_change(self.request, user, before, password_set=password_set)
        return user


class UserDeleteView(ManageableUsersMixin, wagtail_users.DeleteView):
    def delete_action(self):
        record(
            self.request,
            "user_delete",
            obj_type="auth.User",
            obj_id=str(self.object.pk),
            detail=f"删除用户 {self.object.get_username()}（{describe_change({}, user_facts(self.object))}）",
        )
        super().delete_action()


class UserHistoryView(ManageableUsersMixin, wagtail_users.HistoryView):
    pass


class UserUsageView(ManageableUsersMixin, UsageView):
    pass


class UserViewSet(wagtail_users.UserViewSet):
    """Wagtail's user management, scoped to the administrator's jurisdiction and rank."""

    index_view_class = UserIndexView
    add_view_class = UserCreateView
    edit_view_class = UserEditView
    delete_view_class = UserDeleteView
    history_view_class = UserHistoryView
    usage_view_class = UserUsageView
    copy_view_enabled = False  # a copy would prefill another user's roles and e-mail

    def get_form_class(self, for_update=False):
        return ScopedUserEditForm if for_update else ScopedUserCreationForm


def refuse_bulk_actions_on_users_out_of_reach(request, action_type, objects, action):
    """The bulk actions of the user list (assign a role, activate, delete) obey the same
    rules as the forms: every selected user manageable, every role grantable. Allowed ones
    are audited one entry per user."""
    if action.model is not wagtail_users.User:
        return None
    allowed = set(
        access.manageable_users(request.user)
        .filter(pk__in=[u.pk for u in objects])
        .values_list("pk", flat=True)
    )
    role = (action.cleaned_form.cleaned_data or {}).get("role") if action.cleaned_form else None
    refused = len(allowed) != len(objects) or (
        role is not None
        and not request.user.is_superuser
        and role.name not in grantable_roles(request.user)
    )
    if refused:
        record(
            request,
            "denied",
            obj_type="auth.User",
            obj_id=",".join(str(u.pk) for u in objects)[:64],
            detail=f"批量操作 {action_type} 超出本人权限",
        )
        # A response, not an exception: the refusal's audit entry must survive the rollback.
        messages.error(request, "操作未执行：所选用户或角色超出您的管理权限。")
        return redirect("wagtailusers_users:index")
    detail = f"批量操作：{action.display_name}" + (f"（{role.name}）" if role else "")
    for user in objects:
        record(request, "user_change", obj_type="auth.User", obj_id=str(user.pk), detail=detail)
    return None
