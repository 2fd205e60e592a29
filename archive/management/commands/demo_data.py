"""`demo_data`: fills 长治市 with deterministic synthetic beneficiaries (see archive.demo),
marked `is_demo` and shown with a badge; `--remove` takes every demo record out again."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from archive.casefiles import open_case_files_of
from archive.demo import DemoPerson, demo_township_names, generate
from archive.imports import ALL_HEADERS, Counties, validate_rows
from archive.models import (
    CaseFile,
    Certificate,
    DataFlag,
    Division,
    Document,
    DocumentVersion,
    Enrolment,
    EnrolmentChange,
    FamilyStatus,
    Person,
)


class Command(BaseCommand):
    help = "创建演示数据（长治市的虚构残疾人、证件、家庭类别和补贴记录），或用 --remove 删除全部演示数据。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=300, help="人数（默认 300）")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子，相同种子生成相同数据")
        parser.add_argument("--remove", action="store_true", help="删除全部演示数据")
        parser.add_argument(
            "--scans",
            type=int,
            nargs="?",
            const=20,
            default=0,
            metavar="N",
            help="为前 N 名演示人员生成扫描件（残疾人证、身份证、申请审批表）并归档（默认 20）",
        )

    def handle(self, *args, people: int, seed: int, remove: bool, scans: int, **options) -> None:
        if remove:
            self.stdout.write(f"已删除演示人员 {remove_demo()} 人。")
            return
        created = load_demo(people, seed)
        self.stdout.write(f"演示数据：新增 {created} 人（共 {people} 人，种子 {seed}）。")
        if scans:
            self.stdout.write(f"演示扫描件：归档 {file_demo_scans(scans, seed)} 页。")
        call_command("load_cms_demo", stdout=self.stdout)


@transaction.atomic
def _create_townships(counties: set[str]) -> None:
    """The demo townships of each county, so pages show their names (archive.demo)."""
    known = set(Division.objects.filter(parent_id__in=counties).values_list("code", flat=True))
    Division.objects.bulk_create(
        Division(code=code, name=name, level=Division.Level.TOWNSHIP, parent_id=county)
        for county in sorted(counties)
        for code, name in demo_township_names(county).items()
        if code not in known
    )


def load_demo(count: int, seed: int) -> int:
    """Creates the demo people that do not exist yet; returns how many were created."""
    generated = generate(count, seed)
    existing = set(
        Person.objects.filter(id_number__in=[p.id_number for p in generated]).values_list(
            "id_number", flat=True
        )
    )
    fresh = [p for p in generated if p.id_number not in existing]
    _create_townships({p.county for p in generated})
    persons = Person.objects.bulk_create(
        Person(
            name=p.name,
            id_number=p.id_number,
            sex=p.sex,
            birth_date=p.birth_date,
            phone=p.phone,
            hukou_code=p.hukou_code,
            hukou_address=p.address,
            county_id=p.county,
            is_demo=True,
        )
        for p in fresh
    )
    if not persons or persons[0].pk is None:  # SQLite before RETURNING support
        by_id = dict(
            Person.objects.filter(id_number__in=[p.id_number for p in fresh]).values_list(
                "id_number", "pk"
            )
        )
        for obj in persons:
            obj.pk = by_id[obj.id_number]
    Certificate.objects.bulk_create(
        Certificate(
            person=obj,
            number=p.cert_number,
            stem=p.cert_number[:20],
            category=p.category,
            grade=p.grade,
            expiry_date=p.expiry,
            long_term=p.long_term,
        )
        for obj, p in zip(persons, fresh, strict=True)
        if p.cert_number
    )
    FamilyStatus.objects.bulk_create(
        FamilyStatus(
            person=obj,
            family_type=p.family_type,
            start_date=min(e.start_month for e in p.enrolments),
        )
        if p.enrolments
        else FamilyStatus(person=obj, family_type=p.family_type, start_date=p.birth_date)
        for obj, p in zip(persons, fresh, strict=True)
    )
    enrolments = Enrolment.objects.bulk_create(
        Enrolment(
            person=obj,
            subsidy=e.subsidy,
            county_id=e.county,
            monthly_amount=e.amount,
            start_month=e.start_month,
        )
        for obj, p in zip(persons, fresh, strict=True)
        for e in p.enrolments
    )
    if enrolments and enrolments[0].pk is None:
        enrolments = list(Enrolment.objects.filter(person__in=persons))
    EnrolmentChange.objects.bulk_create(
        EnrolmentChange(
            enrolment=e,
            action=EnrolmentChange.Action.ENROL,
            to_status=e.status,
            month=e.start_month,
            note="演示数据",
            source="demo_data",
        )
        for e in enrolments
    )
    open_case_files_of(Enrolment.objects.filter(person__in=persons))
    _flag(fresh, persons, enrolments)
    return len(persons)


def _flag(fresh: list[DemoPerson], persons: list[Person], enrolments: list[Enrolment]) -> None:
    """The flags an import of these people's roster rows would store (a few planted problems:
    a certificate number contradicting the grade, 特困 drawing the living subsidy, grade-3
    physical drawing the nursing subsidy), found by the importer's own validation."""
    yes_no = {True: "是", False: "否"}
    rows = []
    for number, p in enumerate(fresh, start=2):
        subsidies = {e.subsidy for e in p.enrolments if e.county == p.county}
        rows.append(
            (
                number,
                {
                    "姓名": p.name,
                    "公民身份号码": p.id_number,
                    "残疾人证号": p.cert_number or "",
                    "残疾类别": str(p.category) if p.cert_number else "",
                    "残疾等级": str(p.grade) if p.cert_number else "",
                    "户籍区划代码": p.hukou_code,
                    "家庭类别": p.family_type,
                    "享受生活补贴": yes_no["living" in subsidies],
                    "享受护理补贴": yes_no["nursing" in subsidies],
                },
            )
        )
    columns = {h: h for h in ALL_HEADERS if h in rows[0][1]} if rows else {}
    validation = validate_rows(rows, columns, counties=Counties.built_in())
    person_of = {number: obj for number, obj in enumerate(persons, start=2)}
    enrolment_of = {(e.person_id, e.subsidy, e.county_id): e for e in enrolments}
    now = timezone.now()
    DataFlag.objects.bulk_create(
        DataFlag(
            person=person_of[flag.row],
            enrolment=enrolment_of.get(
                (person_of[flag.row].pk, flag.subsidy, person_of[flag.row].county_id)
            )
            if flag.subsidy
            else None,
            code=flag.code,
            column=flag.column,
            message=flag.message,
            raised_at=now,
        )
        for flag in validation.flags
    )


