"""The checklist of a case file and its completeness (档案材料清单, 完整度): which document
types a case file needs from its person's facts, and the completeness stored on the row
(`refresh`) whenever one of its documents changes, so the list of 100 000 case files filters
on it without looking at documents."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
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


#: The facts the checklist's conditional items depend on (:func:`_required`), in the order
#: :func:`facts_query` gives them as columns (each 0 or 1).
FACT_COLUMNS = ("living", "nursing", "guardian", "institution", "enrolled_over_a_year", "changed")


def facts_query(pairs: Collection[Pair], *, without_case_file: bool = False) -> tuple[str, list]:
    """A query of the facts of the case files ``pairs`` name, one row per pair: the person and
    county, then :data:`FACT_COLUMNS`; ``without_case_file`` leaves out the pairs that have one.

    Every enrolment of the person in the county counts, whatever its status. The one
    definition of the facts: :func:`facts_of` reads it, and opening case files joins it to
    their completeness in the database (``archive.casefiles.opening``), so that a 100 000-row
    import's case files are never read into Python (docs/benchmarks.md, the roster import rows).
    """
    wanted, params = pgcopy.rows_table(pairs, {"person_id": "bigint", "county_id": "text"})
    enrolment, change = Enrolment._meta.db_table, EnrolmentChange._meta.db_table
    # Written only when asked for, as a plain NOT EXISTS that the planner makes an anti-join.
    pair = "c.person_id = w.person_id AND c.county_id = w.county_id"
    case_files = CaseFile._meta.db_table
    fresh = f"WHERE NOT EXISTS (SELECT 1 FROM {case_files} c WHERE {pair})"  # noqa: S608
    query = f"""
        SELECT w.person_id, w.county_id,
            MAX(CASE WHEN e.subsidy = %s THEN 1 ELSE 0 END) AS living,
            MAX(CASE WHEN e.subsidy = %s THEN 1 ELSE 0 END) AS nursing,
            MAX(CASE WHEN p.guardian <> '' THEN 1 ELSE 0 END) AS guardian,
            MAX(CASE WHEN e.subsidy = %s AND e.payee = %s THEN 1 ELSE 0 END) AS institution,
            MAX(CASE WHEN e.start_month < %s THEN 1 ELSE 0 END) AS enrolled_over_a_year,
            MAX(CASE WHEN EXISTS (SELECT 1 FROM {change} AS ch
                                  WHERE ch.enrolment_id = e.id AND ch.action <> %s)
                THEN 1 ELSE 0 END) AS changed
        FROM (SELECT DISTINCT person_id, county_id FROM ({wanted}) AS t) AS w
        LEFT JOIN {Person._meta.db_table} AS p ON p.id = w.person_id
        LEFT JOIN {enrolment} AS e ON e.person_id = w.person_id AND e.county_id = w.county_id
        {fresh if without_case_file else ""}
        GROUP BY w.person_id, w.county_id"""  # noqa: S608 (names from the models' meta, values as parameters)
    this_year = timezone.localdate().replace(month=1, day=1)
    # In the order of the placeholders: the columns' values, then the pairs.
    return query, [
        "living",
        "nursing",
        "nursing",
        Enrolment.Payee.INSTITUTION.value,
        connection.ops.adapt_datefield_value(this_year),
        EnrolmentChange.Action.ENROL.value,
        *params,
    ]


def facts_from(values: Sequence[int]) -> dict:
    """The facts of one case file as :func:`_required` reads them, from the values of
    :data:`FACT_COLUMNS`."""
    flags = dict(zip(FACT_COLUMNS, map(bool, values), strict=True))
    return {
        "subsidies": {s for s in ("living", "nursing") if flags.pop(s)},
        **flags,
    }


def facts_of(pairs: Iterable[Pair]) -> dict[Pair, dict]:
    """The facts of many case files in one query (:func:`facts_query`)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    query, params = facts_query(pairs)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {(row[0], row[1]): facts_from(row[2:]) for row in cursor.fetchall()}


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
