"""Builders shared by the CMS tests."""

from __future__ import annotations

import datetime as dt

from bs4 import BeautifulSoup
from django.core.files.base import ContentFile

from cms.visibility import ACTIVE, VALID

PUBLIC_URLS = {
    "home": "/",
    "policy index": "/policies/",
    "policy": "/policies/jinminfa-2023-1/",
    "forwarding policy": "/policies/changminfa-2023-18/",
    "notice index": "/notices/",
    "notice": "/notices/letter-to-disabled-friends/",
    "notice poster": "/notices/letter-to-disabled-friends/print/",
    "training index": "/training/",
    "training": "/training/training-2023/",
    "faq": "/faq/",
    "search results": "/search/?q=精准管理",
}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode("utf-8"), "html.parser")


def make_document(title: str, filename: str, content: bytes):
    from wagtail.documents import get_document_model
    from wagtail.models import Collection

    Document = get_document_model()
    document = Document(title=title, collection=Collection.get_first_root_node())
    document.file.save(filename, ContentFile(content), save=False)
    document._set_document_file_metadata()
    document.save()
    return document


def publish_policy(
    *,
    title: str,
    doc_number: str,
    slug: str,
    disclosure: str = ACTIVE,
    body: str = "<p>正文。</p>",
    issuers=(),
    topic=None,
    validity: str = VALID,
    issued_date: dt.date | None = None,
    forwards=None,
    attachments=(),
):
    from cms.models import PolicyAttachment, PolicyIndexPage, PolicyPage

    index = PolicyIndexPage.objects.get()
    page = PolicyPage(
        title=title,
        slug=slug,
        doc_number=doc_number,
        disclosure=disclosure,
        body=body,
        topic=topic,
        validity=validity,
        issued_date=issued_date,
        forwards=forwards,
    )
    page.issuers = list(issuers)
    page.attachments = [PolicyAttachment(document=d) for d in attachments]
    index.add_child(instance=page)
    page.save_revision().publish()
    return PolicyPage.objects.get(pk=page.pk)
