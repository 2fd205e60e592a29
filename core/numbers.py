"""Resident ID numbers (公民身份号码) and disability certificate numbers (残疾人证号).

Every record hangs off these two numbers, and they arrive from forms, spreadsheets, OCR and
the API, so validation lives here, once, as pure functions (no Django, no I/O). A rejected
number raises :class:`NumberError` whose ``code`` is machine-readable (it appears in import
reports and JSON output) and whose ``message`` is Chinese text a clerk can act on.

Error codes (see ``spec/numbers.md``):

``ID_LENGTH``     not 18 characters (15-digit first-generation numbers get their own message)
``ID_CHARS``      positions 1–17 not digits, or position 18 not a digit or ``X``
``ID_BIRTHDATE``  positions 7–14 not a real date, in the future, or before 1900
``ID_CHECKSUM``   check character (ISO 7064 MOD 11-2) does not match
``CERT_LENGTH``   certificate not a 20-character stem plus an optional ``B``/``B1``/… suffix
``CERT_ID``       first 18 characters not a valid ID (``id_code`` holds the ID reason)
``CERT_CATEGORY`` 19th character not a category digit 1–7
``CERT_GRADE``    20th character not a grade digit 1–4

Cross-check finding codes returned by :func:`cross_check`: ``CERT_ID_MISMATCH``,
``CERT_CODE_MISMATCH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Any

__all__ = [
    "CATEGORIES",
    "CERT_CODE_MISMATCH",
    "CERT_ID_MISMATCH",
    "CROSS_CHECK_MESSAGES",
    "GRADES",
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "INVISIBLE_CHARS",
    "REISSUE_SUFFIX",
    "CertificateNumber",
    "IdNumber",
    "NumberError",
    "cross_check",
    "id_check_char",
    "mask_id",
    "normalize_certificate",
    "normalize_id",
    "parse_certificate",
    "parse_id",
    "to_halfwidth",
]

CATEGORIES: dict[int, str] = {
    1: "视力残疾",
    2: "听力残疾",
    3: "言语残疾",
    4: "肢体残疾",
    5: "智力残疾",
    6: "精神残疾",
    7: "多重残疾",
}

GRADES: dict[int, str] = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}

CERT_ID_MISMATCH = "CERT_ID_MISMATCH"
CERT_CODE_MISMATCH = "CERT_CODE_MISMATCH"

CROSS_CHECK_MESSAGES: dict[str, str] = {
    CERT_ID_MISMATCH: "残疾人证号中的身份号码与本人身份号码不一致",
    CERT_CODE_MISMATCH: "残疾人证号中的残疾类别或等级与登记的类别、等级不一致（以证号为准）",
}

ID_LENGTH = 18
CERT_STEM_LENGTH = 20
MIN_BIRTH_DATE = date(1900, 1, 1)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ZERO_WEIGHT = ord("0") * sum(ID_WEIGHTS)
_ASCII_DIGITS = frozenset("0123456789")
# B, B1, B2, … — the spec lists no B0 or zero-padded forms, so they are rejected, not guessed.
REISSUE_SUFFIX = re.compile(r"B(?:[1-9][0-9]*)?")
#: Characters that are invisible in a spreadsheet cell but break an exact comparison: the
#: normalisers drop them.
INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE_CHARS))
# Full-width ASCII block U+FF01–U+FF5E maps onto U+0021–U+007E; U+3000 is the ideographic space.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class NumberError(ValueError):
    """A number was rejected; ``code`` says why for machines, ``message`` for people.

    ``id_code`` is set only for ``CERT_ID`` and carries the reason the embedded ID failed, so
    a report can say e.g. "certificate rejected because its ID has a bad check character".
    """

    def __init__(self, code: str, message: str, id_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id_code = id_code

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the exception picklable (task queues ship exceptions between processes).
        return (type(self), (self.code, self.message, self.id_code))


def to_halfwidth(text: str) -> str:
    """Convert full-width ASCII forms (``０-９``, ``Ｘ``, ``ｘ``, …) and the ideographic space.

    Chinese input methods produce full-width characters that look identical to ASCII ones;
    converting them explicitly (rather than via NFKC) keeps look-alikes such as ``①`` from
    silently becoming digits.

    Every character either table maps lies outside ASCII, so ASCII text (most ID numbers,
    dates and amounts of a roster) is returned as it is: ``str.translate`` looks each
    character up in the table, 0.6 µs for an 18-digit ID against 10 ns for the test, a quarter
    of a second over the cells of a 100 000-row roster (docs/benchmarks.md, the roster import
    rows).
    """
    if text.isascii():
        return text
    return text.translate(_HALFWIDTH).translate(_INVISIBLE)


def normalize_id(raw: str) -> str:
    """Return ``raw`` without any whitespace, in ASCII, upper-case.

    IDs are often typed with spaces between groups, with a full-width keyboard, or with a
    lower-case ``x``; all of these denote the same number and must compare equal.
    """
    return "".join(to_halfwidth(raw).split()).upper()


def normalize_certificate(raw: str) -> str:
    """Normalise a certificate number exactly like an ID number (it embeds one)."""
    return normalize_id(raw)


def id_check_char(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits of an ID.

    Exposed so that tests, demo data and OCR correction compute valid numbers the same way
    the validator checks them.
    """
    if len(first17) != ID_LENGTH - 1 or not (first17.isascii() and first17.isdigit()):
        raise NumberError("ID_CHARS", f"计算校验位需要17位数字，收到「{first17}」")
    # Once per ID of every imported row: the ASCII codes weighted in C, less what the code of
    # "0" adds, is the weighted sum of the digits without 17 calls of int() (half the time).
    return ID_CHECK_CHARS[(sum(map(mul, first17.encode(), ID_WEIGHTS)) - _ZERO_WEIGHT) % 11]


