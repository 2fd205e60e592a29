"""The records every other part reads and writes: divisions, people, certificates, family
status, enrolments, rule sets, imports and the audit log.

Nothing here is ever deleted or overwritten in place where history matters: a changed
certificate or family status closes the old row and opens a new one, an enrolment changes only
through `EnrolmentChange` rows written by `archive.people.enrolments`, and the audit log refuses
updates and deletes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from core import numbers
from core.codes import AUDIT_ACTION_LABELS, AUDIT_OBJECT_LABELS, FLAG_LABELS
from core.divisions import division_prefix, township_of
from core.eligibility import SUBSIDIES


class DivisionQuerySet(models.QuerySet):
    def names(self, codes: Iterable[str]) -> dict[str, str]:
        """code → name of the given codes (blank codes skipped, unknown ones absent): how every
        list and filter shows a place by its name instead of its code."""
        wanted = {code for code in codes if code}
        if not wanted:
            return {}
        return dict(self.filter(code__in=wanted).values_list("code", "name"))

    def townships_within(self, prefix: str | None) -> DivisionQuerySet:
        """The current townships under a jurisdiction prefix (`archive.access.user_prefix`):
        the only ones a township filter offers that user. ``None`` is no jurisdiction."""
        townships = self.filter(level=Division.Level.TOWNSHIP, successor__isnull=True)
        return townships.none() if prefix is None else townships.filter(code__startswith=prefix)

    def counties_within(self, prefix: str | None) -> DivisionQuerySet:
        """The current counties under a jurisdiction prefix, as :meth:`townships_within`."""
        counties = self.filter(level=Division.Level.COUNTY, successor__isnull=True)
        return counties.none() if prefix is None else counties.filter(code__startswith=prefix)


class Division(models.Model):
    """An administrative division (GB/T 2260). Codes nest by prefix, which is what makes
    jurisdiction a cheap `startswith` filter: province `14`, city `1404`, county `140425`,
    township `140425100`, village `140425100201`."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省"
        CITY = "city", "市"
        COUNTY = "county", "县（区）"
        TOWNSHIP = "township", "乡（镇、街道）"
        VILLAGE = "village", "村（社区）"

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=64)
    level = models.CharField("级别", max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name="上级"
    )
    successor = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="predecessors",
        verbose_name="现行区划",
        help_text="撤销的旧区划（如2018年前的代码）所并入的现行区划；旧代码仍出现在身份号码前六位。",
    )

    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def prefix(self) -> str:
        return division_prefix(self.code)

    @property
    def is_current(self) -> bool:
        return self.successor_id is None


