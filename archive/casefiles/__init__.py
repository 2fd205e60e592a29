"""The standardized case file (补贴档案): its checklist and completeness, its catalogue (卷内目录)
and the export of the whole file.

One case file per beneficiary and county enrolment, opened when the person is enrolled
(`open_case_files`: import, demo, migration) — never by viewing a page.
Completeness is computed here (`refresh`) whenever one of its documents changes, and stored
on the row (percentage and missing types), so that the list of 100 000 case files filters on
it without looking at documents.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from archive.documents import storage
from archive.documents.scans import EXTENSIONS
from archive.models import (
    CaseFile,
    ChecklistVersion,
    Document,
    DocumentVersion,
    Enrolment,
    EnrolmentChange,
    Person,
)
from core.codes import SUBSIDY_LABELS, SUBSIDY_NAMES
from core.doctypes import BY_CODE, DOCUMENT_TYPES
from core.numbers import mask_id

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


def _facts_of(pairs: Iterable[Pair]) -> dict[Pair, dict]:
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
        person_id__in=people
    ).values_list("person_id", "county_id", "subsidy", "payee", "start_month"):
        if (pair := (person, county)) in facts:
            entry = facts[pair]
            entry["subsidies"].add(subsidy)
            entry["institution"] |= subsidy == "nursing" and payee == Enrolment.Payee.INSTITUTION
            entry["enrolled_over_a_year"] |= bool(start and start.year < this_year)
    guardians = dict(Person.objects.filter(pk__in=people).values_list("pk", "guardian"))
    for (person, _county), entry in facts.items():
        entry["guardian"] = bool(guardians.get(person))
    for pair in (
        EnrolmentChange.objects.filter(enrolment__person_id__in=people)
        .exclude(action=EnrolmentChange.Action.ENROL)
        .values_list("enrolment__person_id", "enrolment__county_id")
        .distinct()
    ):
        if pair in facts:
            facts[pair]["changed"] = True
    return facts


def _facts(case_file: CaseFile) -> dict:
    pair = (case_file.person_id, case_file.county_id)
    return _facts_of([pair])[pair]


def _completeness(checklist: ChecklistVersion, facts: dict, counts: dict[str, int]) -> dict:
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
        **_completeness(checklist, _facts(case_file), {line.code: line.present for line in lines}),
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


# --- Which case file ------------------------------------------------------------------------


def enrolment_counties(person: Person) -> list[str]:
    return sorted(set(person.enrolments.values_list("county_id", flat=True)))


def default_county(person: Person) -> str:
    """The county of a person's case file when the upload does not say: their enrolment
    county (their own county if enrolled in several), else their hukou county."""
    counties = enrolment_counties(person)
    if person.county_id in counties or not counties:
        return person.county_id
    return counties[0]


OPEN_BATCH = 2000


def open_case_files(pairs: Iterable[Pair]) -> int:
    """Opens (建档) the case file of each enrolment's person and county that has none yet, with
    its completeness; returns how many were opened.

    Every enrolled person has a case file from the moment they are enrolled — by import, the
    demo or a migration — so the case-file list, its completeness filters and search count
    everyone, and no page view ever writes (docs/archive.md). Set-wise: a new file has no
    documents, so its completeness needs only the enrolment facts, three queries per batch.
    """
    checklist = current_checklist()
    wanted = sorted(set(pairs))
    opened = 0
    for start in range(0, len(wanted), OPEN_BATCH):
        batch = wanted[start : start + OPEN_BATCH]
        existing = set(
            CaseFile.objects.filter(person_id__in={p for p, _c in batch}).values_list(
                "person_id", "county_id"
            )
        )
        fresh = [pair for pair in batch if pair not in existing]
        facts = _facts_of(fresh)
        CaseFile.objects.bulk_create(
            (
                CaseFile(
                    person_id=person,
                    county_id=county,
                    **_completeness(checklist, facts[(person, county)], {}),
                )
                for person, county in fresh
            ),
            ignore_conflicts=True,
        )
        opened += len(fresh)
    return opened


def open_on_enrolment(sender, instance: Enrolment, created: bool, raw: bool = False, **kwargs):
    """``post_save`` of an enrolment: its person's case file in its county is opened with it,
    or, when it exists, its completeness recomputed (a new subsidy requires other documents)."""
    if created and not raw and not open_case_files([(instance.person_id, instance.county_id)]):
        existing = CaseFile.objects.select_related("person").get(
            person_id=instance.person_id, county_id=instance.county_id
        )
        refresh(existing)


def open_case_files_of(enrolments) -> int:
    """:func:`open_case_files` for the people and counties of an enrolment queryset."""
    return open_case_files(enrolments.values_list("person_id", "county_id").distinct())


def case_file_for(person: Person, county_id: str | None = None) -> CaseFile:
    """The person's case file in a county, created (with its completeness) if missing."""
    county_id = county_id or default_county(person)
    case_file, created = CaseFile.objects.get_or_create(person=person, county_id=county_id)
    if created:
        case_file.person = person
        refresh(case_file)
    return case_file


