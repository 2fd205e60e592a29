"""Keeps derived data fresh: the page cache generation and the attachment text of pages whose
document file was replaced."""

from __future__ import annotations

import logging

from django.db.models.signals import post_delete, post_save
from wagtail.documents import get_document_model
from wagtail.models import Page, Site
from wagtail.search import index
from wagtail.signals import page_published, page_unpublished

from cms.caching import bump_generation

logger = logging.getLogger(__name__)


def _bump(**kwargs) -> None:
    bump_generation()


def refresh_pages_using_document(document) -> int:
    """Re-extracts attachment text of live pages that attach ``document``; returns how many."""
    from cms.models import PolicyPage, TrainingPage

    pages = list(PolicyPage.objects.filter(attachments__document=document).distinct())
    pages += [
        p
        for p in TrainingPage.objects.all()
        if any(b.value["document"] and b.value["document"].pk == document.pk for b in p.materials)
    ]
    for page in pages:
        page.refresh_attachment_text()
        type(page).objects.filter(pk=page.pk).update(attachment_text=page.attachment_text)
        index.insert_or_update_object(page)
    return len(pages)


def _document_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    bump_generation()
    if created or kwargs.get("raw"):
        return
    if update_fields is not None and "file" not in update_fields:
        return
    try:
        refresh_pages_using_document(instance)
    except Exception:  # never block saving a document
        logger.exception("could not refresh pages attaching document %s", instance.pk)


def connect() -> None:
    from cms.models import Issuer, PolicyTopic, TrainingSession

    page_published.connect(_bump, dispatch_uid="cms-cache-published")
    page_unpublished.connect(_bump, dispatch_uid="cms-cache-unpublished")
    post_delete.connect(_bump, sender=Page, dispatch_uid="cms-cache-page-deleted")
    for model in (Issuer, PolicyTopic, TrainingSession, Site):
        post_save.connect(_bump, sender=model, dispatch_uid=f"cms-cache-save-{model.__name__}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"cms-cache-del-{model.__name__}")
    Document = get_document_model()
    post_save.connect(_document_saved, sender=Document, dispatch_uid="cms-document-saved")
    post_delete.connect(_bump, sender=Document, dispatch_uid="cms-cache-document-deleted")
