"""Celery task of the OCR app: thin, the pipeline (:mod:`ocr.pipeline`) does the work.

``ocr.read_document(path)`` reads a file and returns one JSON item per page (``docs/commands.md``
shape, plus the OCR ``text`` so a caller can store it).  It stores nothing: filing results
against stored documents is the documents app's job (``archive.ocr_document``).

A file that is not a readable scan is not a task failure worth retrying — reading it again
gives the same answer — so it comes back as a single item with ``error``/``code`` instead of
an exception; an engine failure (Tesseract missing or hung) does raise, to be retried.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from ocr import pipeline
from ocr.pages import PageError


@shared_task(name="ocr.read_document", acks_late=True)
def read_document(path: str) -> list[dict[str, Any]]:
    """OCR every page of the file at ``path``; see the module docstring for the result."""
    try:
        return [result.to_json(text=True) for result in pipeline.read_file(path)]
    except PageError as error:
        return [{"file": path, "page": 0, "error": error.message, "code": error.code}]