# --- Catalogue (卷内目录) --------------------------------------------------------------------


@dataclass
class CatalogueRow:
    number: int  # 序号
    code: str  # 档号
    responsible: str  # 责任者
    title: str  # 题名
    date: date | None  # 日期 (the document's own: entered, or read by OCR)
    pages: int  # 页数
    page_range: str  # 页号: where it starts and ends in the file, counted over the catalogue
    note: str  # 备注
    document: Document


def responsible(document: Document, person: Person, county_name: str) -> str:
    """The 责任者 of a document (core.doctypes ``responsible``): the person themself unless
    its type names the office that made it."""
    kind = BY_CODE.get(document.doc_type)
    template = kind.responsible if kind else ""
    return template.format(county=county_name) if template else person.name


def ordered_documents(case_file: CaseFile, checklist: ChecklistVersion | None = None):
    """The filed, current documents in catalogue order: by checklist order, then 件号."""
    checklist = checklist or current_checklist()
    order = {item["code"]: i for i, item in enumerate(checklist.items)}
    documents = list(
        live_documents(case_file)
        .exclude(doc_type=UNTYPED)
        .select_related("current__blob")
        .order_by("filed_at", "id")
    )
    documents.sort(key=lambda d: (order.get(d.doc_type, len(order)), d.filed_at or d.created_at))
    return documents


def document_title(document: Document, person: Person, items: Iterable[dict] | None = None) -> str:
    return document.title or f"{person.name}{type_name(document.doc_type, items)}"


def catalogue(case_file: CaseFile, checklist: ChecklistVersion | None = None) -> list[CatalogueRow]:
    """The 卷内目录: the filed documents in checklist order, then those whose type is still to
    be recognised (listed, never silently left out, with no 档号 until they are typed)."""
    checklist = checklist or current_checklist()
    person, county_name = case_file.person, case_file.county.name
    untyped = list(
        live_documents(case_file)
        .filter(doc_type=UNTYPED)
        .select_related("current__blob")
        .order_by("created_at", "id")
    )
    rows, first_page = [], 1
    documents = ordered_documents(case_file, checklist) + untyped
    for number, document in enumerate(documents, start=1):
        version = document.current
        pages = version.blob.page_count if version else 0
        notes = [UNTYPED_LABEL] if document.doc_type == UNTYPED else []
        if version and version.number > 1:
            notes.append(f"第{version.number}版")
        last_page = first_page + max(pages, 1) - 1
        rows.append(
            CatalogueRow(
                number=number,
                code=document.archival_code or "",
                responsible=responsible(document, person, county_name),
                title=document.title or "待识别类型的材料"
                if document.doc_type == UNTYPED
                else document_title(document, person, checklist.items),
                date=document.doc_date,
                pages=pages,
                page_range=str(first_page)
                if last_page == first_page
                else f"{first_page}-{last_page}",
                note="；".join(notes),
                document=document,
            )
        )
        first_page = last_page + 1
    return rows