class Person(models.Model):
    name = models.CharField("姓名", max_length=64)
    id_number = models.CharField("公民身份号码", max_length=18, unique=True)
    sex = models.CharField("性别", max_length=1, choices=[("男", "男"), ("女", "女")])
    birth_date = models.DateField("出生日期")
    phone = models.CharField("联系电话", max_length=32, blank=True)
    guardian = models.CharField("监护人或代理人", max_length=64, blank=True)
    hukou_code = models.CharField("户籍区划代码", max_length=12)
    hukou_address = models.CharField("户籍地址", max_length=255, blank=True)
    county = models.ForeignKey(
        Division, models.PROTECT, related_name="people", verbose_name="户籍县（区）"
    )
    is_demo = models.BooleanField("演示数据", default=False, db_index=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "残疾人"
        verbose_name_plural = "残疾人"
        ordering = ["county_id", "name"]
        indexes = [models.Index(fields=["county", "name"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id}）"

    @property
    def hukou_place(self) -> str:
        """户籍 as people say it: the names of its county, township and village (平顺县城关镇…)
        that the division table knows; pages show the code beside it."""
        codes = list(dict.fromkeys([self.county_id, township_of(self.hukou_code), self.hukou_code]))
        names = Division.objects.names(codes)
        return "".join(names[code] for code in codes if code in names)

    @property
    def masked_id(self) -> str:
        return numbers.mask_id(self.id_number)

    @property
    def current_certificate(self) -> Certificate | None:
        return next((c for c in self.certificates.all() if c.is_current), None)

    @property
    def current_family_status(self) -> FamilyStatus | None:
        return next((f for f in self.family_statuses.all() if f.end_date is None), None)


class Certificate(models.Model):
    """A disability certificate as recorded. A re-assessment or status change closes this row
    (is_current=False, superseded_at) and opens a new one, so the history stays readable."""

    class Status(models.TextChoices):
        NORMAL = "正常", "正常"
        FROZEN = "冻结", "冻结"
        CANCELLED = "注销", "注销"

    person = models.ForeignKey(
        Person, models.PROTECT, related_name="certificates", verbose_name="持证人"
    )
    number = models.CharField("残疾人证号", max_length=24)
    stem = models.CharField("证号主体（20位）", max_length=20, db_index=True)
    category = models.PositiveSmallIntegerField(
        "残疾类别", choices=sorted(numbers.CATEGORIES.items())
    )
    grade = models.PositiveSmallIntegerField("残疾等级", choices=sorted(numbers.GRADES.items()))
    issue_date = models.DateField("发证日期", null=True, blank=True)
    expiry_date = models.DateField("有效期至", null=True, blank=True)
    long_term = models.BooleanField("长期有效", default=False)
    status = models.CharField("证件状态", max_length=2, choices=Status, default=Status.NORMAL)
    is_current = models.BooleanField("现行", default=True)
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)
    superseded_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = "残疾人证"
        verbose_name_plural = "残疾人证"
        ordering = ["person_id", "-recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(is_current=True), name="one_current_certificate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number}（{self.get_category_display()}{self.get_grade_display()}）"

    def same_facts(self, other: Certificate) -> bool:
        fields = ("number", "category", "grade", "issue_date", "expiry_date", "long_term", "status")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


class FamilyStatus(models.Model):
    class FamilyType(models.TextChoices):
        DIBAO = "低保", "低保"
        DIBAO_EDGE = "低保边缘", "低保边缘"
        TEKUN = "特困", "特困"
        ORDINARY = "一般", "一般"

    person = models.ForeignKey(
        Person, models.PROTECT, related_name="family_statuses", verbose_name="残疾人"
    )
    family_type = models.CharField("家庭类别", max_length=4, choices=FamilyType)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期", null=True, blank=True)

    class Meta:
        verbose_name = "家庭救助类别"
        verbose_name_plural = "家庭救助类别"
        ordering = ["person_id", "-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(end_date__isnull=True), name="one_open_family_status"
            )
        ]

    def __str__(self) -> str:
        return self.family_type


class Enrolment(models.Model):
    """A person receiving one subsidy from one county. The status fields are a cache of the
    latest `EnrolmentChange`; change them only through `archive.people.enrolments`."""

    class Status(models.TextChoices):
        ACTIVE = "active", "正常发放"
        SUSPENDED = "suspended", "暂停发放"
        STOPPED = "stopped", "停止发放"

    class Payee(models.TextChoices):
        SELF = "本人", "本人"
        INSTITUTION = "儿童福利机构", "儿童福利机构"

    person = models.ForeignKey(
        Person, models.PROTECT, related_name="enrolments", verbose_name="残疾人"
    )
    subsidy = models.CharField("补贴类别", max_length=8, choices=list(SUBSIDIES.items()))
    county = models.ForeignKey(
        Division, models.PROTECT, related_name="enrolments", verbose_name="发放县（区）"
    )
    status = models.CharField("状态", max_length=10, choices=Status, default=Status.ACTIVE)
    monthly_amount = models.DecimalField(
        "补贴标准（元/月）", max_digits=8, decimal_places=2, null=True, blank=True
    )
    payee = models.CharField("发放对象", max_length=8, choices=Payee, default=Payee.SELF)
    start_month = models.DateField("起始年月", null=True, blank=True)
    stop_month = models.DateField("停发年月", null=True, blank=True)
    stop_reason = models.CharField("停发原因", max_length=32, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField("变更时间", auto_now=True)

    class Meta:
        verbose_name = "补贴享受记录"
        verbose_name_plural = "补贴享受记录"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "subsidy", "county"], name="one_enrolment_per_county"
            )
        ]
        indexes = [models.Index(fields=["county", "subsidy", "status"])]

    def __str__(self) -> str:
        return f"{self.person.name} {self.get_subsidy_display()}（{self.get_status_display()}）"


