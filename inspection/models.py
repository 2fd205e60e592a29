"""Spot checks (抽查) and the annual review (年度集中复核).

* :class:`SpotCheck` — one stored draw: the division, the query and filters that chose the
  population, the plan and the size it gave, the seed, the population size and hash. Enough
  for an auditor to re-derive the sample (docs/inspection.md); never changed after the draw.
* :class:`SpotCheckItem` — one drawn case file: who checks it, the checklist answers and the
  result (合格 / 不合格), with an optional evidence scan filed into the case file.
* :class:`ReviewCampaign` — the annual review of a division for a year.
* :class:`ReviewTask` — one active enrolment to review; its outcome files a review record
  (``review_record``) into the case file and, for 停发 / 暂停, changes the enrolment through
  ``archive.people.enrolments``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from archive.models import CaseFile, Division, Document, Enrolment, EnrolmentChange, Person
from inspection.sampling import PLAN_LABELS

PLAN_CHOICES = list(PLAN_LABELS.items())


class SpotCheck(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "进行中"
        DONE = "done", "已完成"

    division = models.ForeignKey(
        Division, models.PROTECT, related_name="+", verbose_name="抽查区划"
    )
    query = models.CharField("检索词", max_length=200, blank=True)
    filters = models.JSONField("筛选条件", default=dict, blank=True)
    plan = models.CharField("抽样方案", max_length=10, choices=PLAN_CHOICES)
    plan_params = models.JSONField("方案参数", default=dict, blank=True)
    explanation = models.TextField("样本量依据", blank=True)
    stratify = models.CharField(
        "分层", max_length=10, blank=True, choices=[("", "不分层"), ("township", "按乡镇分层")]
    )
    seed = models.CharField("随机种子", max_length=64)
    population = models.PositiveIntegerField("总体数量")
    population_hash = models.CharField("总体哈希（SHA-256）", max_length=64)
    allocation = models.JSONField("各层样本量", default=dict, blank=True)
    status = models.CharField("状态", max_length=6, choices=Status, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="发起人",
    )  # fmt: skip
    created_at = models.DateTimeField("抽取时间", auto_now_add=True)

    class Meta:
        verbose_name = "抽查"
        verbose_name_plural = "抽查"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_spotcheck", "导出抽查结果"),
            ("assign_spotcheck", "分配抽查任务"),
        ]

    def __str__(self) -> str:
        return f"抽查 #{self.pk}（{self.division.name}）"


class SpotCheckItem(models.Model):
    class Result(models.TextChoices):
        PASS = "pass", "合格"
        FAIL = "fail", "不合格"

    #: The checklist: field name → question shown to the inspector.
    CHECKLIST = (
        ("documents_complete", "材料齐全？"),
        ("certificate_valid", "证件有效且与记录一致？"),
        ("still_eligible", "仍符合条件？"),
        ("payment_complete", "发放信息齐全？"),
    )

    spot_check = models.ForeignKey(
        SpotCheck, models.PROTECT, related_name="items", verbose_name="抽查"
    )
    case_file = models.ForeignKey(
        CaseFile, models.PROTECT, related_name="+", verbose_name="补贴档案"
    )
    case_key = models.CharField("档案键", max_length=40)
    township_code = models.CharField("乡镇代码", max_length=9, blank=True)
    rank = models.CharField("抽取序值（SHA-256）", max_length=64)
    position = models.PositiveIntegerField("序号")
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="检查员",
    )  # fmt: skip
    assigned_at = models.DateTimeField("分配时间", null=True, blank=True)
    documents_complete = models.BooleanField("材料齐全", null=True, blank=True)
    certificate_valid = models.BooleanField("证件有效且与记录一致", null=True, blank=True)
    still_eligible = models.BooleanField("仍符合条件", null=True, blank=True)
    payment_complete = models.BooleanField("发放信息齐全", null=True, blank=True)
    result = models.CharField("检查结果", max_length=4, choices=Result, blank=True)
    notes = models.TextField("检查说明", blank=True)
    evidence = models.ForeignKey(
        Document, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="佐证材料",
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="登记人",
    )  # fmt: skip
    recorded_at = models.DateTimeField("登记时间", null=True, blank=True)

    class Meta:
        verbose_name = "抽查对象"
        verbose_name_plural = "抽查对象"
        ordering = ["spot_check_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["spot_check", "case_file"], name="one_item_per_case")
        ]
        indexes = [models.Index(fields=["spot_check", "township_code"])]

    def __str__(self) -> str:
        return f"抽查 #{self.spot_check_id} 第{self.position}份"

    @property
    def is_done(self) -> bool:
        return bool(self.result)


class ReviewCampaign(models.Model):
    year = models.PositiveSmallIntegerField("年度")
    division = models.ForeignKey(
        Division, models.PROTECT, related_name="+", verbose_name="复核区划"
    )
    due_date = models.DateField("完成期限")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="发起人",
    )  # fmt: skip
    created_at = models.DateTimeField("发起时间", auto_now_add=True)

    class Meta:
        verbose_name = "年度集中复核"
        verbose_name_plural = "年度集中复核"
        ordering = ["-year", "division_id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "division"], name="one_campaign_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.year}年度集中复核（{self.division.name}）"


class ReviewTask(models.Model):
    class Outcome(models.TextChoices):
        CONTINUE = "continue", "继续享受"
        STOP = "stop", "停发"
        SUSPEND = "suspend", "暂停"
        OTHER = "other", "其他"

    campaign = models.ForeignKey(
        ReviewCampaign, models.PROTECT, related_name="tasks", verbose_name="年度集中复核"
    )
    enrolment = models.ForeignKey(
        Enrolment, models.PROTECT, related_name="+", verbose_name="补贴享受记录"
    )
    person = models.ForeignKey(Person, models.PROTECT, related_name="+", verbose_name="残疾人")
    county = models.ForeignKey(Division, models.PROTECT, related_name="+", verbose_name="县（区）")
    township_code = models.CharField("乡镇代码", max_length=9, blank=True, db_index=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="复核人",
    )  # fmt: skip
    outcome = models.CharField("复核结论", max_length=8, choices=Outcome, blank=True)
    note = models.TextField("说明", blank=True)
    stop_reason = models.CharField("停发（暂停）原因", max_length=32, blank=True)
    month = models.DateField("生效年月", null=True, blank=True)
    record = models.ForeignKey(
        Document, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="复核记录",
    )  # fmt: skip
    change = models.ForeignKey(
        EnrolmentChange, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="补贴变更",
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="登记人",
    )  # fmt: skip
    recorded_at = models.DateTimeField("登记时间", null=True, blank=True)

    class Meta:
        verbose_name = "复核任务"
        verbose_name_plural = "复核任务"
        ordering = ["campaign_id", "township_code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "enrolment"], name="one_task_per_enrolment")
        ]
        indexes = [models.Index(fields=["campaign", "county", "township_code"])]

    def __str__(self) -> str:
        return f"复核 {self.person.name} {self.enrolment.get_subsidy_display()}"

    @property
    def is_done(self) -> bool:
        return bool(self.outcome)
