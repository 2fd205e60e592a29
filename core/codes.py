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
#: The actions that change a payment, so a person must verify (核查) the finding first.
VERIFIED_ACTIONS: tuple[str, ...] = ("STOP", "SUSPEND")

#: What the audit log (审计日志) records, as people read it.
AUDIT_ACTION_LABELS: dict[str, str] = {
    "view": "查看档案",
    "denied": "越权访问（已拒绝）",
    "permission_denied": "无权限（已拒绝）",
    "export": "导出",
    "download": "下载",
    "job_cancel": "取消后台任务",
    "print": "打印",
    "import": "导入花名册",
    "import_preview": "预览导入",
    "import_rejected_download": "下载被拒绝的行",
    "person_create": "登记残疾人",
    "person_change": "修改残疾人信息",
    "certificate_change": "残疾人证变更",
    "family_status_change": "家庭类别变更",
    "enrolment_stop": "停发",
    "enrolment_suspend": "暂停发放",
    "enrolment_resume": "恢复发放",
    "ruleset_add": "新增认定规则",
    "user_create": "新建用户",
    "user_change": "修改用户",
    "user_delete": "删除用户",
    "password_reset": "重置密码",
    "login": "登录",
    "login_failed": "登录失败",
    "lockout": "账号锁定",
    "view_casefile": "查看补贴档案",
    "open_casefile": "建立补贴档案",
    "view_document": "查看档案文件",
    "view_inbox": "查看待归档扫描件",
    "upload_document": "上传档案文件",
    "flag_active_pdf": "标记含脚本的 PDF",
    "replace_document": "替换档案文件",
    "move_document": "调整档案文件",
    "delete_document": "作废档案文件",
    "split_document": "按页拆分档案文件",
    "rerun_ocr": "重新识别档案文件",
    "rerun_ocr_filter": "按筛选结果重新识别",
    "save_search": "保存常用检索",
    "delete_saved_search": "删除常用检索",
    "download_original": "下载原件",
    "export_casefile": "导出补贴档案",
    "export_catalogue": "导出档案目录",
    "print_catalogue": "打印档案目录",
    "change_checklist": "修订材料清单",
    "integrity_check": "完整性校验",
    "view_appraisal": "查看到期鉴定",
    "export_appraisal": "导出到期鉴定",
    "roster_upload": "上传比对数据",
    "review_run": "发起比对",
    "review_verify": "核查",
    "review_verify_bulk": "批量核查",
    "review_reverse": "撤销核查",
    "review_notify": "告知",
    "review_outcome": "复核结论",
    "review_campaign_create": "新建年度复核",
    "spot_check_create": "新建抽查",
    "spot_check_assign": "分派抽查",
    "spot_check_result": "登记抽查结果",
    "search_rebuild": "重建检索索引",
    "view_ocr_review": "查看 OCR 核对",
    "ocr_accept": "确认 OCR 识别结果",
    "ocr_correct": "更正 OCR 识别结果",
}
#: What the audit log records an action on, for the objects that are no model; a model's
#: object type ("archive.Document") reads as its verbose_name (``AuditLog.object_label``).
AUDIT_OBJECT_LABELS: dict[str, str] = {
    "archive.ImportUpload": "上传的花名册",
    "search": "检索",
    "url": "页面",
}

#: The two subsidies by their full names (letters, forms, rule sets; ``core.eligibility``
#: calls them ``SUBSIDIES``).
SUBSIDY_NAMES: dict[str, str] = {
    "living": "困难残疾人生活补贴",
    "nursing": "重度残疾人护理补贴",
}
#: Their short labels for lists and filters, and ``both``, which a finding uses when it
#: concerns both.
SUBSIDY_LABELS: dict[str, str] = {"living": "生活补贴", "nursing": "护理补贴", "both": "两项补贴"}


class FindingCode(NamedTuple):
    """One row of the findings table: the code, its label, the action it asks of the office,
    and the comparison rosters the rule needs (all of them, or with ``any_of`` any one); a rule
    whose rosters were not supplied is reported as not evaluated rather than as "nothing
    found". ``lesser_action`` is asked instead when the rule set only suspends (暂停) what the
    finding concerns (docs/rules.md, policy connection)."""

    code: str
    label: str
    action: Action
    needs: tuple[str, ...] = ()
    any_of: bool = False
    lesser_action: Action | None = None


