"""The records every other part reads and writes: divisions, people, certificates, family
status, enrolments, rule sets, imports and the audit log.

Nothing here is ever deleted or overwritten in place where history matters: a changed
certificate or family status closes the old row and opens a new one, an enrolment changes only
through `EnrolmentChange` rows written by `archive.enrolments`, and the audit log refuses
updates and deletes.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from archive import numbers
from archive.eligibility import SUBSIDIES
from archive.parsing import division_prefix


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
    latest `EnrolmentChange`; change them only through `archive.enrolments`."""

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
    """A stored `archive.eligibility.RuleSet`. Versions are appended, never edited, so every
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
    """Append-only record of who saw or changed personal data. Refuses updates and deletes,
    in the ORM here and for everyone in the admin (no edit or delete views)."""

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
