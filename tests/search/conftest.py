"""Fixtures for the search tests: every test that asks for `backend` runs twice, on the embedded
database backend and on the real Elasticsearch node at ELASTICSEARCH_URL (an index prefix of
its own per test, removed afterwards), over the same people.

`index_now()` drains the outbox into the index (a no-op on the database backend), as the
Celery task does after commit; tests inside a rolled-back transaction call it themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import Group

from archive import casefiles
from archive.access.roles import INSPECTOR
from archive.models import (
    Certificate,
    Division,
    Document,
    DocumentVersion,
    Enrolment,
    FamilyStatus,
    Person,
    StoredFile,
    UserProfile,
)
from core.numbers import id_check_char
from search import sync
from tests.conftest import require_env

COUNTY = "140425"  # 平顺县
OTHER_COUNTY = "140426"  # 黎城县
TOWN = "140425100"
EAST = "140425100201"  # 东王庄村
WEST = "140425100202"  # 西王庄村
OTHER_TOWN = "140426100"
TODAY = date(2026, 11, 30)
COMMITMENT = "本人承诺以上所填信息真实准确，如有虚假愿承担相应责任。"


@dataclass
class Search:
    name: str  # "database" or "elasticsearch"
    url: str = ""

    def index_now(self) -> int:
        return sync.drain(refresh=True) if self.name == "elasticsearch" else 0


def use_elasticsearch(request, settings) -> Search:
    """Points the test at the real node with an index prefix of its own, dropped afterwards."""
    settings.ELASTICSEARCH_URL = require_env("ELASTICSEARCH_URL")
    settings.SEARCH_INDEX_PREFIX = f"{settings.SEARCH_INDEX_PREFIX}{uuid.uuid4().hex[:8]}_"
    request.addfinalizer(lambda prefix=settings.SEARCH_INDEX_PREFIX: _drop(prefix))
    return Search("elasticsearch", settings.ELASTICSEARCH_URL)


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request, settings) -> Search:
    if request.param == "elasticsearch":
        return use_elasticsearch(request, settings)
    return Search("database")


def _drop(prefix: str) -> None:
    """Removes the record-search indices under ``prefix`` (never Wagtail's ``…cms_`` ones)."""
    from search.backends.elasticsearch import _client

    client = _client(require_env("ELASTICSEARCH_URL"))
    patterns = ",".join(f"{prefix}{kind}*" for kind in ("case_file", "document"))
    names = list(client.indices.get(index=patterns, allow_no_indices=True).body)
    if names:
        client.indices.delete(index=",".join(names))


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def id_for(serial: int, county: str = COUNTY, x: bool = False) -> str:
    """A valid ID number; with ``x`` the first serial from ``serial`` on whose check character is X."""
    while True:
        first17 = f"{county}19800101{serial:03d}"
        check = id_check_char(first17)
        if not x or check == "X":
            return first17 + check
        serial += 1


def division(code: str, name: str, level: str) -> None:
    parent = code[:9] if level == "village" else code[:6]
    Division.objects.get_or_create(
        code=code, defaults={"name": name, "level": level, "parent_id": parent}
    )


def person(
    name: str,
    id_number: str,
    *,
    hukou: str = TOWN,
    address: str = "",
    subsidies: tuple[str, ...] = ("living",),
    status: str = Enrolment.Status.ACTIVE,
    certificate: tuple[int, int] | None = None,
    family: str = "低保",
    expiry: date | None = None,
) -> Person:
    county = hukou[:6]
    row = Person.objects.create(
        name=name,
        id_number=id_number,
        sex="男",
        birth_date=date(1980, 1, 1),
        hukou_code=hukou,
        hukou_address=address,
        county_id=county,
    )
    for subsidy in subsidies:
        Enrolment.objects.create(
            person=row,
            subsidy=subsidy,
            county_id=county,
            status=status,
            start_month=date(2024, 1, 1),
        )
    if certificate:
        category, grade = certificate
        Certificate.objects.create(
            person=row,
            number=f"{id_number}{category}{grade}",
            stem=f"{id_number}{category}{grade}",
            category=category,
            grade=grade,
            expiry_date=expiry,
        )
    FamilyStatus.objects.create(person=row, family_type=family, start_date=date(2024, 1, 1))
    casefiles.case_file_for(row, county)
    return row


def scan(owner: Person, text: str, doc_type: str = "commitment_letter") -> Document:
    """A filed document of the person's case file whose OCR text is ``text`` (no image needed:
    search reads the text)."""
    case_file = owner.case_files.get()
    blob = StoredFile.objects.create(
        sha256=uuid.uuid4().hex * 2, size=1, kind=StoredFile.Kind.PNG, page_count=1
    )
    document = Document.objects.create(
        case_file=case_file, county_id=case_file.county_id, doc_type=doc_type
    )
    version = DocumentVersion.objects.create(
        document=document,
        number=1,
        blob=blob,
        original_name="scan.png",
        ocr_status=DocumentVersion.Ocr.DONE,
        ocr_text=text,
    )
    document.current = version
    document.save(update_fields=["current"])
    return document


@dataclass
class People:
    zhang_san: Person
    zhang_sanfeng: Person
    wang: Person
    ouyang: Person
    li_si: Person
    x_person: Person
    other_county: Person


@pytest.fixture
def people(db, backend) -> People:
    division(TOWN, "青羊镇", "township")
    division(OTHER_TOWN, "西井镇", "township")
    division(EAST, "东王庄村", "village")
    division(WEST, "西王庄村", "village")
    made = People(
        zhang_san=person(
            "张三", id_for(101), hukou=EAST, address="平顺县青羊镇东王庄村3号", certificate=(4, 2)
        ),
        zhang_sanfeng=person(
            "张三丰",
            id_for(202),
            hukou=WEST,
            address="平顺县青羊镇西王庄村8号",
            subsidies=("living", "nursing"),
            certificate=(1, 1),
            expiry=date(2026, 12, 20),
        ),
        wang=person(
            "王小明", id_for(303), family="一般", certificate=(5, 3), expiry=date(2025, 1, 1)
        ),
        ouyang=person(
            "欧阳娜娜", id_for(404), status=Enrolment.Status.SUSPENDED, subsidies=("nursing",)
        ),
        li_si=person("李四", id_for(505)),
        x_person=person("赵六", id_for(606, x=True)),
        other_county=person("张伟", id_for(707, OTHER_COUNTY), hukou=f"{OTHER_TOWN}201"),
    )
    scan(made.li_si, f"承诺书\n{COMMITMENT}\n签名：李四")
    scan(made.wang, "申请审批表 王小明 肢体残疾")
    backend.index_now()
    return made


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, division_code: str | None, role: str = INSPECTOR):
        user = django_user_model.objects.create_user(username, password="pw-Secret-123")
        user.groups.add(Group.objects.get(name=role))
        if division_code:
            UserProfile.objects.create(user=user, division_id=division_code)
        return user

    return make
