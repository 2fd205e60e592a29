"""Entering and changing a person in the admin (登记、修改), with the roster import's rules.

Every input goes through `archive.imports.validate_rows` as a one-row roster, so a form accepts
exactly what a roster accepts (ID check characters, certificate numbers, division within the
user's jurisdiction via `archive.access.covers`). A new person is then written by the import's
own writer (`apply_validation`: enrolments, case files, flags, search outbox); a change of
contact facts updates the person in place; a certificate or family-status change is an explicit
action with an effective date that closes the current row and opens a new one, the history the
models keep. Each change is audited with what changed, and the person's case files are
refreshed so completeness and the search index follow eligibility.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from archive import access, casefiles
from archive.access.audit import record
from archive.imports import (
    RowError,
    Validation,
    ValidRow,
    apply_validation,
    load_counties,
    validate_rows,
)
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
from archive.models import Certificate, Enrolment, FamilyStatus, Person
from archive.rulesets import rule_set_on
from core.cells import LONG_TERM

#: The source an entry made on the form is recorded under (导入记录 shows it as the file name).
FORM_SOURCE = "在线登记"
#: The explicit certificate changes (残疾人证变更).
CERT_REGRADE, CERT_RENEW, CERT_CANCEL = "regrade", "renew", "cancel"
CERT_CHANGES = {
    CERT_REGRADE: "换证（新等级或新证号）",
    CERT_RENEW: "延续有效期",
    CERT_CANCEL: "注销",
}
#: Contact facts a plain edit may change; everything else is an explicit action.
CONTACT_FIELDS = {
    NAME: "name",
    HUKOU: "hukou_code",
    ADDRESS: "hukou_address",
    PHONE: "phone",
    GUARDIAN: "guardian",
}


class PersonError(ValueError):
    """Input refused, with the messages to show (one per rejected cell)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("；".join(messages))
        self.messages = messages


def validate(values: dict[str, str], user, today: date) -> Validation:
    """One row through the roster's validation, on behalf of `user` (their jurisdiction);
    raises `PersonError` with every rejected cell."""
    columns = {header: header for header in values}
    validation = validate_rows(
        [(1, values)],
        columns,
        counties=load_counties(),
        covers=lambda county: access.covers(user, county),
        today=today,
        rules=rule_set_on(today),
    )
    if validation.errors:
        raise PersonError([_message(e) for e in validation.errors])
    return validation


def check_row(values: dict[str, str], user, today: date) -> ValidRow:
    return validate(values, user, today).rows[0]


def _message(error: RowError) -> str:
    return f"{error.column}：{error.message}" if error.column else error.message


def create_person(
    values: dict[str, str], *, user, request: HttpRequest | None, today: date
) -> Person:
    """Registers a new person (and their enrolments) exactly as a one-row roster would."""
    validation = validate(values, user, today)
    id_number = validation.rows[0].id_number
    if Person.objects.filter(id_number=id_number).exists():
        raise PersonError([f"{ID}：该身份号码已登记，请在其档案中修改"])
    digest = hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()
    with transaction.atomic():
        apply_validation(
            validation, filename=FORM_SOURCE, sha256=digest, user=user, request=request, today=today
        )
        person = Person.objects.get(id_number=id_number)
        record(
            request, "person_create", obj_type="archive.Person", obj_id=str(person.pk),
            detail=f"登记 {person.name}（{person.masked_id}）", user=user,
        )  # fmt: skip
    return person


def current_row(person: Person) -> dict[str, str]:
    """The person's stored facts as roster cells: the base a change is validated against."""
    status = person.current_family_status
    enrolled = {
        e.subsidy
        for e in Enrolment.objects.filter(person=person).exclude(status=Enrolment.Status.STOPPED)
    }
    row = {
        NAME: person.name, ID: person.id_number, HUKOU: person.hukou_code,
        ADDRESS: person.hukou_address, PHONE: person.phone, GUARDIAN: person.guardian,
        FAMILY: status.family_type if status else FamilyStatus.FamilyType.ORDINARY,
        LIVING: "是" if "living" in enrolled else "否",
        NURSING: "是" if "nursing" in enrolled else "否",
    }  # fmt: skip
    certificate = person.current_certificate
    if certificate is not None:
        row[CERT] = certificate.number
        row[CATEGORY] = str(certificate.category)
        row[GRADE] = str(certificate.grade)
        row[EXPIRY] = "长期" if certificate.long_term else _iso(certificate.expiry_date)
    return row


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _sync(person: Person) -> None:
    """Completeness of every case file of the person follows the changed facts (the search
    outbox follows through the post_save signals of the rows saved)."""
    for case_file in person.case_files.all():
        casefiles.refresh(case_file)