# Catalogue PDF: A4 at 150 dpi, drawn with Pillow in the CJK font of the OCR package.
DPI = 150
PAGE_SIZE = (1240, 1754)
MARGIN = 90
COLUMNS = (
    ("序号", 56),
    ("档号", 290),
    ("责任者", 150),
    ("题名", 290),
    ("日期", 124),
    ("页号", 70),
    ("备注", 80),
)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from ocr.fonts import cjk_font_path

    path = cjk_font_path()
    if path.endswith(".ttc"):  # pick the Simplified Chinese face of a CJK collection
        for index in range(10):
            try:
                font = ImageFont.truetype(path, size, index=index)
            except OSError:
                break
            if " SC" in font.getname()[0] or "SC" in font.getname()[0].split():
                return font
    return ImageFont.truetype(path, size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for char in text:
        if font.getlength(line + char) > width and line:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line or not lines else lines


def catalogue_pdf(case_file: CaseFile, rows: list[CatalogueRow]) -> bytes:
    """The catalogue as a printable PDF (A4, one table continued over as many pages as needed,
    column headings repeated, page numbers)."""
    body, head, title_font = _font(22), _font(22), _font(40)
    line_height, padding = 30, 8
    table_width = sum(w for _, w in COLUMNS)
    left = (PAGE_SIZE[0] - table_width) // 2
    person = case_file.person

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
        page = Image.new("L", PAGE_SIZE, 255)
        draw = ImageDraw.Draw(page)
        y = MARGIN
        draw.text((PAGE_SIZE[0] // 2, y), "卷 内 目 录", font=title_font, fill=0, anchor="mt")
        y += 70
        subtitle = f"{person.name}　{person.id_number}　{case_file.county.name}"
        draw.text((left, y), subtitle, font=body, fill=0)
        y += 44
        y = _row(draw, y, [name for name, _ in COLUMNS], head, line_height, padding, left, True)
        return page, draw, y

    pages: list[Image.Image] = []
    page, draw, y = new_page()
    for row in rows or [None]:
        cells = (
            [
                str(row.number),
                row.code,
                row.responsible,
                row.title,
                row.date.strftime("%Y-%m-%d") if row.date else "",
                row.page_range,
                row.note,
            ]
            if row
            else ["", "", "", "（无已归档文件）", "", "", ""]
        )
        height = _row_height(cells, body, line_height, padding)
        if y + height > PAGE_SIZE[1] - MARGIN - 40:
            pages.append(page)
            page, draw, y = new_page()
        y = _row(draw, y, cells, body, line_height, padding, left)
    pages.append(page)
    out = io.BytesIO()
    for number, image in enumerate(pages, start=1):
        ImageDraw.Draw(image).text(
            (PAGE_SIZE[0] // 2, PAGE_SIZE[1] - MARGIN),
            f"第 {number} 页 共 {len(pages)} 页",
            font=body,
            fill=0,
            anchor="mb",
        )
    pages[0].save(
        out,
        "PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=DPI,
        title=f"卷内目录 {person.name}",
    )
    return out.getvalue()


def _row_height(cells, font, line_height, padding) -> int:
    lines = max(
        len(_wrap(c, font, w - 2 * padding)) for c, (_, w) in zip(cells, COLUMNS, strict=True)
    )
    return lines * line_height + 2 * padding


def _row(draw, y, cells, font, line_height, padding, left, header=False) -> int:
    height = _row_height(cells, font, line_height, padding)
    x = left
    for cell, (_, width) in zip(cells, COLUMNS, strict=True):
        draw.rectangle((x, y, x + width, y + height), outline=0, width=2 if header else 1)
        for i, text in enumerate(_wrap(cell, font, width - 2 * padding)):
            draw.text((x + padding, y + padding + i * line_height), text, font=font, fill=0)
        x += width
    return y + height


# --- Export ------------------------------------------------------------------------------------


class AlteredOriginal(Exception):
    """An original no longer matches its SHA-256 (or is missing): the export stops."""


def export_zip(case_file: CaseFile, out: Path) -> int:
    """Writes the case file as a ZIP to ``out``: every original (current versions under 原件/,
    older ones under 历史版本/), the catalogue PDF, and manifest.csv with the SHA-256 of every
    other file in the ZIP (and SHA256SUMS in the format `sha256sum -c` checks). Each original
    is re-hashed while it is copied; a mismatch raises `AlteredOriginal`. Returns the number
    of originals."""
    checklist = current_checklist()
    rows = catalogue(case_file, checklist)
    person = case_file.person
    manifest: list[tuple[str, str, int, str, str, str]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        pdf = catalogue_pdf(case_file, rows)
        _add_bytes(zf, "卷内目录.pdf", pdf, manifest, "", "卷内目录", "")
        current_ids = set()
        for row in rows:
            version = row.document.current
            current_ids.add(version.pk)
            parts = [f"{row.number:03d}", row.code, _safe(type_name(row.document.doc_type))]
            stem = "_".join(part for part in parts if part)
            name = f"原件/{stem}.{EXTENSIONS[version.blob.kind]}"
            _add_original(zf, name, version, manifest, row.code, row.title)
        older = (
            DocumentVersion.objects.filter(document__case_file=case_file)
            .exclude(pk__in=current_ids)
            .select_related("blob", "document")
            .order_by("document_id", "number")
        )
        for version in older:
            document = version.document
            label = document.archival_code or f"未归档{document.pk}"
            state = "已作废" if document.deleted_at else f"第{version.number}版"
            name = f"历史版本/{label}_{state}_{version.pk}.{EXTENSIONS[version.blob.kind]}"
            title = document_title(document, person)
            _add_original(zf, name, version, manifest, document.archival_code or "", title)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["文件", "SHA-256", "字节数", "档号", "题名", "版本"])
        writer.writerows(manifest)
        zf.writestr("manifest.csv", "\ufeff" + text.getvalue())
        zf.writestr("SHA256SUMS", "".join(f"{sha}  {name}\n" for name, sha, *_ in manifest))
    return len(manifest) - 1


def _safe(text: str) -> str:
    return "".join("_" if c in '/\\:*?"<>| ' else c for c in text)


def _add_bytes(zf, name, data: bytes, manifest, code, title, version) -> None:
    import hashlib

    zf.writestr(name, data)
    manifest.append((name, hashlib.sha256(data).hexdigest(), len(data), code, title, version))


def _add_original(zf, name, version: DocumentVersion, manifest, code, title) -> None:
    import hashlib

    blob = version.blob
    path = storage.original_path(blob.sha256)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as src, zf.open(zipfile.ZipInfo(name, _now_tuple()), "w") as dst:
            while chunk := src.read(storage.CHUNK):
                digest.update(chunk)
                dst.write(chunk)
    except FileNotFoundError:
        raise AlteredOriginal(f"原件缺失：{code or name}") from None
    if digest.hexdigest() != blob.sha256:
        raise AlteredOriginal(f"原件校验失败（已被改动）：{code or name}")
    manifest.append((name, blob.sha256, blob.size, code, title, str(version.number)))


def _now_tuple() -> tuple[int, int, int, int, int, int]:
    now = timezone.localtime()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


# --- The list of case files ---------------------------------------------------------------------


def filter_case_files(queryset, data: dict):
    """Applies the list filters (all in SQL, no per-row queries): division prefix,
    completeness, missing type, subsidy and enrolment status."""
    from django.db.models import Exists, OuterRef

    from core.divisions import division_prefix

    if data.get("division"):
        prefix = division_prefix(data["division"])
        if len(prefix) > 6:  # a township or village: where the person's 户籍 lies
            queryset = queryset.filter(person__hukou_code__startswith=prefix)
        else:
            queryset = queryset.filter(county__code__startswith=prefix)
    completeness = data.get("completeness")
    if completeness == "complete":
        queryset = queryset.filter(completeness=100)
    elif completeness == "incomplete":
        queryset = queryset.filter(completeness__lt=100)
    elif completeness == "below50":
        queryset = queryset.filter(completeness__lt=50)
    if data.get("missing"):
        queryset = queryset.filter(missing__contains=f",{data['missing']},")
    enrolment = Q()
    if data.get("subsidy"):
        enrolment &= Q(subsidy=data["subsidy"])
    if data.get("status"):
        enrolment &= Q(status=data["status"])
    if enrolment:
        queryset = queryset.filter(
            Exists(
                Enrolment.objects.filter(
                    enrolment, person_id=OuterRef("person_id"), county_id=OuterRef("county_id")
                )
            )
        )
    if data.get("q"):
        from core.numbers import normalize_id

        q = data["q"].strip()
        queryset = queryset.filter(
            Q(person__name__contains=q) | Q(person__id_number=normalize_id(q))
        )
    return queryset


CASE_FILE_HEADERS = [
    "县（区）",
    "姓名",
    "公民身份号码",
    "补贴",
    "完整度（%）",
    "缺少材料",
    "文件数",
    "页数",
    "更新时间",
]


def export_rows(
    rows, *, masked: bool = False, progress: Callable[[int], None] | None = None
) -> Iterator[list]:
    """The rows of a case-file list exported to XLSX (the list page and the search's
    export): a header, then one row per case file of ``rows`` (a queryset, streamed).
    ``masked`` shows ID numbers as lists do; ``progress(done)`` is called every 1 000 rows."""
    yield CASE_FILE_HEADERS
    enrolment_rows = Enrolment.objects.filter(person_id__in=rows.values("person_id")).values_list(
        "person_id", "county_id", "subsidy", "status"
    )
    enrolments: dict[tuple[int, str], list[str]] = {}
    statuses = dict(Enrolment.Status.choices)
    for person_id, county_id, subsidy, status in enrolment_rows.iterator(chunk_size=5000):
        enrolments.setdefault((person_id, county_id), []).append(
            f"{SUBSIDY_NAMES.get(subsidy, subsidy)}（{statuses.get(status, status)}）"
        )
    for done, cf in enumerate(rows.select_related("person", "county").iterator(chunk_size=2000), 1):
        if progress is not None and done % 1000 == 0:
            progress(done)
        yield [
            cf.county.name,
            cf.person.name,
            mask_id(cf.person.id_number) if masked else cf.person.id_number,
            "；".join(enrolments.get((cf.person_id, cf.county_id), [])),
            cf.completeness,
            "、".join(type_name(c) for c in cf.missing_codes),
            cf.document_count,
            cf.page_count,
            timezone.localtime(cf.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]