def file_demo_scans(count: int, seed: int) -> int:
    """Generates scans of the first `count` enrolled demo people's documents and files them to their
    case files through the same ingest path as a browser upload (so 档号, page images and
    OCR are all real). People who already have documents are skipped, so it is idempotent."""
    from archive.casefiles import case_file_for
    from archive.documents.ingest import Target, ingest_path
    from ocr.samples import SamplePerson, document_scans

    filed = 0
    people = (
        Person.objects.filter(
            is_demo=True, certificates__is_current=True, enrolments__status=Enrolment.Status.ACTIVE
        )
        .exclude(case_files__documents__isnull=False)  # already has scans: leave it alone
        .distinct()
        .order_by("id")[:count]
    )
    with tempfile.TemporaryDirectory() as tmp:
        for person in people.prefetch_related("certificates"):
            cert = person.current_certificate
            sample = SamplePerson(
                name=person.name,
                sex=person.sex,
                id_number=person.id_number,
                category=cert.category,
                grade=cert.grade,
                valid_until=None if cert.long_term else cert.expiry_date,
                address=person.hukou_address,
            )
            case_file = case_file_for(person)
            for doc_type, image in document_scans(sample, seed=seed + person.pk).items():
                path = Path(tmp) / f"{person.id_number}_{doc_type}.jpg"
                image.convert("L").save(path, "JPEG", quality=80)
                outcomes = ingest_path(path, Target(case_file, doc_type), user=None)
                filed += sum(o.pages for o in outcomes if o.ok)
    return filed


@transaction.atomic
def remove_demo() -> int:
    demo = Person.objects.filter(is_demo=True)
    from inspection.demo import remove_inspection_of

    remove_inspection_of(demo)
    documents = Document.objects.filter(case_file__person__in=demo)
    documents.update(current=None)
    DocumentVersion.objects.filter(document__in=documents).delete()
    documents.delete()
    Document.objects.filter(proposed_person__in=demo).update(proposed_person=None)
    CaseFile.objects.filter(person__in=demo).delete()
    EnrolmentChange.objects.filter(enrolment__person__in=demo).delete()
    DataFlag.objects.filter(person__in=demo).delete()
    Enrolment.objects.filter(person__in=demo).delete()
    Certificate.objects.filter(person__in=demo).delete()
    FamilyStatus.objects.filter(person__in=demo).delete()
    count, _ = demo.delete()
    return count
