"""The document types of a standardized case file (docs/archive.md) — the one list that the
checklist, upload, OCR classification and 档号 retention all read.

The checklist an office applies is data (administrators can change it, with history); this
table is the default it starts from.
"""

from __future__ import annotations

from typing import NamedTuple


class DocumentType(NamedTuple):
    code: str
    name: str
    required_for: str  # "both", "living", "nursing", or "" (conditional or never required)
    condition: str  # when a conditional type is required, in Chinese; "" when always/never
    retention: str  # default 保管期限: "Y" (永久), "D30", "D10"
    #: 责任者 of the 卷内目录 (DA/T 22): who made the document; "{county}" is the case file's
    #: county, "" the person themself (an applicant's form, their own letter).
    responsible: str = ""


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    DocumentType("application_form", "残疾人两项补贴申请审批表", "both", "", "D30"),
    DocumentType("id_card", "居民身份证（复印件）", "both", "", "D10", "公安机关"),
    DocumentType("household_register", "户口簿（常住人口登记卡）", "both", "", "D10", "公安机关"),
    DocumentType(
        "disability_certificate", "残疾人证（复印件）", "both", "", "D10", "{county}残疾人联合会"
    ),
    DocumentType("commitment_letter", "政策告知承诺书", "both", "", "D10"),
    DocumentType(
        "assistance_certificate", "低保 / 低保边缘证明", "living", "", "D10", "{county}民政局"
    ),
    DocumentType("bank_card", "银行卡 / 社保卡（一卡通）复印件", "both", "", "D10", "发卡银行"),
    DocumentType(
        "guardian_authorization", "监护人 / 委托代理证明", "", "监护人或代理人代办时", "D10"
    ),
    DocumentType(
        "institution_statement",
        "儿童福利机构说明",
        "",
        "护理补贴发放给儿童福利机构时",
        "D10",
        "儿童福利机构",
    ),
    DocumentType("review_record", "年度复核记录", "", "享受补贴的每一年", "D10", "{county}民政局"),
    DocumentType(
        "change_approval",
        "变更 / 停发 / 恢复审批材料",
        "",
        "补贴发生变更时",
        "D30",
        "{county}民政局",
    ),
    DocumentType("other", "其他", "", "", "D10"),
)

BY_CODE: dict[str, DocumentType] = {t.code: t for t in DOCUMENT_TYPES}
CHOICES: list[tuple[str, str]] = [(t.code, t.name) for t in DOCUMENT_TYPES]
