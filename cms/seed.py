"""The seed policy text shipped in ``cms/seed/``: 长民发〔2023〕18号, which forwards 晋民发〔2023〕1号.

The file is the text layer of the printed documents, so page breaks split sentences
(``动态复`` / ``核``) and a title spans lines. :func:`paragraphs` rebuilds paragraphs: lines of
one block are joined without spaces (Chinese), and a block is glued to the previous one when
the previous one does not end a sentence. :func:`seed_documents` cuts the file into the two
documents. The metadata (文号, issuers, dates, 公开属性) is stated in :mod:`cms.demo` and checked
against this text by the tests.

Pure: no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SEED_FILE", "SeedDocument", "paragraphs", "seed_documents", "seed_text"]

SEED_FILE = Path(__file__).resolve().parent / "seed" / "000_f0f3b4e336ae96a1.txt"
_SENTENCE_END = tuple("。：；！？…")


def seed_text(path: Path = SEED_FILE) -> str:
    return path.read_text(encoding="utf-8")


def paragraphs(text: str) -> list[str]:
    """Paragraphs of a text-layer dump: blocks split by blank lines, page breaks healed."""
    blocks = re.split(r"\n\s*\n", text.strip())
    out: list[str] = []
    for block in blocks:
        joined = "".join(line.strip() for line in block.splitlines()).strip()
        if not joined:
            continue
        if out and not out[-1].endswith(_SENTENCE_END):
            out[-1] += joined
        else:
            out.append(joined)
    return out


@dataclass(frozen=True)
class SeedDocument:
    doc_number_raw: str
    salutation: str
    body: list[str]  # paragraphs after the salutation
    closing: list[str]  # lines after the body (公开属性, 印发机关 and date)


def _between(text: str, start: str, end: str | None) -> str:
    i = text.index(start)
    j = text.index(end, i) if end else len(text)
    return text[i:j]


def seed_documents(text: str | None = None) -> dict[str, SeedDocument]:
    """The two documents of the seed, keyed by canonical 文号."""
    text = seed_text() if text is None else text
    changzhi_part, shanxi_part = text.split("山西省民政厅\n山西省财政厅文件", 1)
    changzhi_body = paragraphs(_between(changzhi_part, "各县区民政局、财政局、残联：", None))
    shanxi_main = _between(shanxi_part, "各市民政局、财政局、残联：", "主动公开")
    shanxi_body = paragraphs(shanxi_main)
    shanxi_closing = [line.strip() for line in shanxi_part.split("主动公开", 1)[1].splitlines()]
    return {
        "长民发〔2023〕18号": SeedDocument(
            doc_number_raw="长民发[2023]18号",
            salutation=changzhi_body[0],
            body=changzhi_body[1:],
            closing=[],
        ),
        "晋民发〔2023〕1号": SeedDocument(
            doc_number_raw="晋民发〔2023〕1号",
            salutation=shanxi_body[0],
            body=shanxi_body[1:],
            closing=["主动公开", *[line for line in shanxi_closing if line]],
        ),
    }
