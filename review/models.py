"""The records of data comparison (数据比对) and of what people did about its findings.

* :class:`RosterUpload` — one roster file from another department (death list, certificate
  base, …) for a division and a period, kept privately by its SHA-256, with its parse report.
* :class:`ComparisonRun` — one run of :func:`review.engine.compare` for a division and a
  reference date, with its inputs (the uploads, hence the file hashes) and the rule-set
  version it applied.  Immutable once finished: re-running makes a new run.
* :class:`Finding` — one finding of a run, with its evidence; immutable, written in bulk.
* :class:`Verification` — a person's verdict on a STOP/SUSPEND finding (属实 / 不属实), and the
  enrolment changes it made; a wrong verdict is reversed (never deleted) with a reason.
* :class:`NotifyOutcome` — what came of a policy notice (应享未享): applied, declined,
  unreachable.
* :class:`Reminder` — the daily schedule's note that a division's comparison is due but its
  rosters are missing.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from archive.models import Division, Enrolment, EnrolmentChange, Person, RuleSetVersion
from core.codes import ACTION_LABELS, ACTIONS, CODE_LABELS, SUBSIDY_LABELS, VERIFIED_ACTIONS
from review.rosters import ROSTERS

KIND_CHOICES = [(kind, spec.label) for kind, spec in ROSTERS.items()]
CODE_CHOICES = list(CODE_LABELS.items())
ACTION_CHOICES = [(a, ACTION_LABELS[a]) for a in ACTIONS]
SUBSIDY_CHOICES = list(SUBSIDY_LABELS.items())


class RosterUpload(models.Model):
    """A roster file as received. The bytes live under ``PRIVATE_MEDIA_ROOT/rosters`` named by
    their SHA-256 (no URL); the row counts and rejected cells are from parsing it on upload."""

    kind = models.CharField("比对数据类别", max_length=20, choices=KIND_CHOICES)
    division = models.ForeignKey(
        Division, models.PROTECT, related_name="+", verbose_name="适用区划"
    )
    period = models.DateField("数据期间（月）", help_text="数据所属月份的第一天")
    filename = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    size = models.BigIntegerField("字节数", default=0)
    row_count = models.PositiveIntegerField("有效行数", default=0)
    error_count = models.PositiveIntegerField("错误单元格数", default=0)
    errors = models.JSONField("错误（前1000条）", default=list, blank=True)
    unknown_headers = models.JSONField("未识别的列", default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "比对数据"
        verbose_name_plural = "比对数据"
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["division", "kind", "period"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period:%Y-%m}（{self.filename}）"


class RunQuerySet(models.QuerySet):
    """Bulk updates never reach a run that has ended (its state is saved with ``update``)."""

    def update(self, **kwargs):
        return super(RunQuerySet, self.exclude(status__in=ComparisonRun.ENDED)).update(**kwargs)

    def delete(self):
        raise PermissionDenied("比对批次不可删除。")


class FindingQuerySet(models.QuerySet):
    """What a finding's status means lives here, so lists, exports, the dashboard and the
    printed lists all count "open" the same way."""

    def with_status(self) -> FindingQuerySet:
        """Annotates ``verdict`` — the finding's own verdict in force, else the not-confirmed
        verdict it carries from an earlier run (``carried_verification``, still in force) — and
        ``notified``, the latest notice outcome. One subquery each."""
        own = Verification.objects.filter(finding=OuterRef("pk"), reversed_at__isnull=True)
        carried = Verification.objects.filter(
            pk=OuterRef("carried_verification_id"), reversed_at__isnull=True
        )
        outcome = NotifyOutcome.objects.filter(finding=OuterRef("pk")).order_by(
            "-recorded_at", "-id"
        )
        return self.annotate(
            own_verdict=Subquery(own.values("outcome")[:1]),
            carried_verdict=Subquery(carried.values("outcome")[:1]),
            verdict=Coalesce("own_verdict", "carried_verdict"),
            notified=Subquery(outcome.values("outcome")[:1]),
        )

    def open(self) -> FindingQuerySet:
        """Findings still waiting for someone (on a :meth:`with_status` queryset): unverified
        stops/suspensions, notices without an outcome, and warnings and data fixes (closed by
        the next run no longer raising them)."""
        return self.filter(
            Q(action__in=VERIFIED_ACTIONS, verdict__isnull=True)
            | Q(action="NOTIFY", notified__isnull=True)
            | Q(action__in=["WARN", "FIX_DATA"])
        )

    def update(self, **kwargs):
        raise PermissionDenied("比对发现不可修改。")

    def delete(self):
        raise PermissionDenied("比对发现不可删除。")


class ComparisonRun(models.Model):
    """One comparison. Everything needed to reproduce it is kept: the division, ``as_of``, the
    rule-set version and the input files (by hash). Refuses changes once it has ended.

    It runs as a background job (``review/jobs.py``): the job carries the progress, heartbeat
    and attempts; the run keeps its own status, which the job's function and, for a job that
    ended without it (cancelled in the queue, its worker died), ``review.jobs`` settle."""

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "运行中"
        FINISHED = "finished", "已完成"
        FAILED = "failed", "失败"
        CANCELLED = "cancelled", "已取消"

    class Trigger(models.TextChoices):
        ADMIN = "admin", "后台发起"
        COMMAND = "command", "命令行"
        SCHEDULE = "schedule", "定时任务"

    division = models.ForeignKey(
        Division, models.PROTECT, related_name="+", verbose_name="比对区划"
    )
    as_of = models.DateField("比对基准日")
    rule_set = models.ForeignKey(
        RuleSetVersion, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="认定规则版本",
    )  # fmt: skip
    rosters = models.ManyToManyField(
        RosterUpload, related_name="runs", blank=True, verbose_name="比对数据"
    )
    job = models.OneToOneField(
        "jobs.Job", models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="后台任务",
    )  # fmt: skip
    status = models.CharField("状态", max_length=10, choices=Status, default=Status.PENDING)
    error = models.TextField("错误信息", blank=True)
    trigger = models.CharField("发起方式", max_length=10, choices=Trigger, default=Trigger.ADMIN)
    checked = models.PositiveIntegerField("比对人数（登记）", default=0)
    evaluated_rules = models.JSONField("已比对的规则", default=list, blank=True)
    not_evaluated = models.JSONField(
        "未比对的规则", default=list, blank=True, help_text="[[规则代码, [缺少的比对数据]]]"
    )
    roster_errors = models.JSONField("比对数据错误行数", default=dict, blank=True)
    finding_count = models.PositiveIntegerField("发现数", default=0)
    previous = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="+", verbose_name="上次比对"
    )
    new_count = models.PositiveIntegerField("新增", default=0)
    still_open_count = models.PositiveIntegerField("仍存在", default=0)
    resolved_count = models.PositiveIntegerField("已消除", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    #: States a run never leaves.
    ENDED = (Status.FINISHED, Status.FAILED, Status.CANCELLED)

    objects = RunQuerySet.as_manager()

    class Meta:
        verbose_name = "比对批次"
        verbose_name_plural = "比对批次"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["division", "status", "as_of"])]

    def __str__(self) -> str:
        return f"比对 #{self.pk} {self.division_id} {self.as_of}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored in self.ENDED:
                raise PermissionDenied("比对批次已完成，不可修改；请重新比对。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("比对批次不可删除。")

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED

    @property
    def has_ended(self) -> bool:
        return self.status in self.ENDED


class Finding(models.Model):
    """One finding of a run (see ``docs/rules.md``). ``key`` identifies the same finding across runs
    (:func:`review.findings.finding_key`); ``diff`` says whether it was new or still open
    against the previous run. ``county`` is the enrolment's county (what a stop acts on);
    ``person`` is empty for a certificate holder not in the archive at all."""

    class Diff(models.TextChoices):
        NEW = "new", "新增"
        STILL_OPEN = "still_open", "仍存在"

    run = models.ForeignKey(
        ComparisonRun, models.PROTECT, related_name="findings", verbose_name="比对批次",
        db_index=False,  # (run, code) below serves every lookup by run
    )  # fmt: skip
    # The references to the archive are kept by Django (PROTECT: a person, enrolment, county
    # or verdict a finding names cannot be deleted), not by the database: its per-row checks
    # took 6 of the 7 s PostgreSQL spends storing a province run's 190 000 findings, each
    # written once, by the run, from ids read in the same transaction (docs/benchmarks.md,
    # "Storing findings"). The run's own key stays a database constraint (0.7 s).
    person = models.ForeignKey(
        Person, models.PROTECT, null=True, blank=True, related_name="+", verbose_name="残疾人",
        db_constraint=False,
    )  # fmt: skip
    enrolment = models.ForeignKey(
        Enrolment, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="补贴享受记录", db_constraint=False,
    )  # fmt: skip
    county = models.ForeignKey(
        Division, models.PROTECT, related_name="+", verbose_name="县（区）", db_constraint=False
    )
    township_code = models.CharField("乡镇代码", max_length=9, blank=True)
    id_number = models.CharField("公民身份号码", max_length=18)
    name = models.CharField("姓名", max_length=64, blank=True)
    code = models.CharField("问题类型", max_length=24, choices=CODE_CHOICES)
    subsidy = models.CharField(
        "补贴类别", max_length=8, choices=SUBSIDY_CHOICES, null=True, blank=True
    )
    action = models.CharField("处理方式", max_length=8, choices=ACTION_CHOICES)
    event_date = models.DateField("事件日期", null=True, blank=True)
    evidence = models.JSONField("证据", default=dict)
    note = models.CharField("备注", max_length=500, blank=True)
    key = models.CharField("比对键", max_length=80)
    diff = models.CharField("与上次比较", max_length=10, choices=Diff, default=Diff.NEW)
    carried_verification = models.ForeignKey(
        "Verification", models.PROTECT, null=True, blank=True, related_name="carried_to",
        verbose_name="沿用的核查结论",
        help_text="此前比对中同一问题、证据未变且经查不属实的结论，本次沿用，不再待核查。",
        db_constraint=False,
    )  # fmt: skip

    objects = FindingQuerySet.as_manager()

    class Meta:
        verbose_name = "比对发现"
        verbose_name_plural = "比对发现"
        ordering = ["run_id", "id"]
        # Only the indexes a query uses: a province run writes ~190 000 findings and each index
        # costs its share of the store (docs/benchmarks.md, "Storing findings"). Every list
        # filters one run, so the township and ID filters ride on the run's indexes; the key is
        # looked up across runs (a finding's history, the diff with the previous run), by
        # equality only, so it needs no pattern (LIKE) copy either.
        indexes = [
            models.Index(fields=["run", "code"]),
            models.Index(fields=["run", "county", "township_code"]),
            models.Index(fields=["key"], name="review_finding_key"),
        ]
        permissions = [("export_finding", "导出比对发现")]

    def __str__(self) -> str:
        return f"{self.get_code_display()} {self.name}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionDenied("比对发现不可修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("比对发现不可删除。")

    @property
    def needs_verification(self) -> bool:
        return self.action in VERIFIED_ACTIONS

    @property
    def status_label(self) -> str:
        """The status in words, from the annotations of :meth:`FindingQuerySet.with_status`."""
        own = getattr(self, "own_verdict", None)
        carried = getattr(self, "carried_verdict", None)
        notified = getattr(self, "notified", None)
        if own:
            return Verification.Outcome(own).label
        if carried:
            return f"{Verification.Outcome(carried).label}（沿用此前结论）"
        if notified:
            return NotifyOutcome.Outcome(notified).label
        if self.needs_verification:
            return "待核查"
        if self.action == "NOTIFY":
            return "待告知"
        return "待更正" if self.action == "FIX_DATA" else "提醒"

    @property
    def subsidies(self) -> tuple[str, ...]:
        if self.subsidy == "both":
            return ("living", "nursing")
        return (self.subsidy,) if self.subsidy else ()

    @property
    def roster_label(self) -> str:
        roster = (self.evidence or {}).get("roster")
        return ROSTERS[roster].label if roster in ROSTERS else "档案记录"


class Verification(models.Model):
    """A verdict on a STOP/SUSPEND finding. At most one is in force per finding (the others
    are reversed, with who, when and why). ``changes`` are the enrolment changes it made."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", "经查属实"
        NOT_CONFIRMED = "not_confirmed", "经查不属实"

    finding = models.ForeignKey(
        Finding, models.PROTECT, related_name="verifications", verbose_name="比对发现"
    )
    outcome = models.CharField("核查结论", max_length=16, choices=Outcome)
    note = models.TextField("核查说明")
    evidence_sha256 = models.CharField("佐证材料 SHA-256", max_length=64, blank=True)
    evidence_name = models.CharField("佐证材料文件名", max_length=255, blank=True)
    evidence_size = models.BigIntegerField("佐证材料字节数", null=True, blank=True)
    changes = models.ManyToManyField(
        EnrolmentChange, related_name="+", blank=True, verbose_name="补贴变更"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name="核查人"
    )
    verified_at = models.DateTimeField("核查时间", auto_now_add=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="撤销人",
    )  # fmt: skip
    reversed_at = models.DateTimeField("撤销时间", null=True, blank=True)
    reversal_reason = models.TextField("撤销原因", blank=True)

    class Meta:
        verbose_name = "核查结论"
        verbose_name_plural = "核查结论"
        ordering = ["finding_id", "verified_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding"],
                condition=Q(reversed_at__isnull=True),
                name="one_verification_in_force",
            )
        ]
        permissions = [("reverse_verification", "撤销核查结论")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}（发现 #{self.finding_id}）"

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


