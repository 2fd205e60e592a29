"""The apply layer's plan: what the database holds for the file's IDs and every change to it,
computed in Python before anything is written."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from django.db import connection
from django.db.models import F, Lookup, Q
from django.db.models.expressions import RawSQL

from archive import pgcopy
from archive.imports.headers import (
    ADDRESS,
    CERT,
    EXPIRY,
    GUARDIAN,
    LIVING,
    LIVING_AMOUNT,
    NURSING,
    NURSING_AMOUNT,
    PAYEE,
    PHONE,
    START,
)
from archive.imports.results import (
    RowFlag,
    Validation,
    ValidRow,
)
from archive.models import (
    Certificate,
    Enrolment,
    FamilyStatus,
    Person,
)
from core.cells import (
    LONG_TERM,
    Expiry,
)

#: IDs per ``__in`` query: large enough to keep the number of queries small, small enough to
#: stay far below PostgreSQL's 65 535 bind parameters and to keep each result set modest.
CHUNK = 5000

#: A roster saying 否 gives no reason; ``archive.people.enrolments.STOP_REASONS`` has 其他原因 for
#: that, and the change's note names the row and column.
_STOP_REASON = "OTHER"
T = TypeVar("T")

# The plan holds plain dicts, not model instances: building and saving 500 000 Django model
# instances costs more time than the whole import may take.  Instances are built only for the
# generic ``bulk_create``/``bulk_update`` path on databases other than PostgreSQL.

PersonKey = str  # 公民身份号码
EnrolmentKey = tuple[str, str, str]  # (公民身份号码, subsidy, county)

_PERSON_FIELDS = (
    "name", "sex", "birth_date", "hukou_code", "county_id", "hukou_address", "guardian", "phone",
)  # fmt: skip
_CERT_FIELDS = (
    "number", "stem", "category", "grade", "issue_date", "expiry_date", "long_term", "status",
)  # fmt: skip
_ENROLMENT_FIELDS = (
    "person_id", "subsidy", "county_id", "status", "monthly_amount", "payee", "start_month",
    "stop_month", "stop_reason",
)  # fmt: skip
_ACTIVE = Enrolment.Status.ACTIVE.value
_STOPPED = Enrolment.Status.STOPPED.value


@dataclass
class _Plan:
    """Everything an import will write, computed before anything is written."""

    new_people: list[dict[str, Any]] = field(default_factory=list)
    #: pk → the person's full field values after the change.
    changed_people: dict[int, dict[str, Any]] = field(default_factory=dict)
    person_fields: set[str] = field(default_factory=set)
    closed_certificates: list[int] = field(default_factory=list)
    new_certificates: list[tuple[PersonKey, dict[str, Any]]] = field(default_factory=list)
    closed_statuses: list[int] = field(default_factory=list)
    new_statuses: list[tuple[PersonKey, dict[str, Any]]] = field(default_factory=list)
    new_enrolments: list[tuple[EnrolmentKey, dict[str, Any]]] = field(default_factory=list)
    changed_enrolments: dict[int, dict[str, Any]] = field(default_factory=dict)
    enrolment_fields: set[str] = field(default_factory=set)
    #: (existing enrolment pk or key of a new one, EnrolmentChange field values)
    changes: list[tuple[int | EnrolmentKey, dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)
    #: 公民身份号码 → pk of the people already in the database.
    person_pks: dict[PersonKey, int] = field(default_factory=dict)
    #: Keys of the enrolments already in the database → pk.
    enrolment_pks: dict[EnrolmentKey, int] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return sum(
            len(x)
            for x in (
                self.new_people,
                self.changed_people,
                self.closed_certificates,
                self.new_certificates,
                self.closed_statuses,
                self.new_statuses,
                self.new_enrolments,
                self.changed_enrolments,
                self.changes,
            )
        )


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _expiry_fields(expiry: Expiry) -> tuple[date | None, bool]:
    if expiry is LONG_TERM:
        return None, True
    return (expiry if isinstance(expiry, date) else None), False


@dataclass
class _Existing:
    """What the database holds for the file's IDs, as plain values."""

    people: dict[PersonKey, dict[str, Any]] = field(default_factory=dict)
    certificates: dict[int, dict[str, Any]] = field(default_factory=dict)  # by person pk
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict)  # by person pk
    enrolments: dict[EnrolmentKey, dict[str, Any]] = field(default_factory=dict)


