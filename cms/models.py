"""The public site's page types: home, policy documents (政策文件), notices (通知公告), training
material (培训资料) and the FAQ, plus the snippets they refer to (issuing bodies, topics, training
session records).

Visibility: only 主动公开 policy documents are public (:mod:`cms.visibility`); every list, the
search, the feed and the page's own URL go through :meth:`PolicyPage.public_objects`.
"""

from __future__ import annotations

from html import unescape

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.utils.functional import cached_property
from django.utils.html import strip_tags
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import normalize_newlines
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    MultiFieldPanel,
    MultipleChooserPanel,
)
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from cms.blocks import FAQ_CATEGORIES, RICH_TEXT_FEATURES, FaqItemBlock, MaterialBlock
from cms.caching import LARGE_TEXT_COOKIE, wants_large_text
from cms.cjk import index_text
from cms.doc_numbers import DocNumberError, normalize_doc_number, parse_doc_number
from cms.filters import SHANXI_CITIES, PolicyFilters, summarize_training_sessions
from cms.visibility import (
    ACTIVE,
    DISCLOSURE_CHOICES,
    VALID,
    VALIDITY_CHOICES,
    is_publicly_visible,
)

PAGE_SIZE = 20


def html_to_text(html: str) -> str:
    """Plain text of rich text, with block boundaries kept as line breaks."""
    if not html:
        return ""
    text = str(html)
    for tag in ("</p>", "</li>", "</h2>", "</h3>", "<br>", "<br/>", "<br />"):
        text = text.replace(tag, tag + "\n")
    return normalize_newlines(unescape(strip_tags(text))).strip()


def paginate(request, items, per_page: int = PAGE_SIZE):
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(request.GET.get("page", 1))
    except (PageNotAnInteger, EmptyPage):
        return paginator.page(1)


# --- Snippets -----------------------------------------------------------------------------


class Issuer(models.Model):
    """A body that issues documents (发文机关), e.g. 山西省民政厅."""

    LEVELS = [("province", "省级"), ("city", "市级"), ("county", "县级"), ("national", "国家级")]

    name = models.CharField("机关名称", max_length=100, unique=True)
    level = models.CharField("层级", max_length=16, choices=LEVELS, default="province")
    sort_order = models.PositiveSmallIntegerField(
        "排序", default=100, help_text="联合发文时按此顺序列出（民政、财政、残联……）。"
    )

    panels = [FieldPanel("name"), FieldPanel("level"), FieldPanel("sort_order")]

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "发文机关"
        verbose_name_plural = "发文机关"

    def __str__(self) -> str:
        return self.name


class PolicyTopic(models.Model):
    name = models.CharField("主题", max_length=100, unique=True)

    panels = [FieldPanel("name")]

    class Meta:
        ordering = ["name"]
        verbose_name = "政策主题"
        verbose_name_plural = "政策主题"

    def __str__(self) -> str:
        return self.name


class TrainingSession(models.Model):
    """One training session held (the policy asks every city for one a year)."""

    ORGANIZERS = [
        ("civil_affairs", "民政部门"),
        ("federation", "残联"),
        ("joint", "民政部门和残联联合"),
    ]

    city = models.CharField(
        "市", max_length=20, choices=[(c, c) for c in [*SHANXI_CITIES, "山西省"]]
    )
    held_on = models.DateField("培训日期")
    organizer = models.CharField("组织单位", max_length=20, choices=ORGANIZERS, default="joint")
    title = models.CharField("培训名称", max_length=200)
    participants = models.PositiveIntegerField("参训人数", null=True, blank=True)
    audience = models.CharField(
        "培训对象",
        max_length=200,
        blank=True,
        help_text="例如：各县区民政、残联、财政及乡镇经办人员",
    )
    training = models.ForeignKey(
        "cms.TrainingPage",
        verbose_name="培训资料",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    notes = models.TextField("备注", blank=True)

    panels = [
        FieldRowPanel([FieldPanel("city"), FieldPanel("held_on")]),
        FieldPanel("title"),
        FieldRowPanel([FieldPanel("organizer"), FieldPanel("participants")]),
        FieldPanel("audience"),
        FieldPanel("training"),
        FieldPanel("notes"),
    ]

    class Meta:
        ordering = ["-held_on", "city"]
        verbose_name = "培训开展记录"
        verbose_name_plural = "培训开展记录"

    def __str__(self) -> str:
        return f"{self.held_on:%Y-%m-%d} {self.city} {self.title}"


# --- Page base ----------------------------------------------------------------------------


class BasePage(Page):
    """Common to every public page: an easy-read summary and the Chinese search field."""

    summary = models.TextField(
        "简明要点",
        blank=True,
        help_text="用两三句简短易懂的话说明本页内容。大字易读模式和搜索结果中会显示。",
    )

    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("cjk_search_text"),
    ]

    class Meta:
        abstract = True

    def search_plaintext_parts(self) -> list[str]:
        """Texts a visitor may search for, most important first."""
        return [self.title, self.summary]

    def cjk_search_text(self) -> str:
        return index_text(*self.search_plaintext_parts())

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["large_text"] = wants_large_text(request)
        return context


