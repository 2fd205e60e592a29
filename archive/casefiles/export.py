"""The export of a whole case file: its originals, older versions, the catalogue PDF and a
manifest with the SHA-256 of every file, each original re-hashed while it is copied."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from django.utils import timezone

from archive.casefiles.catalogue import catalogue, catalogue_pdf, document_title
from archive.casefiles.checklist import current_checklist, type_name
from archive.documents import storage
from archive.documents.scans import EXTENSIONS
from archive.models import (
    CaseFile,
    DocumentVersion,
)

# --- Export ------------------------------------------------------------------------------------


class AlteredOriginal(Exception):
    """An original no longer matches its SHA-256 (or is missing): the export stops."""


def export_zip(case_file: CaseFile, out: Path) -> int:
    """Writes the case file as a ZIP to ``out``: every original (current versions under 原件/,
    older ones under 历史版本/), the catalogue PDF, and manifest.csv with the SHA-256 of every
    other file in the ZIP (and SHA256SUMS in the format `sha256sum -c` checks). Each original
    is re-hashed while it is copied; a mismatch raises `AlteredOriginal`. Returns the number
    of originals."""
    checklist = current_checklist()
    rows = catalogue(case_file, checklist)
    person = case_file.person
    manifest: list[tuple[str, str, int, str, str, str]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        pdf = catalogue_pdf(case_file, rows)
        _add_bytes(zf, "卷内目录.pdf", pdf, manifest, "", "卷内目录", "")
        current_ids = set()
        for row in rows:
            version = row.document.current
            current_ids.add(version.pk)
            parts = [f"{row.number:03d}", row.code, _safe(type_name(row.document.doc_type))]
            stem = "_".join(part for part in parts if part)
            name = f"原件/{stem}.{EXTENSIONS[version.blob.kind]}"
            _add_original(zf, name, version, manifest, row.code, row.title)
        older = (
            DocumentVersion.objects.filter(document__case_file=case_file)
            .exclude(pk__in=current_ids)
            .select_related("blob", "document")
            .order_by("document_id", "number")
        )
        for version in older:
            document = version.document
            label = document.archival_code or f"未归档{document.pk}"
            state = "已作废" if document.deleted_at else f"第{version.number}版"
            name = f"历史版本/{label}_{state}_{version.pk}.{EXTENSIONS[version.blob.kind]}"
            title = document_title(document, person)
            _add_original(zf, name, version, manifest, document.archival_code or "", title)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["文件", "SHA-256", "字节数", "档号", "题名", "版本"])
        writer.writerows(manifest)
        zf.writestr("manifest.csv", "\ufeff" + text.getvalue())
        zf.writestr("SHA256SUMS", "".join(f"{sha}  {name}\n" for name, sha, *_ in manifest))
    return len(manifest) - 1


def _safe(text: str) -> str:
    return "".join("_" if c in '/\\:*?"<>| ' else c for c in text)


def _add_bytes(zf, name, data: bytes, manifest, code, title, version) -> None:
    import hashlib

    zf.writestr(name, data)
    manifest.append((name, hashlib.sha256(data).hexdigest(), len(data), code, title, version))


def _add_original(zf, name, version: DocumentVersion, manifest, code, title) -> None:
    import hashlib

    blob = version.blob
    path = storage.original_path(blob.sha256)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as src, zf.open(zipfile.ZipInfo(name, _now_tuple()), "w") as dst:
            while chunk := src.read(storage.CHUNK):
                digest.update(chunk)
                dst.write(chunk)
    except FileNotFoundError:
        raise AlteredOriginal(f"原件缺失：{code or name}") from None
    if digest.hexdigest() != blob.sha256:
        raise AlteredOriginal(f"原件校验失败（已被改动）：{code or name}")
    manifest.append((name, blob.sha256, blob.size, code, title, str(version.number)))


def _now_tuple() -> tuple[int, int, int, int, int, int]:
    now = timezone.localtime()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)