@dataclass(frozen=True)
class IdNumber:
    """A validated 18-character resident ID number and the facts it encodes."""

    value: str
    division_code: str
    birth_date: date
    sex: str  # "男" or "女"


def parse_id(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate and decode an ID number, raising :class:`NumberError` with the exact reason.

    ``today`` fixes the reference date for the "birth date not in the future" rule, so that
    tests and historical re-runs are deterministic.
    """
    if raw is None:
        raise NumberError("ID_LENGTH", "身份号码为空")
    if not isinstance(raw, str):
        # Excel stores an 18-digit number as a float with 15 significant digits: the last
        # digits are already lost, so a numeric cell can never be trusted.
        raise NumberError(
            "ID_CHARS",
            "身份号码须为文本，不能是数值（Excel 把长数字存为数值会丢失末尾几位，请将该列设为文本格式）",
        )
    value = normalize_id(raw)
    length = len(value)
    if length == 0:
        raise NumberError("ID_LENGTH", "身份号码为空")
    if length == 15 and set(value) <= _ASCII_DIGITS:
        raise NumberError(
            "ID_LENGTH",
            "身份号码应为18位，实为15位（第一代身份证号码须由发证机关换发18位号码）",
        )
    if length != ID_LENGTH:
        raise NumberError("ID_LENGTH", f"身份号码应为18位，实为{length}位")
    head, last = value[:17], value[17]
    if not (head.isascii() and head.isdigit() and (last == "X" or last in _ASCII_DIGITS)):
        for position, char in enumerate(value, start=1):
            allowed = position == ID_LENGTH and char == "X"
            if char not in _ASCII_DIGITS and not allowed:
                raise NumberError(
                    "ID_CHARS",
                    f"身份号码前17位应为数字、第18位应为数字或X，第{position}位为「{char}」",
                )
    digits = value[6:14]
    try:
        birth = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise NumberError(
            "ID_BIRTHDATE", f"身份号码第7–14位出生日期「{digits}」不是有效日期"
        ) from None
    reference = today if today is not None else date.today()
    if birth > reference:
        raise NumberError(
            "ID_BIRTHDATE",
            f"身份号码中的出生日期{birth.isoformat()}晚于当前日期{reference.isoformat()}",
        )
    if birth < MIN_BIRTH_DATE:
        raise NumberError(
            "ID_BIRTHDATE", f"身份号码中的出生日期{birth.isoformat()}早于1900年，不可能有效"
        )
    expected = id_check_char(value[:17])
    if value[17] != expected:
        raise NumberError(
            "ID_CHECKSUM",
            f"身份号码校验位应为「{expected}」，实为「{value[17]}」，号码有误，请核对",
        )
    return IdNumber(
        value=value,
        division_code=value[:6],
        birth_date=birth,
        sex="男" if int(value[16]) % 2 else "女",
    )


def mask_id(value: str) -> str:
    """Hide the birth date and sequence of an ID for display: ``140425********1235``.

    Lists and exports shown to people who do not need the full number must not expose it
    (personal information protection). Values shorter than 11 characters are masked entirely,
    since keeping 10 characters of them would reveal most of the value.
    """
    text = normalize_id(value)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


#: An 18-character ID (the first 18 of a certificate number too) or an old 15-digit one,
#: anywhere in a text, not inside a longer run of digits on its left.
_ID_IN_TEXT = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15}(?![0-9]))")


def mask_ids_in(text: str) -> str:
    """Masks every ID number inside a free text — a file name (``140425198001010012.pdf``),
    an audit detail — as :func:`mask_id` masks one number. The one masker for texts: lists
    and the audit log show file names people chose, and people name scans after the ID."""
    return _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), text or "")


@dataclass(frozen=True)
class CertificateNumber:
    """A validated disability certificate number.

    ``stem`` (ID + category + grade) identifies the certificate; ``value`` keeps the re-issue
    suffix exactly as printed so that the record matches the physical card.
    """

    value: str
    stem: str
    id_number: IdNumber
    category: int
    grade: int
    reissue_suffix: str  # "" or "B", "B1", "B2", …

    @property
    def category_name(self) -> str:
        """Chinese name of the category, e.g. 肢体残疾."""
        return CATEGORIES[self.category]

    @property
    def grade_name(self) -> str:
        """Chinese name of the grade, e.g. 三级."""
        return GRADES[self.grade]


def parse_certificate(
    raw: str, *, today: date | None = None, holder: IdNumber | None = None
) -> CertificateNumber:
    """Validate and decode a certificate number, raising :class:`NumberError`.

    Checks run in the order of the characters (length, embedded ID, category, grade) so that
    the first reason reported is the first thing a clerk has to correct. ``holder`` is the
    ID number already read (with the same ``today``) for the person the certificate is given
    for: when the number embeds exactly it, as nearly every roster row's does, it is not
    parsed a second time (a roster import parsed each row's ID twice).
    """
    if raw is None:
        raise NumberError("CERT_LENGTH", "残疾人证号为空")
    if not isinstance(raw, str):
        raise NumberError(
            "CERT_LENGTH",
            "残疾人证号须为文本，不能是数值（Excel 把长数字存为数值会丢失末尾几位，请将该列设为文本格式）",
        )
    value = normalize_certificate(raw)
    length = len(value)
    if length == 0:
        raise NumberError("CERT_LENGTH", "残疾人证号为空")
    if length < CERT_STEM_LENGTH:
        hint = "（疑为身份号码，缺少残疾类别和等级两位）" if length == ID_LENGTH else ""
        raise NumberError("CERT_LENGTH", f"残疾人证号应为20位，实为{length}位{hint}")
    stem, suffix = value[:CERT_STEM_LENGTH], value[CERT_STEM_LENGTH:]
    if suffix and not REISSUE_SUFFIX.fullmatch(suffix):
        raise NumberError(
            "CERT_LENGTH",
            f"残疾人证号应为20位（补发证可带B、B1、B2……后缀），实为{length}位，"
            f"末尾「{suffix}」无法识别",
        )
    try:
        embedded = stem[:ID_LENGTH]
        if holder is not None and holder.value == embedded:
            id_number = holder
        else:
            id_number = parse_id(embedded, today=today)
    except NumberError as error:
        raise NumberError(
            "CERT_ID", f"残疾人证号前18位不是有效的身份号码：{error.message}", error.code
        ) from None
    category_char, grade_char = stem[18], stem[19]
    if category_char not in _ASCII_DIGITS or int(category_char) not in CATEGORIES:
        raise NumberError(
            "CERT_CATEGORY", f"残疾人证号第19位应为残疾类别1–7，实为「{category_char}」"
        )
    if grade_char not in _ASCII_DIGITS or int(grade_char) not in GRADES:
        raise NumberError("CERT_GRADE", f"残疾人证号第20位应为残疾等级1–4，实为「{grade_char}」")
    return CertificateNumber(
        value=value,
        stem=stem,
        id_number=id_number,
        category=int(category_char),
        grade=int(grade_char),
        reissue_suffix=suffix,
    )


def cross_check(
    person_id: str,
    cert: CertificateNumber,
    recorded_category: int | None,
    recorded_grade: int | None,
) -> list[str]:
    """Return the finding codes for a record whose certificate disagrees with its other fields.

    Each disagreement is a separate finding so that it can be corrected separately. A recorded
    category or grade that is ``None`` is not compared: absence of data is not a finding.
    """
    findings: list[str] = []
    if normalize_id(person_id) != cert.id_number.value:
        findings.append(CERT_ID_MISMATCH)
    category_differs = recorded_category is not None and recorded_category != cert.category
    grade_differs = recorded_grade is not None and recorded_grade != cert.grade
    if category_differs or grade_differs:
        findings.append(CERT_CODE_MISMATCH)
    return findings