class EnrolmentChange(models.Model):
    """One entry in an enrolment's history: what was done, from which month, why, by whom."""

    class Action(models.TextChoices):
        ENROL = "enrol", "纳入"
        STOP = "stop", "停发"
        SUSPEND = "suspend", "暂停"
        RESUME = "resume", "恢复"
        AMEND = "amend", "变更标准或发放对象"

    enrolment = models.ForeignKey(
        Enrolment, models.PROTECT, related_name="changes", verbose_name="补贴享受记录"
    )
    action = models.CharField("操作", max_length=8, choices=Action)
    from_status = models.CharField("原状态", max_length=10, blank=True)
    to_status = models.CharField("新状态", max_length=10)
    month = models.DateField("生效年月", null=True, blank=True)
    reason = models.CharField("原因代码", max_length=32, blank=True)
    note = models.TextField("说明", blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField("操作时间", auto_now_add=True)
    source = models.CharField("来源", max_length=64, blank=True, help_text="导入批次、比对核查等")

    class Meta:
        verbose_name = "补贴变更记录"
        verbose_name_plural = "补贴变更记录"
        ordering = ["enrolment_id", "changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.month or ''} {self.reason}".strip()


class RuleSetVersion(models.Model):
    """A stored `core.eligibility.RuleSet`. Versions are appended, never edited, so every
    comparison run can say which rules it applied."""

    name = models.CharField("名称", max_length=64)
    effective_from = models.DateField("生效日期")
    legal_basis = models.TextField("政策依据")
    data = models.JSONField("规则内容")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "认定规则"
        verbose_name_plural = "认定规则"
        ordering = ["-effective_from", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name}（{self.effective_from} 起）"


class ImportRecord(models.Model):
    """Who imported which file (by SHA-256), when, how, and with what outcome."""

    kind = models.CharField("导入类别", max_length=32, default="beneficiaries")
    filename = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    mode = models.CharField("方式", max_length=16)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    rejected = models.PositiveIntegerField("拒绝", default=0)
    flagged = models.PositiveIntegerField("有问题标记", default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        verbose_name = "导入记录"
        verbose_name_plural = "导入记录"
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.filename}（{self.imported_at:%Y-%m-%d %H:%M}）"


class DataFlagQuerySet(models.QuerySet):
    def open(self) -> DataFlagQuerySet:
        return self.filter(cleared_at__isnull=True)


class DataFlag(models.Model):
    """A problem of a record that an import kept instead of rejecting (docs/formats.md,
    "Rejected or flagged"), e.g. a certificate number contradicting the recorded grade.

    Raised by the import whose row had it and cleared (never deleted) by a later import whose
    row no longer has it, so the record page can say what was wrong and when it was put right.
    A flag of the person has no enrolment; a flag of a subsidy names the enrolment it
    concerns. An open flag is not raised twice (the constraints below)."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="flags", verbose_name="残疾人")
    enrolment = models.ForeignKey(
        Enrolment,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="flags",
        verbose_name="补贴享受记录",
    )
    code = models.CharField("问题", max_length=32, choices=list(FLAG_LABELS.items()))
    column = models.CharField("所在列", max_length=16, blank=True)
    message = models.CharField("说明", max_length=255)
    raised_by = models.ForeignKey(
        ImportRecord,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="raised_flags",
        verbose_name="发现于导入",
    )
    raised_at = models.DateTimeField("发现时间")
    cleared_by = models.ForeignKey(
        ImportRecord,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="cleared_flags",
        verbose_name="更正于导入",
    )
    cleared_at = models.DateTimeField("更正时间", null=True, blank=True)

    objects = DataFlagQuerySet.as_manager()

    class Meta:
        verbose_name = "数据问题标记"
        verbose_name_plural = "数据问题标记"
        ordering = ["person_id", "-raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "code"],
                condition=Q(cleared_at__isnull=True, enrolment__isnull=True),
                name="one_open_person_flag",
            ),
            models.UniqueConstraint(
                fields=["enrolment", "code"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_enrolment_flag",
            ),
        ]
        indexes = [models.Index(fields=["code", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.get_code_display()}：{self.message}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class UserProfile(models.Model):
    """Which division a user works for: they see and touch records inside it only."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="subsidy_profile"
    )
    division = models.ForeignKey(Division, models.PROTECT, verbose_name="所属区划")

    class Meta:
        verbose_name = "用户所属区划"
        verbose_name_plural = "用户所属区划"

    def __str__(self) -> str:
        return f"{self.user} → {self.division}"


class AuditLog(models.Model):
    """Append-only record of who saw or changed personal data. Refuses updates and deletes:
    here in the ORM, for everyone in the admin (no edit or delete views), and in the database
    itself (triggers on PostgreSQL and SQLite, migration 0005), so `QuerySet.update()` and
    `delete()` or a SQL shell cannot rewrite history either."""

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    username = models.CharField("用户", max_length=150, blank=True)
    action = models.CharField("操作", max_length=32, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True)
    object_id = models.CharField("对象", max_length=64, blank=True, db_index=True)
    detail = models.CharField("详情", max_length=500, blank=True)
    ip = models.GenericIPAddressField("IP 地址", null=True, blank=True)

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionDenied("审计日志不可修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("审计日志不可删除。")

    @property
    def action_label(self) -> str:
        return AUDIT_ACTION_LABELS.get(self.action, self.action)

    @property
    def object_label(self) -> str:
        """The kind of object as people read it: its model's verbose_name (档案文件 for
        "archive.Document"), else AUDIT_OBJECT_LABELS; the stored type itself if neither."""
        if self.object_type in AUDIT_OBJECT_LABELS:
            return AUDIT_OBJECT_LABELS[self.object_type]
        try:
            return str(apps.get_model(self.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.object_type


# --- Standardized case files (补贴档案) and their scanned documents ---------------------------
# Appended for issue 4. The original bytes of every scan live under PRIVATE_MEDIA_ROOT, named
# by their SHA-256 (`archive.documents.storage`); these rows say what they are, where they are filed and
# who did what. Documents are never deleted: a replaced document keeps its old versions, a
# withdrawn one is soft-deleted with a reason.


class ChecklistVersion(models.Model):
    """The checklist an office applies (which document types a case file needs). Versions are
    appended, never edited; the latest is the one in force. The default is built from
    `core.doctypes.DOCUMENT_TYPES`."""

    items = models.JSONField(
        "清单", help_text="[{code, name, required_for, condition, retention}]，顺序即卷内顺序"
    )
    note = models.CharField("修订说明", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("修订时间", auto_now_add=True)

    class Meta:
        verbose_name = "档案材料清单"
        verbose_name_plural = "档案材料清单"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"材料清单（{self.created_at:%Y-%m-%d %H:%M}）"


class CaseFile(models.Model):
    """The case file of one beneficiary in one county (one per person and enrolment county),
    created on demand. Completeness is computed by `archive.casefiles.refresh` whenever a
    document changes and stored here, so that lists filter and sort without per-row queries."""

    person = models.ForeignKey(
        Person, models.PROTECT, related_name="case_files", verbose_name="残疾人"
    )
    county = models.ForeignKey(
        Division, models.PROTECT, related_name="case_files", verbose_name="县（区）"
    )
    completeness = models.PositiveSmallIntegerField("完整度（%）", default=0)
    missing = models.CharField(
        "缺少材料", max_length=400, blank=True, help_text="以逗号分隔并首尾加逗号的类型代码"
    )
    document_count = models.PositiveIntegerField("文件数", default=0)
    page_count = models.PositiveIntegerField("页数", default=0)
    checklist = models.ForeignKey(
        ChecklistVersion, models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("建档时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "补贴档案"
        verbose_name_plural = "补贴档案"
        ordering = ["county_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "county"], name="one_case_file_per_county")
        ]
        indexes = [models.Index(fields=["county", "completeness"])]
        permissions = [("export_casefile", "导出补贴档案")]

    def __str__(self) -> str:
        return f"{self.person.name}（{self.person.masked_id}）· {self.county.name}"

    @property
    def missing_codes(self) -> list[str]:
        return [code for code in self.missing.split(",") if code]


class StoredFile(models.Model):
    """One original file as uploaded, stored once however often it is uploaded."""

    class Kind(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        TIFF = "tiff", "TIFF"
        PDF = "pdf", "PDF"

    class Check(models.TextChoices):
        UNCHECKED = "", "未校验"
        OK = "ok", "完好"
        MISSING = "missing", "缺失"
        ALTERED = "altered", "已被改动"

    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    size = models.BigIntegerField("字节数")
    kind = models.CharField("格式", max_length=4, choices=Kind)
    page_count = models.PositiveIntegerField("页数")
    stored_at = models.DateTimeField("存储时间", auto_now_add=True)
    checked_at = models.DateTimeField("校验时间", null=True, blank=True)
    check_status = models.CharField(
        "校验结果", max_length=8, choices=Check, default=Check.UNCHECKED, blank=True
    )

    class Meta:
        verbose_name = "原件"
        verbose_name_plural = "原件"

    def __str__(self) -> str:
        return f"{self.sha256[:12]}…（{self.get_kind_display()}，{self.page_count} 页）"


class Document(models.Model):
    """One item (件) of a case file, or an unfiled scan waiting in an inbox (`case_file` empty).

    It is *filed* once it has a case file and a document type; then it gets its 档号, once.
    `county` is its jurisdiction: the case file's county, or for the inbox the uploader's
    division. The file itself is in `versions`; `current` is the one in force."""

    case_file = models.ForeignKey(
        CaseFile,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name="补贴档案",
    )
    county = models.ForeignKey(
        Division, models.PROTECT, null=True, blank=True, related_name="+", verbose_name="辖区"
    )
    doc_type = models.CharField("材料类型", max_length=32, blank=True, db_index=True)
    title = models.CharField("题名", max_length=200, blank=True)
    doc_date = models.DateField("日期", null=True, blank=True)
    current = models.ForeignKey(
        "DocumentVersion", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    archival_code = models.CharField("档号", max_length=64, null=True, blank=True, unique=True)
    retention = models.CharField("保管期限", max_length=4, blank=True)
    filed_year = models.PositiveSmallIntegerField("年度", null=True, blank=True)
    item_number = models.PositiveIntegerField("件号", null=True, blank=True)
    filed_at = models.DateTimeField("归档时间", null=True, blank=True)
    proposed_person = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="识别人员"
    )
    proposed_type = models.CharField("识别类型", max_length=32, blank=True)
    proposal_confidence = models.FloatField("识别置信度", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    deleted_at = models.DateTimeField("作废时间", null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    delete_reason = models.CharField("作废原因", max_length=500, blank=True)

    class Meta:
        verbose_name = "档案文件"
        verbose_name_plural = "档案文件"
        ordering = ["case_file_id", "doc_type", "filed_at", "id"]
        indexes = [
            models.Index(fields=["case_file", "doc_type"]),
            models.Index(fields=["county", "case_file"]),
        ]
        permissions = [
            ("soft_delete_document", "作废档案文件（须填写原因）"),
            ("view_appraisal", "查看到期鉴定清单"),
        ]

    def __str__(self) -> str:
        return self.archival_code or f"未归档文件 #{self.pk}"

    @property
    def is_filed(self) -> bool:
        return bool(self.case_file_id and self.doc_type)


class DocumentVersion(models.Model):
    """One uploaded file of a document. Replacing a document adds a version; none is removed."""

    class Ocr(models.TextChoices):
        QUEUED = "queued", "排队识别"
        DONE = "done", "已识别"
        FAILED = "failed", "识别失败"

    document = models.ForeignKey(
        Document, models.PROTECT, related_name="versions", verbose_name="档案文件"
    )
    number = models.PositiveSmallIntegerField("版本")
    blob = models.ForeignKey(
        StoredFile, models.PROTECT, related_name="versions", verbose_name="原件"
    )
    original_name = models.CharField("原文件名", max_length=255)
    note = models.CharField("备注", max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)
    ocr_status = models.CharField("识别状态", max_length=8, choices=Ocr, default=Ocr.QUEUED)
    ocr_queued_at = models.DateTimeField("排队时间", null=True, blank=True)
    ocr_heartbeat_at = models.DateTimeField(
        "识别心跳",
        null=True,
        blank=True,
        help_text="识别进行中时每隔几秒更新；长时间未更新说明识别进程已中止。",
    )
    ocr_pages_done = models.PositiveIntegerField(
        "已识别页数", default=0, help_text="识别进行中时逐页更新，供档案页面显示进度。"
    )
    ocr_text = models.TextField("识别文字", blank=True)
    ocr_fields = models.JSONField("识别结果", default=dict, blank=True)
    ocr_engine = models.CharField("识别引擎", max_length=16, blank=True)
    ocr_priority = models.PositiveSmallIntegerField(
        "核对优先级", default=2, help_text="0 有问题标记或校验未通过，1 识别不可靠，2 其余"
    )
    ocr_reasons = models.CharField(
        "待核对原因", max_length=100, blank=True, help_text="以逗号分隔并首尾加逗号的原因代码"
    )

    class Meta:
        verbose_name = "文件版本"
        verbose_name_plural = "文件版本"
        ordering = ["document_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="one_number_per_version")
        ]
        indexes = [
            models.Index(fields=["ocr_status", "ocr_queued_at"]),
            models.Index(fields=["ocr_status", "ocr_priority"]),
        ]

    def __str__(self) -> str:
        return f"{self.document} 第{self.number}版"


class OcrCheck(models.Model):
    """One field of one file version as a person checked it in the OCR 核对 queue
    (`archive.documents.ocr_review`): the value OCR read, the value confirmed (the same when accepted,
    another when corrected), by whom, when, and which engine had read it. Appended, never
    changed: the accuracy report per field, engine and month is computed from these rows."""

    version = models.ForeignKey(
        DocumentVersion, models.PROTECT, related_name="ocr_checks", verbose_name="文件版本"
    )
    field = models.CharField("字段", max_length=32)
    engine = models.CharField("识别引擎", max_length=16, blank=True)
    value_read = models.CharField("识别值", max_length=64, blank=True)
    value_confirmed = models.CharField("核对值", max_length=64, blank=True)
    corrected = models.BooleanField("已更正", default=False)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name="核对人"
    )
    checked_at = models.DateTimeField("核对时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "OCR 核对记录"
        verbose_name_plural = "OCR 核对记录"
        ordering = ["version_id", "id"]
        indexes = [models.Index(fields=["engine", "field", "checked_at"])]

    def __str__(self) -> str:
        return f"{self.version} {self.field}：{self.value_read} → {self.value_confirmed}"


class ArchivalCounter(models.Model):
    """The last 件号 given out per (全宗, 门类, 年度, 保管期限, 机构). Locked with
    SELECT … FOR UPDATE while a number is taken, in the transaction that files the document,
    so numbers are neither skipped nor reused (`archive.casefiles.archival_codes`)."""

    fonds = models.CharField("全宗号", max_length=16)
    category = models.CharField("门类代码", max_length=8)
    year = models.PositiveSmallIntegerField("年度")
    retention = models.CharField("保管期限", max_length=4)
    org = models.CharField("机构代码", max_length=16)
    last = models.PositiveIntegerField("已用件号", default=0)

    class Meta:
        verbose_name = "件号计数器"
        verbose_name_plural = "件号计数器"
        constraints = [
            models.UniqueConstraint(
                fields=["fonds", "category", "year", "retention", "org"],
                name="one_counter_per_series",
            )
        ]

    def __str__(self) -> str:
        return f"{self.fonds}-{self.category}·{self.year}-{self.retention}-{self.org}: {self.last}"


class IntegrityRun(models.Model):
    """One run of the integrity check: every original re-hashed and compared."""

    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    triggered_by = models.CharField("发起", max_length=150, blank=True)
    checked = models.PositiveIntegerField("已校验", default=0)
    ok = models.PositiveIntegerField("完好", default=0)
    missing = models.PositiveIntegerField("缺失", default=0)
    altered = models.PositiveIntegerField("被改动", default=0)
    orphans = models.PositiveIntegerField("无记录文件", default=0)
    problems = models.JSONField("问题清单", default=list, blank=True)

    class Meta:
        verbose_name = "完整性校验"
        verbose_name_plural = "完整性校验"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"完整性校验 {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def has_problems(self) -> bool:
        return bool(self.missing or self.altered)
