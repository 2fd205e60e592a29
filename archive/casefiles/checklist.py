"""The checklist of a case file and its completeness (档案材料清单, 完整度): which document
types a case file needs from its person's facts, and the completeness stored on the row
(`refresh`) whenever one of its documents changes, so the list of 100 000 case files filters
on it without looking at documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from archive import pgcopy
from archive.models import (
    CaseFile,
    ChecklistVersion,
    Document,
    Enrolment,
    EnrolmentChange,
    Person,
)
from core.codes import SUBSIDY_LABELS
from core.doctypes import BY_CODE, DOCUMENT_TYPES

UNTYPED = ""
UNTYPED_LABEL = "待识别类型"

# --- Checklist --------------------------------------------------------------------------------


def default_items() -> list[dict]:
    return [
        {
            "code": t.code,
            "name": t.name,
            "required_for": t.required_for,
            "condition": t.condition,
            "retention": t.retention,
        }
        for t in DOCUMENT_TYPES
    ]


def current_checklist() -> ChecklistVersion:
    """The checklist in force: the latest version; the default from DOCUMENT_TYPES if none."""
    latest = ChecklistVersion.objects.order_by("-created_at", "-id").first()
    if latest is None:
        latest = ChecklistVersion.objects.create(items=default_items(), note="默认清单")
    return latest


def type_name(code: str, items: Iterable[dict] | None = None) -> str:
    if not code:
        return UNTYPED_LABEL
    for item in items or ():
        if item["code"] == code:
            return item["name"]
    known = BY_CODE.get(code)
    return known.name if known else code


def type_codes() -> set[str]:
    """The document types an upload, a move or a split may name: the current checklist's."""
    return {item["code"] for item in current_checklist().items}


def type_choices(items: Iterable[dict] | None = None) -> list[tuple[str, str]]:
    return [(i["code"], i["name"]) for i in (items or default_items())]


@dataclass
class ChecklistLine:
    code: str
    name: str
    required: bool
    rule: str  # why or when it is required, in Chinese
    present: int  # current documents of the type


def _required(item: dict, facts: dict) -> tuple[bool, str]:
    """Whether a checklist item is required for this case file, and the rule shown."""
    code, required_for = item["code"], item.get("required_for", "")
    if required_for == "both":
        return True, "两项补贴均需"
    if required_for in ("living", "nursing"):
        return required_for in facts["subsidies"], f"享受{SUBSIDY_LABELS[required_for]}时"
    condition = item.get("condition", "")
    rules = {
        "guardian_authorization": facts["guardian"],
        "institution_statement": facts["institution"],
        "review_record": facts["enrolled_over_a_year"],
        "change_approval": facts["changed"],
    }
    return bool(rules.get(code, False)), condition or "—"


Pair = tuple[int, str]  # (person id, county code): what identifies a case file


def facts_of(pairs: Iterable[Pair]) -> dict[Pair, dict]:
    """The facts the checklist's conditional items depend on, for many case files in three
    queries (one per fact table), so that opening 100 000 case files after an import does not
    cost a query per file."""
    pairs = set(pairs)
    people = {person for person, _county in pairs}
    this_year = timezone.localdate().year
    facts: dict[Pair, dict] = {
        pair: {
            "subsidies": set(),
            "guardian": False,
            "institution": False,
            "enrolled_over_a_year": False,
            "changed": False,
        }
        for pair in pairs
    }
    for person, county, subsidy, payee, start in Enrolment.objects.filter(
        person_id__in=pgcopy.any_id(people)
    ).values_list("person_id", "county_id", "subsidy", "payee", "start_month"):
        if (pair := (person, county)) in facts:
            entry = facts[pair]
            entry["subsidies"].add(subsidy)
            entry["institution"] |= subsidy == "nursing" and payee == Enrolment.Payee.INSTITUTION
            entry["enrolled_over_a_year"] |= bool(start and start.year < this_year)
    guardians = dict(
        Person.objects.filter(pk__in=pgcopy.any_id(people)).values_list("pk", "guardian")
    )
    for (person, _county), entry in facts.items():
        entry["guardian"] = bool(guardians.get(person))
    for pair in (
        EnrolmentChange.objects.filter(enrolment__person_id__in=pgcopy.any_id(people))
        .exclude(action=EnrolmentChange.Action.ENROL)
        .values_list("enrolment__person_id", "enrolment__county_id")
        .distinct()
    ):
        if pair in facts:
            facts[pair]["changed"] = True
    return facts


def _facts(case_file: CaseFile) -> dict:
    pair = (case_file.person_id, case_file.county_id)
    return facts_of([pair])[pair]


def completeness_from(checklist: ChecklistVersion, facts: dict, counts: dict[str, int]) -> dict:
    """The stored completeness of a case file: percentage and missing types."""
    required = [item["code"] for item in checklist.items if _required(item, facts)[0]]
    missing = [code for code in required if not counts.get(code)]
    percent = 100 if not required else (100 * (len(required) - len(missing))) // len(required)
    return {
        "completeness": percent,
        "missing": f",{','.join(missing)}," if missing else "",
        "checklist_id": checklist.pk,
    }


def checklist_lines(
    case_file: CaseFile, checklist: ChecklistVersion | None = None
) -> list[ChecklistLine]:
    checklist = checklist or current_checklist()
    facts = _facts(case_file)
    counts = {code: n for code, n, _pages in _type_counts(case_file) if code != UNTYPED}
    lines = []
    for item in checklist.items:
        required, rule = _required(item, facts)
        lines.append(
            ChecklistLine(item["code"], item["name"], required, rule, counts.get(item["code"], 0))
        )
    return lines


def live_documents(case_file: CaseFile):
    return Document.objects.filter(case_file=case_file, deleted_at__isnull=True)


def _type_counts(case_file: CaseFile) -> list[tuple[str, int, int]]:
    """(type, documents, pages) of the live documents, in one query."""
    if getattr(case_file, "_type_counts", None) is None:
        case_file._type_counts = list(
            live_documents(case_file)
            .values_list("doc_type")
            .annotate(n=Count("id"), pages=Sum("current__blob__page_count"))
            .values_list("doc_type", "n", "pages")
            .order_by()
        )
    return case_file._type_counts


def refresh(case_file: CaseFile, checklist: ChecklistVersion | None = None) -> list[ChecklistLine]:
    """Recomputes and stores the completeness of a case file; returns the checklist lines."""
    checklist = checklist or current_checklist()
    case_file._type_counts = None  # count afresh: this is called after a change
    lines = checklist_lines(case_file, checklist)
    counts = _type_counts(case_file)
    values = {
        **completeness_from(
            checklist, _facts(case_file), {line.code: line.present for line in lines}
        ),
        "document_count": sum(n for _code, n, _pages in counts),
        "page_count": sum(pages or 0 for _code, _n, pages in counts),
    }
    changed = [k for k, v in values.items() if getattr(case_file, k) != v]
    if changed:
        for key, value in values.items():
            setattr(case_file, key, value)
        case_file.save(update_fields=[k.removesuffix("_id") for k in values] + ["updated_at"])
    return lines


def refresh_all() -> int:
    """Recomputes every case file (after enrolment changes or a new checklist)."""
    checklist = current_checklist()
    count = 0
    for case_file in CaseFile.objects.select_related("person").iterator(chunk_size=500):
        with transaction.atomic():
            refresh(case_file, checklist)
        count += 1
    return count