class AttachmentTextMixin(models.Model):
    """Keeps the text of a page's attached files in ``attachment_text``, for search."""

    attachment_text = models.TextField("附件文字", blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # A full save is a create or a publish: that is when the live text changes.
        if kwargs.get("update_fields") is None:
            self.refresh_attachment_text()
        return super().save(*args, **kwargs)

    def get_attached_documents(self) -> list:
        return []

    def refresh_attachment_text(self) -> None:
        from cms.text_extraction import extract_document_text

        parts = []
        for document in self.get_attached_documents():
            text = extract_document_text(document).strip()
            if text:
                parts.append(f"【附件：{document.title}】\n{text}")
        self.attachment_text = "\n\n".join(parts)


# --- Home ---------------------------------------------------------------------------------


class HomePage(RoutablePageMixin, BasePage):
    intro = RichTextField("首页介绍", blank=True, features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "cms.PolicyIndexPage",
        "cms.NoticeIndexPage",
        "cms.TrainingIndexPage",
        "cms.FaqPage",
    ]
    max_count = 1

    class Meta:
        verbose_name = "首页"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["latest_policies"] = list(
            with_listing_data(
                filter_policies(PolicyPage.public_objects().descendant_of(self), PolicyFilters())
            )[:5]
        )
        context["latest_notices"] = list(
            NoticePage.objects.live().public().descendant_of(self).order_by("-date", "-pk")[:5]
        )
        context["latest_training"] = list(
            TrainingPage.objects.live()
            .public()
            .descendant_of(self)
            .order_by(F("held_on").desc(nulls_last=True), "-pk")[:3]
        )
        return context

    @path("search/", name="search")
    def search_view(self, request):
        from cms.search import search_site

        query = (request.GET.get("q") or "").strip()[:100]
        outcome = search_site(query, root=self, policies=PolicyPage)
        results = paginate(request, outcome.results, per_page=10)
        return self.render(
            request,
            template="cms/search_results.html",
            context_overrides={
                "search_query": query,
                "search_params": {"q": query},
                "search_outcome": outcome,
                "results": results,
                "excerpts": outcome.excerpts_for(list(results.object_list)),
            },
        )

    @path("display/", name="display")
    def display_view(self, request):
        """Switches large-text mode on or off with a plain link (no JavaScript), then goes back."""
        large = request.GET.get("large") == "1"
        target = request.GET.get("next") or self.url or "/"
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = self.url or "/"
        response = HttpResponseRedirect(target)
        if large:
            response.set_cookie(
                LARGE_TEXT_COOKIE, "1", max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        else:
            response.delete_cookie(LARGE_TEXT_COOKIE, samesite="Lax")
        response["Cache-Control"] = "no-store"
        return response


# --- Policy documents ---------------------------------------------------------------------


class PolicyIndexPage(RoutablePageMixin, BasePage):
    content_panels = [*Page.content_panels, FieldPanel("summary")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PolicyPage"]

    class Meta:
        verbose_name = "政策文件栏目"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        filters = PolicyFilters.from_params(request.GET)
        base = PolicyPage.public_objects().descendant_of(self)
        policies = with_listing_data(filter_policies(base, filters))
        context["filters"] = filters
        context["filter_query"] = filters.as_query()
        context["policies"] = paginate(request, policies)
        context["filter_options"] = policy_filter_options(base)
        return context

    def feed_items(self, limit: int):
        """The newest 主动公开 policies under this index, for its feeds (cms/feeds.py)."""
        pages = PolicyPage.public_objects().descendant_of(self)
        return with_listing_data(pages).order_by("-first_published_at", "-pk")[:limit]

    @path("feed/", name="feed")
    def rss_feed(self, request):
        from cms.feeds import PolicyRssFeed

        return PolicyRssFeed()(request, index_page=self)

    @path("feed/atom/", name="atom_feed")
    def atom_feed(self, request):
        from cms.feeds import PolicyAtomFeed

        return PolicyAtomFeed()(request, index_page=self)


class PolicyPage(AttachmentTextMixin, BasePage):
    doc_number = models.CharField(
        "文号",
        max_length=64,
        help_text="例如 晋民发〔2023〕1号；输入 [ ]、( )、【 】 会自动改为〔 〕。",
    )
    issuers = ParentalManyToManyField(Issuer, verbose_name="发文机关", related_name="policies")
    written_date = models.DateField("成文日期", null=True, blank=True)
    issued_date = models.DateField("印发日期", null=True, blank=True)
    disclosure = models.CharField(
        "公开属性",
        max_length=16,
        choices=DISCLOSURE_CHOICES,
        default=ACTIVE,
        help_text="只有“主动公开”的文件会在公众网站上显示。",
    )
    topic = models.ForeignKey(
        PolicyTopic,
        verbose_name="主题",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="policies",
    )
    validity = models.CharField("效力", max_length=16, choices=VALIDITY_CHOICES, default=VALID)
    replaced_by = models.ForeignKey(
        "cms.PolicyPage",
        verbose_name="替代文件",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
        help_text="已修订或废止时，选择替代它的新文件。",
    )
    forwards = models.ForeignKey(
        "cms.PolicyPage",
        verbose_name="转发的文件",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forwarded_by",
        help_text="本文件是转发通知时，选择被转发的文件；它会显示在正文下方。",
    )
    body = RichTextField("正文", features=RICH_TEXT_FEATURES)
    year = models.PositiveSmallIntegerField("年份", null=True, blank=True, editable=False)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldPanel("doc_number"),
                FieldPanel("issuers", widget=forms.CheckboxSelectMultiple),
                FieldRowPanel([FieldPanel("written_date"), FieldPanel("issued_date")]),
            ],
            heading="文件信息",
        ),
        MultiFieldPanel(
            [
                FieldPanel("disclosure"),
                FieldPanel("topic", widget=forms.Select),
                FieldPanel("validity"),
                FieldPanel("replaced_by"),
            ],
            heading="公开属性与效力",
        ),
        FieldPanel("forwards"),
        FieldPanel("summary"),
        FieldPanel("body"),
        MultipleChooserPanel(
            "attachments", chooser_field_name="document", heading="附件", label="附件"
        ),
    ]
    search_fields = [
        *BasePage.search_fields,
        index.SearchField("doc_number"),
        index.FilterField("disclosure"),
        index.FilterField("year"),
    ]
    parent_page_types = ["cms.PolicyIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "政策文件"
        verbose_name_plural = "政策文件"

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if kwargs.get("update_fields") is None:
            parsed = self.parsed_doc_number
            if parsed:
                self.doc_number = str(parsed)
            date = self.issued_date or self.written_date
            self.year = parsed.year if parsed else (date.year if date else None)
        return super().save(*args, **kwargs)

    @classmethod
    def public_objects(cls):
        """Published, unrestricted, 主动公开 policy documents."""
        return cls.objects.live().public().filter(disclosure=ACTIVE)

    @property
    def is_public(self) -> bool:
        return is_publicly_visible(self.disclosure, live=self.live)

    @property
    def parsed_doc_number(self):
        try:
            return parse_doc_number(self.doc_number)
        except DocNumberError:
            return None

    def clean(self):
        super().clean()
        errors: dict[str, str] = {}
        if self.doc_number:
            try:
                self.doc_number = normalize_doc_number(self.doc_number)
            except DocNumberError as exc:
                errors["doc_number"] = exc.message
            else:
                clash = (
                    PolicyPage.objects.filter(doc_number=self.doc_number)
                    .exclude(pk=self.pk)
                    .first()
                )
                if clash:
                    errors["doc_number"] = f"文号 {self.doc_number} 已被《{clash.title}》使用。"
        if self.written_date and self.issued_date and self.issued_date < self.written_date:
            errors["issued_date"] = "印发日期不能早于成文日期。"
        if self.replaced_by_id:
            if self.validity == VALID:
                errors["replaced_by"] = "只有“已修订”或“废止”的文件才需要选择替代文件。"
            elif self.pk and self.replaced_by_id == self.pk:
                errors["replaced_by"] = "替代文件不能是本文件自己。"
        if self.forwards_id and self.pk and self.forwards_id == self.pk:
            errors["forwards"] = "文件不能转发它自己。"
        if errors:
            raise ValidationError(errors)

    def get_attached_documents(self) -> list:
        return [a.document for a in self.attachments.all() if a.document_id]

    def feed_text(self) -> str:
        """What a feed item says of the policy: its summary, else its text."""
        return self.summary or html_to_text(self.body)

    def search_plaintext_parts(self) -> list[str]:
        issuers = " ".join(i.name for i in self.issuers.all())
        return [
            self.title,
            self.doc_number,
            issuers,
            self.summary,
            html_to_text(self.body),
            self.attachment_text,
        ]

    @property
    def issuer_names(self) -> str:
        return "、".join(i.name for i in self.issuers.all())

    def serve(self, request, *args, **kwargs):
        if self.disclosure != ACTIVE:
            raise Http404("该文件未主动公开。")
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        public = PolicyPage.public_objects()
        forwarded = None
        if self.forwards_id:
            forwarded = with_listing_data(public.filter(pk=self.forwards_id)).first()
        context["forwarded"] = forwarded
        context["forwarded_by"] = list(
            with_listing_data(public.filter(forwards_id=self.pk)).order_by("-year")
        )
        context["replacement"] = (
            public.filter(pk=self.replaced_by_id).first() if self.replaced_by_id else None
        )
        context["replaces"] = list(public.filter(replaced_by_id=self.pk))
        context["attachments"] = list(self.attachments.select_related("document"))
        return context


class PolicyAttachment(Orderable):
    page = ParentalKey(PolicyPage, related_name="attachments", on_delete=models.CASCADE)
    document = models.ForeignKey(
        "wagtaildocs.Document", verbose_name="文件", on_delete=models.CASCADE, related_name="+"
    )

    panels = [FieldPanel("document")]

    class Meta(Orderable.Meta):
        verbose_name = "附件"
        verbose_name_plural = "附件"


def with_listing_data(queryset):
    """Policy documents with what a list shows, in a fixed number of queries."""
    return queryset.select_related("topic").prefetch_related("issuers")


def filter_policies(queryset, filters: PolicyFilters):
    if filters.year is not None:
        queryset = queryset.filter(year=filters.year)
    if filters.issuer is not None:
        queryset = queryset.filter(issuers__id=filters.issuer)
    if filters.topic is not None:
        queryset = queryset.filter(topic_id=filters.topic)
    if filters.validity is not None:
        queryset = queryset.filter(validity=filters.validity)
    return queryset.distinct().order_by(
        F("year").desc(nulls_last=True),
        F("issued_date").desc(nulls_last=True),
        "-first_published_at",
        "-pk",
    )


def policy_filter_options(queryset) -> dict:
    """The values the filter form offers: only those some public document has."""
    ids = queryset.values("pk")
    return {
        "years": sorted(
            {y for y in queryset.values_list("year", flat=True) if y is not None}, reverse=True
        ),
        "issuers": list(Issuer.objects.filter(policies__in=ids).distinct()),
        "topics": list(PolicyTopic.objects.filter(policies__in=ids).distinct()),
        "validities": VALIDITY_CHOICES,
    }


# --- Notices ------------------------------------------------------------------------------


class NoticeIndexPage(BasePage):
    content_panels = [*Page.content_panels, FieldPanel("summary")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.NoticePage"]

    class Meta:
        verbose_name = "通知公告栏目"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        notices = NoticePage.objects.live().public().child_of(self).order_by("-date", "-pk")
        context["notices"] = paginate(request, notices)
        return context


class NoticePage(RoutablePageMixin, BasePage):
    date = models.DateField("发布日期")
    signed_by = models.CharField(
        "落款单位", max_length=200, blank=True, help_text="例如：长治市民政局 长治市残疾人联合会"
    )
    body = RichTextField("正文", features=RICH_TEXT_FEATURES)
    contact = models.TextField(
        "咨询方式", blank=True, help_text="张贴海报上醒目显示，例如办理地点和咨询电话。"
    )

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("date"), FieldPanel("signed_by")]),
        FieldPanel("summary"),
        FieldPanel("body"),
        FieldPanel("contact"),
        HelpPanel(content="发布后，页面上的“打印海报”会生成适合 A4 纸张贴的版式。"),
    ]
    parent_page_types = ["cms.NoticeIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "通知公告"
        verbose_name_plural = "通知公告"

    def search_plaintext_parts(self) -> list[str]:
        return [self.title, self.summary, html_to_text(self.body), self.signed_by, self.contact]

    @cached_property
    def print_url(self) -> str:
        return (self.url or "") + self.reverse_subpage("print")

    @path("print/", name="print")
    def print_view(self, request):
        return self.render(request, template="cms/notice_print.html")


# --- Training -----------------------------------------------------------------------------


class TrainingIndexPage(BasePage):
    content_panels = [*Page.content_panels, FieldPanel("summary")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.TrainingPage"]

    class Meta:
        verbose_name = "培训资料栏目"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["trainings"] = list(
            TrainingPage.objects.live()
            .public()
            .child_of(self)
            .order_by(F("held_on").desc(nulls_last=True), "-pk")
        )
        sessions = TrainingSession.objects.all()
        context["training_years"] = summarize_training_sessions(sessions)
        return context


AUDIENCES = [
    ("for_civil_affairs", "民政"),
    ("for_federation", "残联"),
    ("for_finance", "财政"),
    ("for_township", "乡镇经办人员"),
]


class TrainingPage(AttachmentTextMixin, BasePage):
    course = models.CharField("课程", max_length=200)
    held_on = models.DateField("培训日期", null=True, blank=True)
    for_civil_affairs = models.BooleanField("民政", default=True)
    for_federation = models.BooleanField("残联", default=True)
    for_finance = models.BooleanField("财政", default=False)
    for_township = models.BooleanField("乡镇经办人员", default=True)
    body = RichTextField("内容介绍", blank=True, features=RICH_TEXT_FEATURES)
    materials = StreamField([("material", MaterialBlock())], blank=True, verbose_name="课件和资料")

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("course"), FieldPanel("held_on")]),
        MultiFieldPanel(
            [FieldPanel(name) for name, _ in AUDIENCES],
            heading="培训对象",
        ),
        FieldPanel("summary"),
        FieldPanel("body"),
        FieldPanel("materials"),
    ]
    parent_page_types = ["cms.TrainingIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "培训资料"
        verbose_name_plural = "培训资料"

    def __str__(self) -> str:
        return self.title

    @property
    def audience_labels(self) -> list[str]:
        return [label for name, label in AUDIENCES if getattr(self, name)]

    def get_attached_documents(self) -> list:
        return [block.value["document"] for block in self.materials if block.value["document"]]

    def search_plaintext_parts(self) -> list[str]:
        return [
            self.title,
            self.course,
            self.summary,
            html_to_text(self.body),
            self.attachment_text,
        ]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["sessions"] = list(self.sessions.all())
        return context


# --- FAQ ----------------------------------------------------------------------------------


class FaqPage(BasePage):
    intro = RichTextField("说明", blank=True, features=RICH_TEXT_FEATURES)
    items = StreamField([("faq", FaqItemBlock())], blank=True, verbose_name="问答")

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("intro"),
        FieldPanel("items"),
    ]
    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "常见问题"
        verbose_name_plural = "常见问题"

    def search_plaintext_parts(self) -> list[str]:
        parts = [self.title, self.summary, html_to_text(self.intro)]
        for block in self.items:
            parts.append(block.value["question"])
            parts.append(html_to_text(block.value["answer"].source))
        return parts

    def grouped_items(self) -> list[tuple[str, str, list]]:
        """(category code, heading, items) in the fixed order of FAQ_CATEGORIES."""
        groups = []
        for code, label in FAQ_CATEGORIES:
            items = [b.value for b in self.items if b.value["category"] == code]
            if items:
                groups.append((code, label, items))
        return groups