class NotifyOutcome(models.Model):
    """What came of telling a person they may apply (应享未享). The latest one counts."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "已申请"
        DECLINED = "declined", "本人放弃"
        UNREACHABLE = "unreachable", "无法联系"

    finding = models.ForeignKey(
        Finding, models.PROTECT, related_name="notify_outcomes", verbose_name="比对发现"
    )
    outcome = models.CharField("告知结果", max_length=12, choices=Outcome)
    note = models.TextField("说明", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name="登记人"
    )
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "政策告知结果"
        verbose_name_plural = "政策告知结果"
        ordering = ["finding_id", "recorded_at", "id"]

    def __str__(self) -> str:
        return self.get_outcome_display()


class Reminder(models.Model):
    """A comparison that is due for a period but cannot run: rosters are missing. One row per
    division and period, refreshed by the daily task and closed when the run happens."""

    division = models.ForeignKey(Division, models.PROTECT, related_name="+", verbose_name="区划")
    period_start = models.DateField("期间开始")
    period_end = models.DateField("期间结束")
    missing = models.JSONField("缺少的比对数据", default=list)
    created_at = models.DateTimeField("首次提醒", auto_now_add=True)
    last_checked = models.DateTimeField("最近检查", auto_now=True)
    resolved_at = models.DateTimeField("已解决", null=True, blank=True)
    run = models.ForeignKey(
        ComparisonRun, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="比对批次",
    )  # fmt: skip

    class Meta:
        verbose_name = "比对提醒"
        verbose_name_plural = "比对提醒"
        ordering = ["-period_end", "division_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["division", "period_end"], name="one_reminder_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.division_id} {self.period_start}–{self.period_end}"

    @property
    def missing_labels(self) -> list[str]:
        return [ROSTERS[k].label if k in ROSTERS else k for k in self.missing]
