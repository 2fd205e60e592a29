"""Codes the whole system speaks, each declared once with its Chinese label: the comparison's
finding codes (with the rosters each needs, docs/rules.md), the flags an import keeps on a
record (docs/formats.md) with the finding each becomes, the actions a finding asks for,
the subsidies, and the retention periods (保管期限) of the archive (docs/archive.md).

Models, forms, exports, the engine and the pages all import these tables; none spells a label
of its own, so a label changed here changes everywhere and a grep finds each code once.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from core.numbers import CERT_CODE_MISMATCH, CERT_ID_MISMATCH

Subsidy = Literal["living", "nursing", "both"]
Action = Literal["STOP", "SUSPEND", "NOTIFY", "WARN", "FIX_DATA"]

#: What a finding asks the office to do, in the order reports list them.
ACTION_LABELS: dict[str, str] = {
    "STOP": "停发",
    "SUSPEND": "暂停",
    "NOTIFY": "告知",
    "WARN": "提醒",
    "FIX_DATA": "更正数据",
}
ACTIONS: tuple[str, ...] = tuple(ACTION_LABELS)

#: The two subsidies (short labels for lists; ``core.eligibility.SUBSIDIES`` has the full names)
#: and ``both``, which a finding uses when it concerns both.
SUBSIDY_LABELS: dict[str, str] = {"living": "生活补贴", "nursing": "护理补贴", "both": "两项补贴"}


class FindingCode(NamedTuple):
    """One row of the findings table: the code, its label, and the comparison rosters the rule
    needs (all of them, or with ``any_of`` any one); a rule whose rosters were not supplied is
    reported as not evaluated rather than as "nothing found"."""

    code: str
    label: str
    needs: tuple[str, ...] = ()
    any_of: bool = False


#: Every finding code of docs/rules.md, in the order of its table (also the report order).
FINDING_CODES: tuple[FindingCode, ...] = (
    FindingCode("DECEASED", "死亡", ("death",)),
    FindingCode("HUKOU_MOVED", "户口迁出", ("hukou_out",)),
    FindingCode("NO_CERTIFICATE", "无残疾人证"),
    FindingCode("CERT_CHANGED", "残疾人证信息变更", ("cert_base",)),
    FindingCode("CERT_CANCELLED", "残疾人证注销", ("cert_base",)),
    FindingCode("CERT_FROZEN", "残疾人证冻结", ("cert_base",)),
    FindingCode("CERT_EXPIRED", "残疾人证过期"),
    FindingCode("CERT_EXPIRING", "残疾人证即将过期"),
    FindingCode("GRADE_INSUFFICIENT", "残疾等级不足"),
    FindingCode("LEFT_ASSISTANCE", "已退出低保或低保边缘", ("assistance",)),
    FindingCode(
        "DUPLICATE_BENEFIT",
        "违反政策衔接重复享受",
        ("assistance", "work_injury_care", "orphan"),
        any_of=True,
    ),
    FindingCode("IMPRISONED", "在监服刑", ("prison",)),
    FindingCode("DUPLICATE_ENROLMENT", "跨区域重复享受"),
    FindingCode("ELIGIBLE_NOT_ENROLLED", "应享未享", ("cert_base",)),
    FindingCode(CERT_ID_MISMATCH, "残疾人证号与身份号码不一致"),
    FindingCode(CERT_CODE_MISMATCH, "残疾人证号与登记类别等级不一致"),
)
CODE_LABELS: dict[str, str] = {row.code: row.label for row in FINDING_CODES}
CODES: tuple[str, ...] = tuple(CODE_LABELS)


class FlagCode(NamedTuple):
    """A problem of a roster row that the import keeps and flags rather than rejects
    (docs/formats.md, "Rejected or flagged"): its code, its label, whether it concerns the
    person (``False``: the enrolment of the row's subsidy), and the finding code by which the
    next comparison reports it (``None`` where docs/rules.md has no rule for it)."""

    code: str
    label: str
    finding: str | None
    of_person: bool = True


NURSING_NO_CERT = "NURSING_NO_CERT"
LIVING_NO_CERT = "LIVING_NO_CERT"
NURSING_NOT_QUALIFIED = "NURSING_NOT_QUALIFIED"
LIVING_NOT_QUALIFIED = "LIVING_NOT_QUALIFIED"
SEX_MISMATCH = "SEX_MISMATCH"

#: Every flag an import raises, in the order a record page lists them.
FLAG_CODES: tuple[FlagCode, ...] = (
    FlagCode(CERT_CODE_MISMATCH, CODE_LABELS[CERT_CODE_MISMATCH], CERT_CODE_MISMATCH),
    FlagCode(CERT_ID_MISMATCH, CODE_LABELS[CERT_ID_MISMATCH], CERT_ID_MISMATCH),
    FlagCode(NURSING_NO_CERT, "享受护理补贴但未登记残疾人证", "NO_CERTIFICATE", of_person=False),
    FlagCode(LIVING_NO_CERT, "享受生活补贴但未登记残疾人证", "NO_CERTIFICATE", of_person=False),
    FlagCode(
        NURSING_NOT_QUALIFIED,
        "残疾类别、等级不符合护理补贴条件",
        "GRADE_INSUFFICIENT",
        of_person=False,
    ),
    FlagCode(
        LIVING_NOT_QUALIFIED, "家庭类别不符合生活补贴条件", "LEFT_ASSISTANCE", of_person=False
    ),
    FlagCode(SEX_MISMATCH, "性别与身份号码不符", None),
)
FLAGS: dict[str, FlagCode] = {row.code: row for row in FLAG_CODES}
FLAG_LABELS: dict[str, str] = {row.code: row.label for row in FLAG_CODES}


class Retention(NamedTuple):
    """A 保管期限: its code as it appears in a 档号, its label, and its years (None: 永久)."""

    code: str
    label: str
    years: int | None


#: The retention periods of docs/archive.md; the years are defaults that
#: ``settings.ARCHIVE_RETENTION_YEARS`` may override.
RETENTION_PERIODS: tuple[Retention, ...] = (
    Retention("Y", "永久", None),
    Retention("D30", "30年", 30),
    Retention("D10", "10年", 10),
)
RETENTIONS: dict[str, str] = {row.code: row.label for row in RETENTION_PERIODS}
RETENTION_YEARS: dict[str, int] = {r.code: r.years for r in RETENTION_PERIODS if r.years}
