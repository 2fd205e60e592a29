"""The job row (后台任务): what a progress bar polls and what the reaper inspects."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"
        CANCELLED = "cancelled", "已取消"

    #: States a job never leaves.
    FINISHED = (State.DONE, State.FAILED, State.CANCELLED)

    kind = models.CharField("任务类型", max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提交人",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: The submitter's division code when submitting ("" for a system administrator): an
    #: administrator sees the jobs of their jurisdiction by prefix, like records.
    division_code = models.CharField("所属区划", max_length=12, blank=True, db_index=True)
    params = models.JSONField("参数", default=dict)
    state = models.CharField(
        "状态", max_length=10, choices=State.choices, default=State.QUEUED, db_index=True
    )
    done = models.PositiveIntegerField("已完成", default=0)
    total = models.PositiveIntegerField("总量", default=0)
    message = models.CharField("进度说明", max_length=200, blank=True)
    result = models.JSONField("结果", default=dict, blank=True)
    error = models.TextField("错误", blank=True)
    queue = models.CharField("队列", max_length=20)
    task_id = models.CharField("Celery 任务号", max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)
    cancel_requested = models.BooleanField("已请求取消", default=False)
    created_at = models.DateTimeField("提交时间", auto_now_add=True, db_index=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近心跳", null=True, blank=True)

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ("-created_at", "-pk")
        permissions = [("view_all_jobs", "查看辖区内所有人的后台任务")]
        indexes = [
            models.Index(
                fields=["state", "heartbeat_at"],
                name="jobs_unfinished",
                condition=Q(state__in=["queued", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.pk}"

    @property
    def kind_label(self) -> str:
        from jobs.kinds import label_of

        return label_of(self.kind)

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def percent(self) -> int:
        """0–100; a finished job is 100 whatever its counts said."""
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, self.done * 100 // self.total)