#: Every finding code of docs/rules.md, in the order of its table (also the report order).
FINDING_CODES: tuple[FindingCode, ...] = (
    FindingCode("DECEASED", "死亡", "STOP", ("death",)),
    FindingCode("HUKOU_MOVED", "户口迁出", "STOP", ("hukou_out",)),
    FindingCode("NO_CERTIFICATE", "无残疾人证", "STOP"),
    FindingCode("CERT_CHANGED", "残疾人证信息变更", "FIX_DATA", ("cert_base",)),
    FindingCode("CERT_CANCELLED", "残疾人证注销", "STOP", ("cert_base",)),
    FindingCode("CERT_FROZEN", "残疾人证冻结", "WARN", ("cert_base",)),
    FindingCode("CERT_EXPIRED", "残疾人证过期", "STOP"),
    FindingCode("CERT_EXPIRING", "残疾人证即将过期", "WARN"),
    FindingCode("GRADE_INSUFFICIENT", "残疾等级不足", "STOP"),
    FindingCode("LEFT_ASSISTANCE", "已退出低保或低保边缘", "STOP", ("assistance",)),
    FindingCode(
        "DUPLICATE_BENEFIT",
        "违反政策衔接重复享受",
        "STOP",
        ("assistance", "work_injury_care", "orphan"),
        any_of=True,
        lesser_action="SUSPEND",
    ),
    FindingCode("IMPRISONED", "在监服刑", "SUSPEND", ("prison",)),
    FindingCode("DUPLICATE_ENROLMENT", "跨区域重复享受", "STOP"),
    FindingCode("ELIGIBLE_NOT_ENROLLED", "应享未享", "NOTIFY", ("cert_base",)),
    FindingCode(CERT_ID_MISMATCH, "残疾人证号与身份号码不一致", "FIX_DATA"),
    FindingCode(CERT_CODE_MISMATCH, "残疾人证号与登记类别等级不一致", "FIX_DATA"),
)
CODE_LABELS: dict[str, str] = {row.code: row.label for row in FINDING_CODES}
CODES: tuple[str, ...] = tuple(CODE_LABELS)
#: The action each finding code asks (the engine binds it into its SQL; nothing spells it twice).
CODE_ACTIONS: dict[str, str] = {row.code: row.action for row in FINDING_CODES}


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
PERMANENT = "Y"
RETENTION_PERIODS: tuple[Retention, ...] = (
    Retention(PERMANENT, "永久", None),
    Retention("D30", "30年", 30),
    Retention("D10", "10年", 10),
)
RETENTIONS: dict[str, str] = {row.code: row.label for row in RETENTION_PERIODS}
RETENTION_YEARS: dict[str, int] = {r.code: r.years for r in RETENTION_PERIODS if r.years}


#: The fields OCR reads from a page (``ocr.extract.FIELD_NAMES``, and the document type), as
#: the OCR 核对 queue and its accuracy report name them, in the order the review page lists them.
OCR_FIELD_LABELS: dict[str, str] = {
    "certificate_number": "残疾人证号",
    "id_number": "公民身份号码",
    "name": "姓名",
    "category": "残疾类别",
    "grade": "残疾等级",
    "valid_until": "有效期至",
    "doc_type": "材料类型",
}
#: The OCR engines (``OCR_ENGINE``) as the accuracy report names them; "" for results stored
#: before the engine was recorded.
OCR_ENGINE_LABELS: dict[str, str] = {
    "rapidocr": "RapidOCR（PP-OCR）",
    "tesseract": "Tesseract",
    "": "未记录",
}
#: Why an OCR result waits for a person in the OCR 核对 queue, most urgent first; the first
#: two put it at the head of the queue, low confidence next, the rest after
#: (``archive.documents.ocr_review``).
OCR_REVIEW_REASONS: dict[str, str] = {
    "mismatch": "与档案不一致",
    "invalid": "校验未通过或自相矛盾",
    "low_confidence": "识别不可靠",
    "unread": "有字段未识别",
}
