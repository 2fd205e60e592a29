"""Wagtail viewsets: which division each user works for (用户所属区划).

Administrators see and assign only divisions inside their own jurisdiction, so a county
administrator can neither see a city's users nor hand anyone a city's view.
"""

from __future__ import annotations

from django.http import Http404
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from archive import access
from archive.models import Division, UserProfile


class UserProfileForm(WagtailAdminModelForm):
    class Meta:
        model = UserProfile
        fields = ["user", "division"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prefix = access.user_prefix(self.for_user) if self.for_user else None
        divisions = Division.objects.filter(successor__isnull=True)
        self.fields["division"].queryset = (
            divisions.none() if prefix is None else divisions.filter(code__startswith=prefix)
        )


class ScopedObjectMixin:
    """Edit and delete only profiles inside the acting user's jurisdiction (else 404)."""

    def get_object(self, queryset=None):
        profile = super().get_object(queryset)
        if not access.covers(self.request.user, profile.division_id):
            raise Http404("记录不存在或不在您的辖区内。")
        return profile


class UserProfileIndexView(generic.IndexView):
    def get_base_queryset(self):
        return access.scope(
            super().get_base_queryset().select_related("user", "division"),
            self.request.user,
            "division",
        )


class UserProfileEditView(ScopedObjectMixin, generic.EditView):
    pass


class UserProfileDeleteView(ScopedObjectMixin, generic.DeleteView):
    pass


class UserProfileViewSet(ModelViewSet):
    model = UserProfile
    form_fields = ["user", "division"]
    icon = "group"
    menu_label = "用户所属区划"
    add_to_admin_menu = True
    menu_order = 850
    list_display = ["user", "division"]
    copy_view_enabled = False
    index_view_class = UserProfileIndexView
    edit_view_class = UserProfileEditView
    delete_view_class = UserProfileDeleteView

    def get_form_class(self, for_update=False):
        return UserProfileForm
