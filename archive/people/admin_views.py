"""Admin pages for people and their enrolments, and the audit log.

Every queryset goes through `archive.access.scope`; every full record shown and every change
made is written to the audit log. Enrolments change only through the actions of
`archive.people.enrolments` — there is no form that edits their fields.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from archive import access
from archive.access import permissions as perms
from archive.access.audit import record
from archive.forms import ANY_FLAG, EnrolmentActionForm, PersonFilterForm
from archive.models import (
    AuditLog,
    Certificate,
    DataFlag,
    Division,
    Enrolment,
    EnrolmentChange,
    Person,
)
from archive.paging import PAGE_SIZE, paginate, query_without_page
from archive.people import enrolments
from archive.people.person_views import CertificateChangeForm, FamilyChangeForm
from core.divisions import township_of
from core.numbers import normalize_id

#: The audit actions shown as a person's change history (登记、修改、证件与家庭类别变更).
PERSON_CHANGES = ("person_create", "person_change", "certificate_change", "family_status_change")


def _filtered_people(request: HttpRequest, form: PersonFilterForm):
    people = access.scope(Person.objects.all(), request.user, "county")
    if not form.is_valid():
        return people
    data = form.cleaned_data
    if data["q"]:
        q = data["q"].strip()
        people = people.filter(Q(name__contains=q) | Q(id_number=normalize_id(q)))
    if data.get("county"):
        people = people.filter(county=data["county"])
    if data.get("township"):
        people = people.filter(hukou_code__startswith=data["township"].code)
    enrolment_filter = {
        k: v
        for k, v in (
            ("enrolments__subsidy", data["subsidy"]),
            ("enrolments__status", data["status"]),
        )
        if v
    }
    if enrolment_filter:
        people = people.filter(**enrolment_filter)
    cert_filter = {
        k: v
        for k, v in (
            ("certificates__category", data["category"]),
            ("certificates__grade", data["grade"]),
        )
        if v is not None
    }
    if cert_filter:
        people = people.filter(certificates__is_current=True, **cert_filter)
    if data["flag"]:
        flags = DataFlag.objects.open()
        if data["flag"] != ANY_FLAG:
            flags = flags.filter(code=data["flag"])
        people = people.filter(pk__in=flags.values("person_id"))
    return people.distinct()


@permission_required(perms.VIEW_PERSON, raise_exception=True)
def person_list(request: HttpRequest) -> TemplateResponse:
    form = PersonFilterForm(request.GET or None, user=request.user)
    people = (
        _filtered_people(request, form)
        .select_related("county")
        .prefetch_related(
            Prefetch("certificates", queryset=Certificate.objects.filter(is_current=True)),
            "enrolments",
            Prefetch("flags", queryset=DataFlag.objects.open(), to_attr="open_flags"),
        )
        .order_by("county", "name", "id")
    )
    page = paginate(request, people, PAGE_SIZE)
    page.object_list = list(page.object_list)
    names = Division.objects.names(township_of(p.hukou_code) for p in page.object_list)
    for person in page.object_list:
        person.township_name = names.get(township_of(person.hukou_code), "")
    return TemplateResponse(
        request,
        "archive/person_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "total": page.paginator.count,
            "can_add": request.user.has_perm(perms.ADD_PERSON),
        },
    )


@permission_required(perms.VIEW_PERSON, raise_exception=True)
def person_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    person = access.get_scoped_or_404(
        Person.objects.select_related("county").prefetch_related(
            "certificates",
            "family_statuses",
            Prefetch(
                "enrolments",
                queryset=Enrolment.objects.select_related("county").prefetch_related(
                    Prefetch(
                        "changes", queryset=EnrolmentChange.objects.select_related("changed_by")
                    )
                ),
            ),
        ),
        request.user,
        "county",
        request,
        pk=pk,
    )
    record(
        request,
        "view",
        obj_type="archive.Person",
        obj_id=str(person.pk),
        detail=f"查看档案 {person.masked_id}",
    )
    return TemplateResponse(
        request,
        "archive/person_detail.html",
        {
            "person": person,
            "flags": person.flags.select_related(
                "enrolment__county", "raised_by", "cleared_by"
            ).order_by("cleared_at", "-raised_at", "id"),
            "correct_url": _correct_url(request),
            "action_form": EnrolmentActionForm(),
            "can_change": request.user.has_perm(perms.CHANGE_ENROLMENT),
            "can_edit_person": request.user.has_perm(perms.CHANGE_PERSON),
            "certificate_form": CertificateChangeForm(),
            "family_form": FamilyChangeForm(),
            "history": AuditLog.objects.filter(
                object_type="archive.Person", object_id=str(person.pk), action__in=PERSON_CHANGES
            ).order_by("-at"),
        },
    )


def _correct_url(request: HttpRequest) -> str | None:
    """Where a flagged record is put right. The archive has no edit page for a person's
    facts: they come from the roster, so the clerk corrects the roster and imports it again."""
    if request.user.has_perm(perms.IMPORT_ROSTER):
        return reverse("archive_import:upload")
    return None


ACTIONS = {"stop": enrolments.stop, "suspend": enrolments.suspend, "resume": enrolments.resume}


@require_POST
@permission_required(perms.CHANGE_ENROLMENT, raise_exception=True)
def enrolment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    enrolment = access.get_scoped_or_404(
        Enrolment.objects.select_related("person"), request.user, "county", request, pk=pk
    )
    form = EnrolmentActionForm(request.POST)
    if action not in ACTIONS or not form.is_valid():
        messages.error(request, "操作未完成：请填写正确的生效年月。")
        return redirect("archive_person_detail", pk=enrolment.person_id)
    data = form.cleaned_data
    kwargs = {"month": data["month"], "user": request.user, "note": data["note"]}
    if action != "resume":
        kwargs["reason"] = data["reason"]
    try:
        ACTIONS[action](enrolment, **kwargs)
    except enrolments.TransitionError as error:
        messages.error(request, f"操作未完成：{error}")
    else:
        record(
            request,
            f"enrolment_{action}",
            obj_type="archive.Enrolment",
            obj_id=str(enrolment.pk),
            detail=f"{enrolment.get_subsidy_display()} {data['month']:%Y-%m} {data['reason']} {data['note']}",
        )
        messages.success(request, "已保存，变更已记入历史。")
    return redirect("archive_person_detail", pk=enrolment.person_id)


@permission_required(perms.VIEW_AUDIT_LOG, raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    """The log of the administrator's jurisdiction: what its users did (a system
    administrator sees all, including refused logins by no known user)."""
    entries = access.scope(AuditLog.objects.all(), request.user, "user__subsidy_profile__division")
    q = request.GET.get("q", "").strip()
    if q:
        entries = entries.filter(
            Q(username__icontains=q)
            | Q(action__icontains=q)
            | Q(object_id=q)
            | Q(detail__icontains=q)
        )
    if request.GET.get("format") == "csv":
        record(request, "export", obj_type="archive.AuditLog", detail=f"导出审计日志 q={q}")
        return _csv_response(entries)
    page = paginate(request, entries, 100)
    return TemplateResponse(request, "archive/audit_log.html", {"page": page, "q": q})


def _csv_response(entries) -> StreamingHttpResponse:
    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    header = ["时间", "用户", "操作", "对象类型", "对象", "详情", "IP 地址"]
    rows = (
        [
            e.at.isoformat(),
            e.username,
            e.action_label,
            e.object_label,
            e.object_id,
            e.detail,
            e.ip or "",
        ]
        for e in entries.iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(
        ("\ufeff" if i == 0 else "") + writer.writerow(row) for i, row in enumerate([header, *rows])
    )
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