def edit_contact(
    person: Person, changes: dict[str, str], *, user, request, today: date
) -> list[str]:
    """Changes name, 户籍区划代码, address, phone and guardian; returns what changed."""
    before = current_row(person)
    row = check_row({**before, **changes}, user, today)
    after = {
        NAME: row.name,
        HUKOU: row.hukou_code,
        ADDRESS: row.hukou_address,
        PHONE: row.phone,
        GUARDIAN: row.guardian,
    }
    changed = [
        f"{h}：{before[h] or '无'}→{after[h] or '无'}" for h in after if before[h] != after[h]
    ]
    if not changed:
        return []
    with transaction.atomic():
        for header, value in after.items():
            setattr(person, CONTACT_FIELDS[header], value)
        person.county_id = row.county
        person.save()
        record(
            request,
            "person_change",
            obj_type="archive.Person",
            obj_id=str(person.pk),
            detail="；".join(changed),
            user=user,
        )
        _sync(person)
    return changed


def _effective(effective: date, today: date, since: date | None, what: str) -> datetime:
    if effective > today:
        raise PersonError([f"生效日期不能晚于今天（{today:%Y-%m-%d}）"])
    if since is not None and effective < since:
        raise PersonError([f"生效日期不能早于{what}（{since:%Y-%m-%d}）"])
    return timezone.make_aware(datetime.combine(effective, time.min))


def change_certificate(
    person: Person, kind: str, effective: date, *, user, request, today: date,
    number: str = "", category: str = "", grade: str = "", expiry: str = "",
) -> Certificate:  # fmt: skip
    """换证 / 延续 / 注销 from `effective`: the current certificate is closed, a new row opened."""
    if kind not in CERT_CHANGES:
        raise PersonError(["请选择变更类型"])
    current = person.current_certificate
    if current is None and kind != CERT_REGRADE:
        raise PersonError(["未登记现行残疾人证，只能登记新证"])
    if (
        current is not None
        and current.status == Certificate.Status.CANCELLED
        and kind != CERT_REGRADE
    ):
        raise PersonError(["残疾人证已注销，只能登记新证"])
    at = _effective(effective, today, current.issue_date if current else None, "现行证件的发证日期")
    base = current_row(person)
    if kind == CERT_REGRADE:
        base.update({CERT: number, CATEGORY: category, GRADE: grade, EXPIRY: expiry})
    elif kind == CERT_RENEW:
        base[EXPIRY] = expiry
        if not expiry:
            raise PersonError([f"{EXPIRY}：延续有效期须填写新的有效期（日期或长期）"])
    row = check_row(base, user, today)
    assert row.certificate is not None
    new = Certificate(
        person=person, number=row.certificate.value, stem=row.certificate.stem,
        category=row.category, grade=row.grade,
        issue_date=effective if kind == CERT_REGRADE else current.issue_date,
        expiry_date=None if row.expiry in (None, LONG_TERM) else row.expiry,
        long_term=row.expiry is LONG_TERM,
        status=Certificate.Status.CANCELLED if kind == CERT_CANCEL else Certificate.Status.NORMAL,
    )  # fmt: skip
    if current is not None and current.same_facts(new):
        raise PersonError(["与现行残疾人证相同，无需变更"])
    with transaction.atomic():
        if current is not None:
            current.is_current = False
            current.superseded_at = at
            current.save()
        new.save()
        record(
            request, "certificate_change", obj_type="archive.Person", obj_id=str(person.pk),
            detail=f"{CERT_CHANGES[kind]}，{effective:%Y-%m-%d}起：{new}", user=user,
        )  # fmt: skip
        _sync(person)
    return new


def change_family_status(
    person: Person, family_type: str, effective: date, *, user, request, today: date
) -> FamilyStatus:
    """Enter or leave 低保 / 低保边缘 (or any 家庭类别) from `effective`."""
    current = person.current_family_status
    at = _effective(
        effective, today, current.start_date if current else None, "现行家庭类别的开始日期"
    )
    row = check_row({**current_row(person), FAMILY: family_type}, user, today)
    if current is not None and current.family_type == row.family_type:
        raise PersonError([f"家庭类别已是「{row.family_type}」，无需变更"])
    with transaction.atomic():
        if current is not None:
            current.end_date = at.date()
            current.save()
        status = FamilyStatus.objects.create(
            person=person, family_type=row.family_type, start_date=effective
        )
        was = current.family_type if current else "未登记"
        record(
            request, "family_status_change", obj_type="archive.Person", obj_id=str(person.pk),
            detail=f"家庭类别：{was}→{row.family_type}，{effective:%Y-%m-%d}起", user=user,
        )  # fmt: skip
        _sync(person)
    return status
