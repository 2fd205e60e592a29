"""StreamField blocks: FAQ entries and training material files."""

from __future__ import annotations

from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock

RICH_TEXT_FEATURES = ["h2", "h3", "bold", "ol", "ul", "link", "document-link"]
ANSWER_FEATURES = ["bold", "ol", "ul", "link", "document-link"]

FAQ_CATEGORIES = [
    ("who", "谁可以申请"),
    ("bring", "申请要带什么"),
    ("where", "到哪里申请"),
    ("other", "其他问题"),
]


class FaqItemBlock(blocks.StructBlock):
    category = blocks.ChoiceBlock(choices=FAQ_CATEGORIES, default="who", label="分类")
    question = blocks.CharBlock(label="问题", max_length=200)
    answer = blocks.RichTextBlock(label="回答", features=ANSWER_FEATURES)

    class Meta:
        icon = "help"
        label = "问答"


MATERIAL_KINDS = [("slides", "课件"), ("document", "参考资料")]


class MaterialBlock(blocks.StructBlock):
    kind = blocks.ChoiceBlock(choices=MATERIAL_KINDS, default="slides", label="类别")
    document = DocumentChooserBlock(label="文件")
    description = blocks.CharBlock(label="说明", required=False, max_length=200)

    class Meta:
        icon = "doc-full"
        label = "培训文件"