class _AnyOf(Lookup):
    """``column = ANY(%s)`` with the values as *one* array parameter (PostgreSQL).

    ``__in`` with 5 000 values builds a query with 5 000 placeholders that the driver and the
    server both have to parse; on a 100 000-row roster that alone took seconds.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [list(value)]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def _member_of(field_name: str, values: Sequence[Any]) -> Q | Lookup:
    """``field_name__in=values``, as ``= ANY(array)`` on PostgreSQL."""
    if connection.vendor == "postgresql":
        return _AnyOf(F(field_name), values)
    return Q(**{f"{field_name}__in": values})


def _one_of(values: Sequence[Any], kind: str) -> RawSQL:
    """``values`` as a one-column subquery (``kind`` ``bigint`` or ``text``) for ``__in``:
    one parameter however many they are (:func:`archive.pgcopy.rows_table`), and one join the
    planner can hash. Asked 5 000 IDs at a time with ``= ANY``, PostgreSQL scanned the whole
    person table for every 5 000 once it held 100 000 people, and the third part of a
    300 000-row first import spent 0.59 s finding none (docs/benchmarks.md)."""
    query, params = pgcopy.rows_table([(value,) for value in values], {"v": kind})
    return RawSQL(f"SELECT v FROM ({query}) AS one_of", params)  # noqa: S608, S611 (our names)


def _load(ids: Sequence[str]) -> _Existing:
    """Everything the plan compares against, in four queries."""
    existing = _Existing()
    for person in Person.objects.filter(id_number__in=_one_of(ids, "text")).values(
        "id", "id_number", *_PERSON_FIELDS
    ):
        existing.people[person["id_number"]] = person
    id_of = {p["id"]: key for key, p in existing.people.items()}
    if not id_of:
        return existing
    owned = Q(person_id__in=_one_of(list(id_of), "bigint"))
    for cert in Certificate.objects.filter(owned, is_current=True).values(
        "id", "person_id", *_CERT_FIELDS
    ):
        existing.certificates[cert["person_id"]] = cert
    for status in FamilyStatus.objects.filter(owned, end_date__isnull=True).values(
        "id", "person_id", "family_type"
    ):
        existing.statuses[status["person_id"]] = status
    for enrolment in Enrolment.objects.filter(owned).values("id", *_ENROLMENT_FIELDS):
        key = (id_of[enrolment["person_id"]], enrolment["subsidy"], enrolment["county_id"])
        existing.enrolments[key] = enrolment
    return existing


#: Rows planned and written at a time. A plan holds about 2 KB a row: a province's roster of
#: a million rows planned at once took 4.2 GB (docs/benchmarks.md, the roster import rows).
PLAN_ROWS = 100_000


def in_parts(validation: Validation, size: int | None = None) -> list[Validation]:
    """The validated rows in parts of about ``size`` people (:data:`PLAN_ROWS`) to plan and
    write one after another, each with the flags of its rows.

    Every row of one ID is in the part of its first row: a person's plan reads all of them
    (the last row's facts, an enrolment per county), and no part then depends on another,
    so an import in parts writes and counts exactly what one plan would. Rows keep the
    file's order within a part.
    """
    size = size or PLAN_ROWS
    if len(validation.rows) <= size:
        return [validation]
    part_of: dict[str, int] = {}
    rows: list[list[ValidRow]] = []
    by_row: dict[int, int] = {}
    for row in validation.rows:
        index = part_of.setdefault(row.id_number, len(part_of) // size)
        if index == len(rows):
            rows.append([])
        rows[index].append(row)
        by_row[row.row] = index
    flags: list[list[RowFlag]] = [[] for _ in rows]
    for flag in validation.flags:
        flags[by_row[flag.row]].append(flag)
    return [
        Validation(
            rows=part,
            errors=[],
            notices=[],
            columns=validation.columns,
            total=len(part),
            flags=part_flags,
        )
        for part, part_flags in zip(rows, flags, strict=True)
    ]


def _plan(validation: Validation, *, today: date, now: datetime, user_id: int | None) -> _Plan:
    """Load what exists for the file's IDs and compute every change in Python."""
    plan = _Plan()
    columns = validation.columns
    last: dict[str, ValidRow] = {}
    for row in validation.rows:
        last[row.id_number] = row  # person-level facts: the last row of the ID wins
    existing = _load(list(last))
    plan.person_pks = {key: person["id"] for key, person in existing.people.items()}
    plan.enrolment_pks = {key: values["id"] for key, values in existing.enrolments.items()}

    new_ids: set[str] = set()
    touched: set[str] = set()
    optional_person = ((ADDRESS, "hukou_address"), (GUARDIAN, "guardian"), (PHONE, "phone"))
    for id_number, row in last.items():
        desired: dict[str, Any] = {
            "name": row.name,
            "sex": row.sex,
            "birth_date": row.birth_date,
            "hukou_code": row.hukou_code,
            "county_id": row.county,
        }
        for header, attr in optional_person:
            if header in columns:
                desired[attr] = getattr(row, attr)
        person = existing.people.get(id_number)
        pk = None
        if person is None:
            plan.new_people.append({"id_number": id_number, **desired})
            new_ids.add(id_number)
        else:
            pk = person["id"]
            changed = [f for f, v in desired.items() if person[f] != v]
            if changed:
                person.update(desired)
                plan.changed_people[pk] = person
                plan.person_fields.update(changed)
                touched.add(id_number)

        current = existing.certificates.get(pk) if pk else None
        if CERT in columns:
            if row.certificate is None:
                if current is not None:
                    plan.closed_certificates.append(current["id"])
                    touched.add(id_number)
            else:
                candidate = _certificate_for(row, current, columns)
                if current is None or not Certificate.same_facts(
                    SimpleNamespace(**current),  # type: ignore[arg-type]
                    SimpleNamespace(**candidate),  # type: ignore[arg-type]
                ):
                    if current is not None:
                        plan.closed_certificates.append(current["id"])
                    plan.new_certificates.append((id_number, candidate))
                    touched.add(id_number)

        status = existing.statuses.get(pk) if pk else None
        if status is None or status["family_type"] != row.family_type:
            if status is not None:
                plan.closed_statuses.append(status["id"])
            plan.new_statuses.append(
                (id_number, {"family_type": row.family_type, "start_date": today})
            )
            touched.add(id_number)

    month = today.replace(day=1)
    for row in validation.rows:
        row_changed = False
        for subsidy, wanted, amount_header, amount, wanted_header in (
            ("living", row.living, LIVING_AMOUNT, row.living_amount, LIVING),
            ("nursing", row.nursing, NURSING_AMOUNT, row.nursing_amount, NURSING),
        ):
            key = (row.id_number, subsidy, row.county)
            enrolment = existing.enrolments.get(key)
            if wanted:
                fields: dict[str, Any] = {}
                if amount_header in columns or enrolment is None:
                    fields["monthly_amount"] = amount
                if subsidy == "nursing" and (PAYEE in columns or enrolment is None):
                    fields["payee"] = row.payee
                if START in columns or enrolment is None:
                    fields["start_month"] = row.start_month
                if enrolment is None:
                    values = {
                        "subsidy": subsidy,
                        "county_id": row.county,
                        "status": _ACTIVE,
                        "changed_by_id": user_id,
                        **fields,
                    }
                    existing.enrolments[key] = values
                    plan.new_enrolments.append((key, values))
                    plan.changes.append(
                        (key, _change("enrol", "", _ACTIVE, row.start_month, row, "", user_id))
                    )
                    row_changed = True
                    continue
                diffs = {f: v for f, v in fields.items() if enrolment[f] != v}
                resume = enrolment["status"] != _ACTIVE
                if not diffs and not resume:
                    continue
                before = enrolment["status"]
                note = "；".join(
                    f"{Enrolment._meta.get_field(f).verbose_name} {_show(enrolment[f])}→{_show(v)}"
                    for f, v in diffs.items()
                )
                enrolment.update(diffs)
                plan.enrolment_fields.update(diffs)
                if resume:
                    enrolment.update(status=_ACTIVE, stop_month=None, stop_reason="")
                    plan.enrolment_fields.update(("status", "stop_month", "stop_reason"))
                plan.changed_enrolments[enrolment["id"]] = enrolment
                action = "resume" if resume else "amend"
                plan.changes.append(
                    (enrolment["id"], _change(action, before, _ACTIVE, month, row, note, user_id))
                )
                row_changed = True
            elif enrolment is not None and enrolment["status"] != _STOPPED:
                before = enrolment["status"]
                enrolment.update(status=_STOPPED, stop_month=month, stop_reason=_STOP_REASON)
                plan.enrolment_fields.update(("status", "stop_month", "stop_reason"))
                plan.changed_enrolments[enrolment["id"]] = enrolment
                note = f"「{wanted_header}」为否"
                plan.changes.append(
                    (
                        enrolment["id"],
                        _change("stop", before, _STOPPED, month, row, note, user_id, _STOP_REASON),
                    )
                )
                row_changed = True
        if row.id_number in new_ids:
            plan.outcomes[row.row] = "created"
        elif row_changed or row.id_number in touched:
            plan.outcomes[row.row] = "updated"
        else:
            plan.outcomes[row.row] = "unchanged"
    for enrolment in plan.changed_enrolments.values():
        enrolment.update(changed_by_id=user_id, changed_at=now)
    if plan.changed_enrolments:
        plan.enrolment_fields.update(("changed_by_id", "changed_at"))
    for person in plan.changed_people.values():
        person["updated_at"] = now
    if plan.changed_people:
        plan.person_fields.add("updated_at")
    return plan


def _show(value: Any) -> str:
    return "空" if value is None or value == "" else str(value)


def _certificate_for(
    row: ValidRow, current: dict[str, Any] | None, columns: Collection[str]
) -> dict[str, Any]:
    """The certificate the row describes, as field values.

    The roster carries no status or issue date: for the *same* certificate (same 20-character
    stem) they are kept from the current record, so that a certificate frozen by the
    federation is not silently un-frozen by re-importing a roster.  A different stem is a new
    certificate and starts as 正常.
    """
    cert = row.certificate
    assert cert is not None
    same = current if current is not None and current["stem"] == cert.stem else None
    if EXPIRY in columns:
        expiry_date, long_term = _expiry_fields(row.expiry)
    elif same is not None:
        expiry_date, long_term = same["expiry_date"], same["long_term"]
    else:
        expiry_date, long_term = None, False
    return {
        "number": cert.value,
        "stem": cert.stem,
        # As the file records them: a contradiction with the number is kept (and flagged), so
        # that the comparison reports it (``CERT_CODE_MISMATCH``).
        "category": row.category or cert.category,
        "grade": row.grade or cert.grade,
        "issue_date": same["issue_date"] if same else None,
        "expiry_date": expiry_date,
        "long_term": long_term,
        "status": same["status"] if same else Certificate.Status.NORMAL.value,
    }


def _change(
    action: str,
    before: str,
    after: str,
    month: date | None,
    row: ValidRow,
    note: str,
    user_id: int | None,
    reason: str = "",
) -> dict[str, Any]:
    return {
        "action": action,
        "from_status": before,
        "to_status": after,
        "month": month,
        "reason": reason,
        "note": f"导入名册第{row.row}行" + (f"：{note}" if note else ""),
        "changed_by_id": user_id,
    }
