"""The search outbox (待索引队列): what changed and must reach the search index.

A row is written in the same transaction as the change it reports (signals in `search.sync`),
so a rolled-back change leaves no row and a committed one always leaves one, whatever happens
to Elasticsearch or the broker afterwards. The row's id is the external version sent to
Elasticsearch: ids grow with every change, so an older write can never overwrite a newer one.
Rows are marked processed, not deleted at once, so that a rebuild can replay what was indexed
while it was loading (`search.rebuild`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OutboxEntry(models.Model):
    class Kind(models.TextChoices):
        CASE_FILE = "case_file", "补贴档案"
        DOCUMENT = "document", "档案文件"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField("类别", max_length=16, choices=Kind)
    object_id = models.BigIntegerField("对象")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    processed_at = models.DateTimeField("索引时间", null=True, blank=True)

    class Meta:
        verbose_name = "待索引记录"
        verbose_name_plural = "待索引记录"
        indexes = [models.Index(fields=["processed_at", "id"])]
        permissions = [
            ("search_records", "检索补贴档案"),
            # the province-wide index: not granted to any role, superusers only
            ("manage_search_index", "管理检索索引"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.object_id}（版本 {self.id}）"


class SavedSearch(models.Model):
    """A search an inspector runs again (常用检索): its words and filters, never its hits.
    Private to its owner; it runs inside the owner's jurisdiction at the time it is run, like
    any search, so a saved search never shows more than its owner may see today."""

    #: Enough for the searches an office repeats; beyond this the oldest are the ones to drop.
    LIMIT_PER_USER = 50

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="saved_searches", verbose_name="用户"
    )
    name = models.CharField("名称", max_length=60)
    query = models.CharField("检索词", max_length=200, blank=True)
    filters = models.JSONField("筛选条件", default=dict, blank=True)
    created_at = models.DateTimeField("保存时间", auto_now_add=True)

    class Meta:
        verbose_name = "常用检索"
        verbose_name_plural = "常用检索"
        ordering = ("name", "pk")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_search_name_per_user")
        ]

    def __str__(self) -> str:
        return self.name
