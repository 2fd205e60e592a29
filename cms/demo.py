"""Demo content of the public site, built by ``manage.py load_cms_demo``.

Idempotent: every object is looked up first and only created when missing, so a second run
changes nothing (no new pages, revisions, log entries, documents or permissions).

What it builds: the Home page as the Site root (replacing Wagtail's "Welcome" page), the four
sections, the two seed documents (长民发〔2023〕18号 forwarding 晋民发〔2023〕1号) with the
metadata the seed states, 致残障朋友的一封信, one training material with a session record, the
FAQ, the groups 编辑 / 审核发布 and the workflow 政策发布审核 on the Home tree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape

from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.db import transaction
from wagtail.documents import get_document_model
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Site,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from archive.access import permissions as perms
from archive.access.roles import EDITOR
from cms.minipdf import make_pdf
from cms.models import (
    FaqPage,
    HomePage,
    Issuer,
    NoticeIndexPage,
    NoticePage,
    PolicyAttachment,
    PolicyIndexPage,
    PolicyPage,
    PolicyTopic,
    TrainingIndexPage,
    TrainingPage,
    TrainingSession,
)
from cms.seed import SEED_FILE, seed_documents
from cms.visibility import ACTIVE, VALID

EDITORS_GROUP = EDITOR  # the 编辑 role (archive.access.roles), given the page tree here
APPROVERS_GROUP = "审核发布"
WORKFLOW_NAME = "政策发布审核"
TASK_NAME = "审核发布"
SITE_TITLE = "残疾人两项补贴政策服务"

SHANXI_NUMBER = "晋民发〔2023〕1号"
CHANGZHI_NUMBER = "长民发〔2023〕18号"
TOPIC = "残疾人两项补贴"

# (name, level, sort order) — the order in which the seed's letterheads list them.
ISSUERS = [
    ("山西省民政厅", "province", 10),
    ("山西省财政厅", "province", 20),
    ("山西省残疾人联合会", "province", 30),
    ("长治市民政局", "city", 110),
    ("长治市财政局", "city", 120),
    ("长治市残疾人联合会", "city", 130),
]

SHANXI = {
    "title": "关于贯彻落实民政部 财政部 中国残联《关于加强残疾人两项补贴精准管理的意见》的通知",
    "slug": "jinminfa-2023-1",
    "issuers": ["山西省民政厅", "山西省财政厅", "山西省残疾人联合会"],
    "issued_date": dt.date(2023, 1, 11),  # 山西省民政厅办公室 2023年1月11日印发
    "summary": (
        "山西省民政厅、财政厅、残联部署落实全国残疾人两项补贴精准管理意见：加强政策宣传和主动告知，"
        "县级每月、市级每半年、省级每年开展数据比对，补贴范围扩大到低保边缘家庭残疾人和三、四级智力、"
        "精神残疾人，每年组织一次业务培训。"
    ),
}
CHANGZHI = {
    "title": "关于转发《关于加强残疾人两项补贴精准管理意见》的通知",
    "slug": "changminfa-2023-18",
    "issuers": ["长治市民政局", "长治市财政局", "长治市残疾人联合会"],
    "summary": (
        "长治市民政局、财政局、残联把山西省的通知转发给各县区，要求加强宣传告知、明确比对频次、"
        "抓好数据管理、做好政策衔接。省里的通知全文附在下方。"
    ),
}
SEED_DOCUMENT_TITLE = "长民发〔2023〕18号及所附晋民发〔2023〕1号（文本）"
SLIDES_TITLE = "培训课件：残疾人两项补贴精准管理要点"

LETTER_BODY = """
<p>亲爱的残障朋友：</p>
<p>您好！为了让符合条件的残疾人都能及时享受残疾人两项补贴，现将有关政策告诉您。</p>
<h2>一、什么是残疾人两项补贴</h2>
<p><b>困难残疾人生活补贴</b>：发给低保家庭和低保边缘家庭中的残疾人，帮助解决生活困难。</p>
<p><b>重度残疾人护理补贴</b>：发给残疾等级为一级、二级且需要长期照护的重度残疾人，以及三级、四级智力残疾人和精神残疾人，帮助解决护理困难。</p>
<p>从2023年1月1日起，生活补贴扩大到低保边缘家庭的残疾人，护理补贴扩大到三级、四级智力残疾人和精神残疾人。</p>
<h2>二、怎样申请</h2>
<p>请带上残疾人证和居民身份证（或户口簿），到户籍所在地的乡镇人民政府（街道办事处）提出申请。行动不便的，可以委托家人、监护人或村（社区）工作人员代为申请。申请不收任何费用。</p>
<h2>三、请您主动告知</h2>
<p>领取补贴期间，如果领取了工伤保险生活护理费、在监服刑、残疾等级变更、低保或低保边缘家庭的情况变化、户口迁移或者去世，请本人或家人及时告诉乡镇（街道）或县级民政部门。</p>
<h2>四、有问题可以问谁</h2>
<p>对政策有疑问，可以到县（区）民政局、县（区）残联或乡镇（街道）经办窗口咨询。</p>
"""
LETTER_CONTACT = (
    "办理地点：户籍所在地乡镇人民政府（街道办事处）残疾人两项补贴经办窗口\n"
    "咨询：县（区）民政局、县（区）残疾人联合会"
)

TRAINING_BODY = """
<p>按照晋民发〔2023〕1号的要求，各市民政部门和残联每年至少组织一次残疾人两项补贴制度政策及业务培训，培训对象为各级民政、残联、财政以及乡镇经办人员。</p>
<h2>学习重点</h2>
<ul>
<li>补贴对象、政策衔接、精准管理、权力下放、补贴标准、主动服务等具体要求；</li>
<li>全国残疾人两项补贴信息系统、山西财政社会保障大数据库及一卡通的使用操作；</li>
<li>数据比对频次：县级每月一次并每年集中复核，市级每半年一次，省级每年一次。</li>
</ul>
"""
SLIDE_PAGES = [
    [
        "残疾人两项补贴精准管理要点",
        "依据：晋民发〔2023〕1号",
        "培训对象：民政、残联、财政及乡镇经办人员",
    ],
    [
        "一、数据比对频次",
        "县级：每月比对一次，每年集中复核",
        "市级：每半年比对一次",
        "省级：每年比对一次",
    ],
    [
        "二、补贴范围（2023年1月1日起）",
        "生活补贴扩大到低保边缘家庭的残疾人",
        "护理补贴扩大到三、四级智力、精神残疾人",
        "三、一卡通发放：按要求实现一卡通发放",
    ],
]

FAQ_ITEMS = [
    (
        "who",
        "困难残疾人生活补贴发给谁？",
        "<p>发给低保家庭和低保边缘家庭中持有残疾人证的残疾人。从2023年1月1日起，山西省把低保边缘家庭的残疾人纳入了补贴范围。</p>",
    ),
    (
        "who",
        "重度残疾人护理补贴发给谁？",
        "<p>发给残疾等级为一级、二级且需要长期照护的重度残疾人。从2023年1月1日起，山西省把三级、四级智力残疾人和精神残疾人也纳入了护理补贴范围。</p>",
    ),
    (
        "who",
        "两项补贴可以同时领吗？",
        "<p>同时符合两项补贴条件的，可以同时申请。已经领取工伤保险生活护理费等同类补贴的，按照政策衔接规定不重复享受，经办窗口会告诉您具体情况。</p>",
    ),
    (
        "bring",
        "申请要带哪些材料？",
        "<ul><li>残疾人证；</li><li>居民身份证或户口簿；</li><li>申请生活补贴的，提供低保或低保边缘家庭的证明（经办窗口可以帮助核实）；</li><li>请别人代办的，带上代办人的身份证和委托书。</li></ul><p>申请时需要签署政策告知承诺书。</p>",
    ),
    (
        "where",
        "到哪里申请？",
        "<p>到户籍所在地的乡镇人民政府（街道办事处）残疾人两项补贴经办窗口申请。行动不便的，可以委托家人、监护人或村（社区）工作人员代为申请。</p>",
    ),
    (
        "where",
        "补贴怎么发放？",
        "<p>审核通过后，补贴通过一卡通发放到本人账户。</p>",
    ),
    (
        "other",
        "领取补贴后情况有变化怎么办？",
        "<p>如果领取了工伤保险生活护理费、在监服刑、残疾等级变更、低保或低保边缘家庭情况变化、户口迁移或者去世，请本人或家人主动告诉乡镇（街道）或县级民政部门。</p>",
    ),
    (
        "other",
        "在哪里可以看到政策原文？",
        "<p>在本网站的“政策文件”栏目，可以阅读晋民发〔2023〕1号和长民发〔2023〕18号的全文。</p>",
    ),
]


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.created.append(what)


def _publish(page: Page) -> None:
    page.save_revision(log_action=True).publish()


def _paragraphs_html(paragraphs: list[str]) -> str:
    out = []
    for text in paragraphs:
        lead, sep, rest = text.partition("。")
        # Numbered sections "一、提高思想认识，强化责任担当。…" get a bold lead sentence.
        if sep and len(lead) < 40 and lead[:2] in {"一、", "二、", "三、", "四、", "五、"}:
            out.append(f"<p><b>{escape(lead + sep)}</b>{escape(rest)}</p>")
        else:
            out.append(f"<p>{escape(text)}</p>")
    return "\n".join(out)


def _document(title: str, filename: str, content: bytes, report: DemoReport):
    Document = get_document_model()
    document = Document.objects.filter(title=title).first()
    if document is None:
        document = Document(title=title, collection=Collection.get_first_root_node())
        document.file.save(filename, ContentFile(content), save=False)
        document._set_document_file_metadata()
        document.save()
        report.note(f"文档：{title}")
    return document


def _child(parent: Page, model, slug: str, report: DemoReport, **fields) -> Page:
    existing = model.objects.child_of(parent).filter(slug=slug).first()
    if existing is not None:
        return existing
    relations = fields.pop("_relations", {})
    page = model(slug=slug, **fields)
    for name, value in relations.items():
        setattr(page, name, value)
    parent.add_child(instance=page)
    _publish(page)
    report.note(f"页面：{page.title}")
    return model.objects.get(pk=page.pk)


def ensure_home(report: DemoReport) -> HomePage:
    home = HomePage.objects.first()
    root = Page.get_first_root_node()
    if home is None:
        home = HomePage(
            title=SITE_TITLE,
            slug="cms-home",
            summary="这里发布残疾人两项补贴的政策文件、通知公告和培训资料，并解答申请中的常见问题。",
            intro=(
                "<p>残疾人两项补贴是指困难残疾人生活补贴和重度残疾人护理补贴。"
                "本网站提供政策原文、申请指引和经办培训资料。</p>"
            ),
        )
        root.add_child(instance=home)
        _publish(home)
        report.note("页面：首页")
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost",
            port=80,
            root_page=home,
            is_default_site=True,
            site_name=SITE_TITLE,
        )
        report.note("站点")
    elif site.root_page_id != home.pk:
        old_root = site.root_page
        site.root_page = home
        site.site_name = site.site_name or SITE_TITLE
        site.save()
        report.note("站点根页面改为首页")
        # Wagtail's "Welcome to your new Wagtail site!" page: a bare Page with no children.
        if (
            old_root.specific_class is Page
            and not old_root.get_children().exists()
            and old_root.depth == 2
        ):
            old_root.delete()
            report.note("删除 Wagtail 默认欢迎页")
    if home.slug != "home" and not root.get_children().filter(slug="home").exists():
        home.slug = "home"
        _publish(home)
    return HomePage.objects.get(pk=home.pk)  # fresh url_path for the children


def ensure_issuers(report: DemoReport) -> dict[str, Issuer]:
    out = {}
    for name, level, order in ISSUERS:
        issuer, created = Issuer.objects.get_or_create(
            name=name, defaults={"level": level, "sort_order": order}
        )
        if created:
            report.note(f"发文机关：{name}")
        out[name] = issuer
    return out


def ensure_policies(index: PolicyIndexPage, report: DemoReport) -> tuple[PolicyPage, PolicyPage]:
    issuers = ensure_issuers(report)
    topic, created = PolicyTopic.objects.get_or_create(name=TOPIC)
    if created:
        report.note(f"政策主题：{TOPIC}")
    seed = seed_documents()

    shanxi = PolicyPage.objects.filter(doc_number=SHANXI_NUMBER).first()
    if shanxi is None:
        doc = seed[SHANXI_NUMBER]
        shanxi = _child(
            index,
            PolicyPage,
            SHANXI["slug"],
            report,
            title=SHANXI["title"],
            doc_number=SHANXI_NUMBER,
            issued_date=SHANXI["issued_date"],
            disclosure=ACTIVE,
            topic=topic,
            validity=VALID,
            summary=SHANXI["summary"],
            body=_paragraphs_html([doc.salutation, *doc.body]),
            _relations={"issuers": [issuers[n] for n in SHANXI["issuers"]]},
        )

    changzhi = PolicyPage.objects.filter(doc_number=CHANGZHI_NUMBER).first()
    if changzhi is None:
        doc = seed[CHANGZHI_NUMBER]
        original = _document(
            SEED_DOCUMENT_TITLE,
            "changminfa-2023-18-jinminfa-2023-1.txt",
            SEED_FILE.read_bytes(),
            report,
        )
        changzhi = _child(
            index,
            PolicyPage,
            CHANGZHI["slug"],
            report,
            title=CHANGZHI["title"],
            doc_number=doc.doc_number_raw,  # 长民发[2023]18号, normalised on save
            disclosure=ACTIVE,
            topic=topic,
            validity=VALID,
            forwards=shanxi,
            summary=CHANGZHI["summary"],
            body=_paragraphs_html([doc.salutation, *doc.body]),
            _relations={
                "issuers": [issuers[n] for n in CHANGZHI["issuers"]],
                "attachments": [PolicyAttachment(document=original)],
            },
        )
    return shanxi, changzhi


def ensure_training(index: TrainingIndexPage, report: DemoReport) -> TrainingPage:
    training = TrainingPage.objects.child_of(index).filter(slug="training-2023").first()
    if training is None:
        slides = _document(
            SLIDES_TITLE,
            "training-2023-slides.pdf",
            make_pdf(SLIDE_PAGES, title=SLIDES_TITLE),
            report,
        )
        training = _child(
            index,
            TrainingPage,
            "training-2023",
            report,
            title="残疾人两项补贴政策及业务培训（2023年）",
            course="残疾人两项补贴制度政策及业务培训",
            held_on=dt.date(2023, 3, 28),
            for_civil_affairs=True,
            for_federation=True,
            for_finance=True,
            for_township=True,
            summary="面向民政、残联、财政和乡镇经办人员的年度业务培训：政策要点、数据比对和系统操作。",
            body=TRAINING_BODY,
            materials=[
                (
                    "material",
                    {"kind": "slides", "document": slides, "description": "PDF 课件，3 页"},
                )
            ],
        )
    _, created = TrainingSession.objects.get_or_create(
        city="长治市",
        held_on=dt.date(2023, 3, 28),
        defaults={
            "title": "2023年残疾人两项补贴政策及业务培训",
            "organizer": "joint",
            "audience": "各县区民政、残联、财政及乡镇经办人员",
            "training": training,
            "notes": "演示数据。",
        },
    )
    if created:
        report.note("培训开展记录：长治市 2023")
    return training


def _permissions(*names: str) -> list[Permission]:
    """The `Permission` rows of permission names (`archive.access.permissions`)."""
    return [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in map(perms.split, names)
    ]


def ensure_groups_and_workflow(home: HomePage, report: DemoReport) -> None:
    editors, created = Group.objects.get_or_create(name=EDITORS_GROUP)
    if created:
        report.note(f"用户组：{EDITORS_GROUP}")
    approvers, created = Group.objects.get_or_create(name=APPROVERS_GROUP)
    if created:
        report.note(f"用户组：{APPROVERS_GROUP}")

    root_collection = Collection.get_first_root_node()
    media = _permissions(
        perms.ADD_WAGTAIL_DOCUMENT,
        perms.CHANGE_WAGTAIL_DOCUMENT,
        perms.CHOOSE_WAGTAIL_DOCUMENT,
        perms.ADD_IMAGE,
        perms.CHANGE_IMAGE,
        perms.CHOOSE_IMAGE,
    )
    snippets = _permissions(
        perms.ADD_ISSUER,
        perms.CHANGE_ISSUER,
        perms.VIEW_ISSUER,
        perms.ADD_POLICY_TOPIC,
        perms.CHANGE_POLICY_TOPIC,
        perms.VIEW_POLICY_TOPIC,
        perms.ADD_TRAINING_SESSION,
        perms.CHANGE_TRAINING_SESSION,
        perms.VIEW_TRAINING_SESSION,
    )
    grants = {
        editors: (perms.ADD_PAGE, perms.CHANGE_PAGE),
        approvers: (
            perms.ADD_PAGE,
            perms.CHANGE_PAGE,
            perms.PUBLISH_PAGE,
            perms.LOCK_PAGE,
            perms.UNLOCK_PAGE,
        ),
    }
    for group, page_permissions in grants.items():
        group.permissions.add(*_permissions(perms.ACCESS_ADMIN), *snippets)
        if group is approvers:
            group.permissions.add(*_permissions(perms.DELETE_TRAINING_SESSION))
        for permission in _permissions(*page_permissions):
            GroupPagePermission.objects.get_or_create(group=group, page=home, permission=permission)
        for permission in media:
            GroupCollectionPermission.objects.get_or_create(
                group=group, collection=root_collection, permission=permission
            )

    task = GroupApprovalTask.objects.filter(name=TASK_NAME).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=TASK_NAME)
        report.note(f"审核任务：{TASK_NAME}")
    if set(task.groups.all()) != {approvers}:
        task.groups.set([approvers])
    workflow, created = Workflow.objects.get_or_create(name=WORKFLOW_NAME)
    if created:
        report.note(f"工作流：{WORKFLOW_NAME}")
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    link = WorkflowPage.objects.filter(page=home).first()
    if link is None:
        WorkflowPage.objects.create(page=home, workflow=workflow)
    elif link.workflow_id != workflow.pk:
        link.workflow = workflow
        link.save()


@transaction.atomic
def load_demo() -> DemoReport:
    report = DemoReport()
    home = ensure_home(report)
    policies = _child(
        home,
        PolicyIndexPage,
        "policies",
        report,
        title="政策文件",
        show_in_menus=True,
        summary="残疾人两项补贴相关的政策文件。可以按年份、发文机关、主题和效力筛选。",
    )
    notices = _child(
        home,
        NoticeIndexPage,
        "notices",
        report,
        title="通知公告",
        show_in_menus=True,
        summary="面向残疾人和家属的通知、公告和告知书。",
    )
    trainings = _child(
        home,
        TrainingIndexPage,
        "training",
        report,
        title="培训资料",
        show_in_menus=True,
        summary="面向民政、残联、财政和乡镇经办人员的培训课件、资料和各市培训开展情况。",
    )
    _child(
        home,
        FaqPage,
        "faq",
        report,
        title="常见问题",
        show_in_menus=True,
        summary="谁可以申请、申请要带什么、到哪里申请。",
        intro="<p>下面是申请残疾人两项补贴时大家常问的问题。</p>",
        items=[("faq", {"category": c, "question": q, "answer": a}) for c, q, a in FAQ_ITEMS],
    )
    ensure_policies(policies, report)
    _child(
        notices,
        NoticePage,
        "letter-to-disabled-friends",
        report,
        title="致残障朋友的一封信",
        date=dt.date(2023, 2, 1),
        signed_by="长治市民政局　长治市残疾人联合会",
        summary="残疾人两项补贴是什么、谁可以领、怎样申请、情况有变化要告诉谁。",
        body=LETTER_BODY,
        contact=LETTER_CONTACT,
    )
    ensure_training(trainings, report)
    ensure_groups_and_workflow(home, report)
    return report
