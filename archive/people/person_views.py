"""Admin pages that enter and change a person (登记、修改、证件与家庭类别变更).

Thin: the rules live in `archive.people.registration` (the roster import's validation). Only roles that may
change records (`archive.add_person` / `archive.change_person`, `archive.access.roles`) reach them; an
inspector sees the record but none of these forms.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from archive import access
from archive.access import permissions as perms
from archive.imports.headers import (
    ADDRESS,
    CATEGORY,
    CERT,
    EXPIRY,
    FAMILY,
    GRADE,
    GUARDIAN,
    HUKOU,
    ID,
    LIVING,
    NAME,
    NURSING,
    PHONE,
)
from archive.models import FamilyStatus, Person
from archive.people import registration
from archive.widgets import DateInput
from core import numbers

YES_NO = [("否", "否"), ("是", "是")]


class ContactForm(forms.Form):
    name = forms.CharField(label=NAME, max_length=64)
    hukou = forms.CharField(
        label=HUKOU, max_length=12, help_text="12位或9位、6位区划代码，须在您的辖区内。"
    )
    address = forms.CharField(label=ADDRESS, max_length=255, required=False)
    phone = forms.CharField(label=PHONE, max_length=32, required=False)
    guardian = forms.CharField(label="监护人或代理人", max_length=64, required=False)

    HEADERS = {
        "name": NAME,
        "hukou": HUKOU,
        "address": ADDRESS,
        "phone": PHONE,
        "guardian": GUARDIAN,
    }

    def cells(self) -> dict[str, str]:
        return {self.HEADERS[k]: v for k, v in self.cleaned_data.items() if k in self.HEADERS}


class NewPersonForm(ContactForm):
    id_number = forms.CharField(label=ID, max_length=18)
    family = forms.ChoiceField(label=FAMILY, choices=FamilyStatus.FamilyType.choices)
    cert = forms.CharField(label=CERT, max_length=24, required=False)
    category = forms.ChoiceField(
        label=CATEGORY, choices=[("", "—"), *sorted(numbers.CATEGORIES.items())], required=False
    )
    grade = forms.ChoiceField(
        label=GRADE, choices=[("", "—"), *sorted(numbers.GRADES.items())], required=False
    )
    expiry = forms.CharField(
        label=EXPIRY, required=False, help_text="日期（如2030-05-01）或“长期”。"
    )
    living = forms.ChoiceField(label=LIVING, choices=YES_NO)
    nursing = forms.ChoiceField(label=NURSING, choices=YES_NO)

    HEADERS = {
        **ContactForm.HEADERS, "id_number": ID, "family": FAMILY, "cert": CERT, "category": CATEGORY,
        "grade": GRADE, "expiry": EXPIRY, "living": LIVING, "nursing": NURSING,
    }  # fmt: skip
    field_order = [
        "name",
        "id_number",
        "hukou",
        "address",
        "phone",
        "guardian",
        "family",
        "cert",
        "category",
        "grade",
        "expiry",
        "living",
        "nursing",
    ]


class CertificateChangeForm(forms.Form):
    kind = forms.ChoiceField(label="变更类型", choices=list(registration.CERT_CHANGES.items()))
    effective = forms.DateField(label="生效日期", widget=DateInput())
    number = forms.CharField(label=CERT, max_length=24, required=False, help_text="换证时填写。")
    category = forms.ChoiceField(
        label=CATEGORY, choices=[("", "—"), *sorted(numbers.CATEGORIES.items())], required=False
    )
    grade = forms.ChoiceField(
        label=GRADE, choices=[("", "—"), *sorted(numbers.GRADES.items())], required=False
    )
    expiry = forms.CharField(
        label="有效期至", required=False, help_text="日期或“长期”；换证、延续时填写。"
    )


class FamilyChangeForm(forms.Form):
    family_type = forms.ChoiceField(label="新的家庭类别", choices=FamilyStatus.FamilyType.choices)
    effective = forms.DateField(label="生效日期", widget=DateInput())


def _person(request: HttpRequest, pk: int) -> Person:
    return access.get_scoped_or_404(
        Person.objects.select_related("county"), request.user, "county", request, pk=pk
    )


def _form_page(request, form, title: str, person=None) -> TemplateResponse:
    return TemplateResponse(
        request, "archive/person_form.html", {"form": form, "title": title, "person": person}
    )


@permission_required(perms.ADD_PERSON, raise_exception=True)
def person_new(request: HttpRequest) -> HttpResponse:
    form = NewPersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = registration.create_person(
                form.cells(), user=request.user, request=request, today=timezone.localdate()
            )
        except registration.PersonError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"已登记 {person.name}。")
            return redirect("archive_person_detail", pk=person.pk)
    return _form_page(request, form, "登记残疾人")


@permission_required(perms.CHANGE_PERSON, raise_exception=True)
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request, pk)
    initial = {
        "name": person.name,
        "hukou": person.hukou_code,
        "address": person.hukou_address,
        "phone": person.phone,
        "guardian": person.guardian,
    }
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = registration.edit_contact(
                person, form.cells(), user=request.user, request=request, today=timezone.localdate()
            )
        except registration.PersonError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "已保存：" + "；".join(changed) if changed else "没有修改。")
            return redirect("archive_person_detail", pk=person.pk)
    return _form_page(request, form, f"修改 {person.name} 的信息", person)


def _action(request: HttpRequest, pk: int, form_class, apply) -> HttpResponse:
    person = _person(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "操作未完成：请填写变更类型和生效日期。")
    else:
        try:
            apply(person, form.cleaned_data)
        except registration.PersonError as error:
            messages.error(request, "操作未完成：" + "；".join(error.messages))
        else:
            messages.success(request, "已保存，变更已记入历史。")
    return redirect("archive_person_detail", pk=person.pk)


@require_POST
@permission_required(perms.CHANGE_PERSON, raise_exception=True)
def certificate_change(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(person, data):
        registration.change_certificate(
            person, data["kind"], data["effective"], user=request.user, request=request,
            today=timezone.localdate(), number=data["number"], category=data["category"],
            grade=data["grade"], expiry=data["expiry"],
        )  # fmt: skip

    return _action(request, pk, CertificateChangeForm, apply)


@require_POST
@permission_required(perms.CHANGE_PERSON, raise_exception=True)
def family_change(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(person, data):
        registration.change_family_status(
            person, data["family_type"], data["effective"], user=request.user, request=request,
            today=timezone.localdate(),
        )  # fmt: skip

    return _action(request, pk, FamilyChangeForm, apply)


urlpatterns = [
    path("people/new/", person_new, name="archive_person_new"),
    path("people/<int:pk>/edit/", person_edit, name="archive_person_edit"),
    path("people/<int:pk>/certificate/", certificate_change, name="archive_certificate_change"),
    path("people/<int:pk>/family/", family_change, name="archive_family_change"),
]
