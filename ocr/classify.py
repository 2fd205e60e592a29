"""Which kind of case-file document a page is, from its OCR text: pure keyword scoring.

Each document type of :mod:`core.doctypes` has title phrases (strong evidence: the printed
heading of that document) and body words (weak evidence: labels that also turn up on other
documents — an application form mentions 银行, 监护人 and 低保 in its rows).  A page scores
the weights of the phrases it contains; the best type wins if it is clearly ahead of the
runner-up and has enough evidence, else the page is ``unknown`` and a clerk files it.

Keyword scoring rather than a trained model: the documents are few, printed and titled, the
rules are readable and fixable by anyone, and they need no training data (which would be
personal data).  OCR often garbles one character of a title, so a title also counts, with
less weight, when all but one of its characters appear in order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from core.doctypes import BY_CODE
from core.numbers import to_halfwidth

__all__ = ["KEYWORDS", "UNKNOWN", "Classification", "classify"]

UNKNOWN = "unknown"
#: Below this confidence a page is ``unknown`` rather than a guess.
MIN_CONFIDENCE = 0.5

# (phrase, weight): titles 5–6, distinctive labels 2–4, words shared with other documents 1.
KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "disability_certificate": (
        ("中华人民共和国残疾人证", 6),
        ("残疾人证", 3),
        ("残疾类别", 1),
        ("残疾等级", 1),
        ("类别", 0.5),
        ("等级", 0.5),
        ("有效期至", 1),
        ("发证机关", 1),
        ("残疾人联合会", 1),
    ),
    "id_card": (
        ("居民身份证", 6),
        ("公民身份号码", 3),
        ("签发机关", 2),
        ("有效期限", 1),
        ("民族", 1),
        ("出生", 1),
        ("住址", 0.5),
    ),
    "household_register": (
        ("常住人口登记卡", 6),
        ("居民户口簿", 6),
        ("户口簿", 5),
        ("户主或与户主关系", 3),
        ("与户主关系", 3),
        ("户主", 1),
        ("户号", 2),
        ("籍贯", 1),
    ),
    "application_form": (
        ("申请审批表", 6),
        ("两项补贴申请", 4),
        ("申请表", 3),
        ("审批意见", 2),
        ("审核意见", 1),
        ("申请补贴类别", 2),
        ("申请人", 1),
    ),
    "commitment_letter": (
        ("承诺书", 6),
        ("政策告知", 3),
        ("本人承诺", 2),
        ("承诺", 1),
    ),
    "assistance_certificate": (
        ("最低生活保障", 5),
        ("低保证", 5),
        ("低保边缘", 3),
        ("低保金", 2),
        ("保障对象", 2),
        ("低保", 1),
    ),
    "bank_card": (
        ("社会保障卡", 6),
        ("社保卡", 5),
        ("银行卡", 5),
        ("一卡通", 4),
        ("银联", 3),
        ("UnionPay", 3),
        ("借记卡", 3),
        ("储蓄卡", 3),
        ("银行", 1),
    ),
    "guardian_authorization": (
        ("监护人证明", 6),
        ("授权委托书", 6),
        ("委托书", 5),
        ("监护关系", 3),
        ("受托人", 3),
        ("委托人", 2),
        ("监护", 1),
        ("委托", 1),
    ),
    "institution_statement": (
        ("儿童福利机构", 6),
        ("儿童福利院", 6),
        ("儿童福利", 4),
        ("福利院", 2),
        ("情况说明", 2),
    ),
    "review_record": (
        ("年度复核", 6),
        ("复核记录", 5),
        ("复核表", 4),
        ("复核", 1),
    ),
    "change_approval": (
        ("变更审批", 6),
        ("停发审批", 6),
        ("恢复发放", 5),
        ("停发", 2),
        ("变更", 1),
        ("恢复", 1),
        ("暂停", 1),
    ),
}

_UNKNOWN_CODES = set(KEYWORDS) - set(BY_CODE)
if _UNKNOWN_CODES:  # pragma: no cover - a typo here must fail at import, not misfile pages
    raise ImportError(f"ocr.classify names document types that do not exist: {_UNKNOWN_CODES}")

_SPACE = re.compile(r"\s+")
_TITLE_WEIGHT = 5
# Evidence needed for full confidence; a title alone (5–6, counted double) gives about 0.95.
_SATURATION = 3.5


@dataclass(frozen=True)
class Classification:
    """A page's document type (a code of :data:`core.doctypes.DOCUMENT_TYPES` or
    ``unknown``), how sure the classifier is (0–1), and every type's score for debugging."""

    doc_type: str
    confidence: float
    scores: dict[str, float]


def _near_miss(phrase: str, text: str) -> bool:
    """``phrase`` with any one character misread (same length) occurs in ``text``."""
    if len(phrase) < 5:
        return False
    pattern = "|".join(
        re.escape(phrase[:i]) + "." + re.escape(phrase[i + 1 :]) for i in range(len(phrase))
    )
    return re.search(pattern, text) is not None


def _score(phrases: tuple[tuple[str, float], ...], text: str) -> float:
    score = 0.0
    covered: list[str] = []
    for phrase, weight in sorted(phrases, key=lambda item: -len(item[0])):
        # A shorter phrase inside a longer one already counted adds nothing (残疾人证 in
        # 中华人民共和国残疾人证): the title is one piece of evidence, not two.
        if any(phrase in longer for longer in covered):
            continue
        # A title (weight 5 or more) counts double: it names the document, whereas labels
        # such as 公民身份号码 or 出生 are printed on the register, the form and the ID card.
        title = 2.0 if weight >= _TITLE_WEIGHT else 1.0
        if phrase in text:
            score += weight * title
            covered.append(phrase)
        elif weight >= _TITLE_WEIGHT and _near_miss(phrase, text):
            score += weight * title * 0.6
            covered.append(phrase)
    return score


def classify(text: str) -> Classification:
    """Classify one page's OCR text; ``unknown`` with its confidence when unsure."""
    flat = _SPACE.sub("", to_halfwidth(text))
    scores = {code: _score(phrases, flat) for code, phrases in KEYWORDS.items()}
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top <= 0:
        return Classification(UNKNOWN, 0.0, scores)
    margin = (top - second) / top
    strength = 1 - math.exp(-top / _SATURATION)
    confidence = round(margin * strength, 2)
    if confidence < MIN_CONFIDENCE:
        return Classification(UNKNOWN, confidence, scores)
    return Classification(best, confidence, scores)
