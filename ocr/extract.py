"""OCR text → the fields of a case-file document: pure functions, no engine, no Django.

What a page says is read from the text Tesseract produced (and, optionally, its word boxes,
for confidences).  The rule throughout is the one of ``spec/cli.md``: a field that could not be
read is ``None``, never a guess, and every doubt becomes a warning in Chinese that a clerk can
act on.  Numbers go through :mod:`core.numbers` — a certificate number is returned only
when it passes the same checks as a typed one — and dates, categories and grades through
:mod:`core.cells`, so that OCR accepts exactly the forms the importer accepts.

OCR confusions are corrected only where the position *must* be a digit: ``O``→0, ``I``/``l``→1,
``Z``→2, ``S``→5, ``B``→8 inside the first 20 characters of a certificate number (the 18th may
be ``X``), never in the reissue suffix ``B``/``B1``/…, and never elsewhere.  A correction that
yields a number failing the check character is not retried with other guesses: MOD 11-2
catches every single-character error, and trying alternatives would manufacture a valid but
wrong number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.cells import LONG_TERM, CellError, parse_category, parse_expiry, parse_grade
from core.numbers import (
    CATEGORIES,
    GRADES,
    CertificateNumber,
    NumberError,
    parse_certificate,
    parse_id,
    to_halfwidth,
)
from ocr.words import Cell, Word, layout_cells

__all__ = [
    "FIELD_NAMES",
    "Extraction",
    "correct_digits",
    "extract_fields",
    "find_numbers",
    "line_name",
    "name_boxes",
    "name_in_line",
    "settle_name",
]

#: The keys of ``fields`` in the JSON of ``ocr_extract`` (``spec/cli.md``), in order.
FIELD_NAMES: tuple[str, ...] = (
    "certificate_number",
    "id_number",
    "name",
    "category",
    "grade",
    "valid_until",
)

# Letters Tesseract returns for digits; applied only at positions that must be digits.
_DIGIT_CONFUSIONS = str.maketrans(
    {"O": "0", "o": "0", "I": "1", "l": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8"}
)
_CONFUSABLE_LETTERS = "OoIlZzSsB"
_RUN = re.compile(r"[0-9OoIlZzSsBXx]+")
_NOISE_IN_NUMBER = re.compile(r"(?<=\d)[-.,·、_~—](?=\d)")
# Cells of a form row: a wide gap, a tab, or a table rule that Tesseract read as a bar.
_CELL_SPLIT = re.compile(r"\s{2,}|\t|[|｜]")
_SPACE = re.compile(r"\s+")
# Words that start another field: a value never runs on into them.
_LABELS = (
    "姓名", "性别", "民族", "出生", "住址", "证号", "身份", "公民", "类别", "等级", "有效期",
    "发证", "签发", "户籍", "电话", "照片", "申请", "监护",
)  # fmt: skip
# 姓 is read as 娃 or 蛙 on faint copies (生 and 圭 differ by a stroke, 女 and 虫 blur alike):
# neither word exists on these pages, so the label is still the label.
_NAME_LABEL = re.compile(r"[姓娃蛙]名[:]?")
_STRAY_BEFORE_LABEL = re.compile(r"^[^\u4e00-\u9fff]{1,3}")
_NAME_CHARS = re.compile(r"[\u4e00-\u9fff·•]+")
_CATEGORY_LABEL = re.compile(r"(?<!补贴)类别[:]?")
_CATEGORY_VALUE = re.compile(
    "(" + "|".join(name.removesuffix("残疾") for name in CATEGORIES.values()) + ")(残疾)?"
)
_GRADE_LABEL = re.compile(r"等级[:]?")
_GRADE_VALUE = re.compile(r"(IV|III|II|I|[1-4一二三四壹贰叁肆ⅠⅡⅢⅣ])级?")
# A dot read as a comma (2032,07.25) or a colon (2033.06:23), or a dash as a tilde
# (2034~01~24), is still a date: :data:`_MISREAD_SEPARATOR` makes it a dot.
_DATE = r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}[./,，~:-]\d{1,2}[./,，~:-]\d{1,2}|\d{8}"
_MISREAD_SEPARATOR = re.compile(r"(?<=\d)[,，~:](?=\d)")
# One separator misread as another (2029.03/27): the digits are all there, so it is the date.
_MIXED_SEPARATORS = re.compile(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})")
# An end date that lost one of its separators (203011.11, 2030.1111): with a two-digit month
# and day the split is not in doubt.  After a range's separator, or alone as the whole of
# what follows the label (:data:`_END`): then it is no less certain than eight bare digits.
_LOOSE_DATE = r"\d{4}[./-]?\d{2}[./-]?\d{2}"
_END = rf"长期有效|长期|{_DATE}|{_LOOSE_DATE}(?![\d./-])"
# The label as printed, with its middle or last character misread (有姓期至, 有双期限,
# 有效棚至, 有效0限, 有效明长期有效) where a date, 长期 or 至/限 follows, or with its first
# lost before 至/限 (效期至), or its last lost before 限 and a date (有效限2020…), or its
# middle two before 限 and a year (有限 2019.04.11.2029.04.11): OCR of a fax or under a seal
# rarely keeps all four.
_EXPIRY_WORD = (
    r"(?:有(?:效|[^\d\s至限:：](?=期(?:[至限]|[:：]?\d|长期)))期"
    r"|有效[^\d\s至限期:：](?=[至限]|[:：]?\d|长期)"
    r"|有效\d(?=[至限])"
    r"|有效(?=限[:：]?\d)"
    r"|有(?=限[:：]?\d{4})"
    r"|效期(?=[至限]))"
)
# A digit read into 至's cell (有效期至2 2028-06-04): no year has five digits, so a digit
# before a whole date is a stray.
_EXPIRY_UNTIL = re.compile(rf"{_EXPIRY_WORD}至[:]?\d?(?P<end>{_END})")
# After a date written in words (…日) a dot or comma can only be the range's dash misread
# (2023年9月9日.2033年9月9日).
_EXPIRY_RANGE = re.compile(
    rf"{_EXPIRY_WORD}限?[:]?(?:{_DATE})(?:[至到~\-—]+|(?<=日)[.,，、])"
    rf"(?P<end>长期有效|长期|{_DATE})"
)
# A range whose start date is misread (2019:02.87-2029.02.27, 2019;02.87-…, 2020,02.15-…,
# 2018-10:17-…, 202T.07.T9-…, 2022:05Q8-…: a digit read as a look-alike letter):
# the end is still printed whole, and it is what the field holds; it passes the same date
# and year checks.
_EXPIRY_GARBLED_START = re.compile(
    rf"{_EXPIRY_WORD}限?[:]?[0-9.,，:;；/\-年月日{_CONFUSABLE_LETTERS}TQD]{{6,11}}[至到~\-—]+"
    rf"(?P<end>{_DATE}|{_LOOSE_DATE})(?!\d)"
)
# 至 (or the colon) misread as another character (有效期全2030.10.25): one character between
# the label and a single date that no range follows.  Never 自/从/起, which begin a range
# (有效期自2020年1月1日起): that date is the start.
_EXPIRY_STRAY = re.compile(
    rf"{_EXPIRY_WORD}[^\d\s限自从起]"
    rf"(?P<end>{_END})(?![至到~\-—\d])"
)
# A range whose separator was lost (2021.08.102031.08.10) or read as a dot or comma
# (2020.10.24.2030.10.24), its end's separators sometimes lost with it (2025/10/1520351015):
# where the split is ambiguous
# only the reading in which both dates fall on the same day of the year is taken
# (:func:`_glued`), as a certificate's validity runs for whole years.
_EXPIRY_GLUED = re.compile(
    rf"{_EXPIRY_WORD}限?[:]?(?P<start>\d{{4}}(?P<s>[./-])\d{{1,2}}(?P=s)\d{{1,2}})[.,，]?"
    rf"(?P<end>\d{{4}}(?P<e>[./-])\d{{1,2}}(?P=e)\d{{1,2}}|\d{{8}})(?!\d)"
)
_EXPIRY_LABEL = re.compile(_EXPIRY_WORD)
_EXPIRY_BARE = re.compile(rf"{_EXPIRY_WORD}限?[:]?")
# 有效期 followed by one date only (no 至 or range after it): that date is the end.
# Not when a separator and a digit follow: that date starts a range whose dash was read as a
# dot (2020.10.24.2030.10.24), and taking it would give the start, a wrong expiry.
_EXPIRY_SINGLE = re.compile(rf"{_EXPIRY_WORD}限?[:]?(?P<end>{_END})(?![至到~\-—\d]|[./,，]\d)")
_NUMBER_LABEL = re.compile(r"证号|身份|号码|证件")
# The certificate number's label (残疾人证号, 证号 — not 身份证号) and the ID's (公民身份号码,
# 身份证号, 居民身份证): where only the first is printed, an 18-digit run is not an ID.
_CERTIFICATE_LABEL = re.compile(r"(?<!身份)证号")
_ID_LABEL = re.compile(r"身份|公民")
_LOW_CONFIDENCE = 60.0
#: Years an expiry date can have: second-generation certificates date from 2008, and none
#: runs longer than a few decades.
EXPIRY_YEARS = (2008, 2070)
#: Lowest per-character confidence (0–100) at which a re-read name is accepted alone, and
#: at which it is accepted when the whole-page reading agrees.  Chosen on 60 generated
#: certificates of three qualities, with ``chi_sim+eng`` and with ``chi_sim`` alone: the
#: lowest thresholds that returned no wrong name in either configuration.
NAME_MIN_CONFIDENCE = 70.0
NAME_AGREEING_MIN_CONFIDENCE = 30.0


@dataclass
class Extraction:
    """Fields read from one page (``None`` when unread) and the warnings that go with them."""

    fields: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(FIELD_NAMES))
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def correct_digits(run: str, *, length: int) -> str:
    """Map look-alike letters to digits in the first ``length`` characters of ``run``.

    The 18th character may legitimately be ``X`` (check character), so ``x`` becomes ``X``
    there and is left alone; characters after ``length`` (a reissue suffix such as ``B1``)
    keep their letters, except that digits after the ``B`` get the same digit mapping.
    """
    head = list(run[:length])
    for index, char in enumerate(head):
        if index == 17 and char in "Xx":
            head[index] = "X"
        else:
            head[index] = char.translate(_DIGIT_CONFUSIONS)
    tail = run[length:]
    if tail.startswith("B"):
        tail = "B" + tail[1:].translate(_DIGIT_CONFUSIONS)
    return "".join(head) + tail


@dataclass
class _Numbers:
    certificates: dict[str, CertificateNumber] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    rejected: list[tuple[str, str, NumberError]] = field(default_factory=list)  # kind, text, why


def _cells(line: str) -> list[str]:
    """A line's cells with the spaces OCR puts between characters removed."""
    cells = (_SPACE.sub("", cell) for cell in _CELL_SPLIT.split(to_halfwidth(line)))
    return [cell for cell in cells if cell]


def _runs(cell: str) -> list[str]:
    """Digit-like runs in a cell, also without leading look-alike letters (``No.`` → ``o``)."""
    found: list[str] = []
    for match in _RUN.finditer(cell):
        run = match.group()
        for variant in (run, run.lstrip(_CONFUSABLE_LETTERS)):
            if variant and variant not in found:
                found.append(variant)
    return found


def find_numbers(text: str, *, today: date | None = None) -> _Numbers:
    """Every certificate and ID number on the page that passes :mod:`core.numbers`.

    Searched per cell first (a wide gap never joins two numbers), then, for lines where that
    found nothing valid, across the whole line with all spaces removed (a number printed in
    widely spaced groups), and last without a dash or dot between two digits (a speck of a
    seal or the fold of a photocopy read as punctuation: ``14042619541019-488052``); the
    check character still has to hold, so no digit is ever invented.  Candidates that fail validation are kept with their reason, but
    only on lines labelled as a number (证号, 身份, 号码): a bank card or account number
    that is not an ID is no reason for a warning.
    """
    numbers = _Numbers()
    for line in text.splitlines():
        cells = _cells(line)
        found_before = len(numbers.certificates) + len(numbers.ids)
        pending: list[tuple[str, str, NumberError]] = []
        joined = "".join(cells)
        for source in (cells, [joined], [_NOISE_IN_NUMBER.sub("", joined)]):
            for cell in source:
                for run in _runs(cell):
                    _judge(run, numbers, pending, today)
            if len(numbers.certificates) + len(numbers.ids) > found_before:
                break
        else:
            if _NUMBER_LABEL.search("".join(cells)):
                numbers.rejected.extend(pending)
    return numbers


def _judge(
    run: str, numbers: _Numbers, pending: list[tuple[str, str, NumberError]], today: date | None
) -> None:
    """Validate one digit-like run as a certificate (20+), an ID (18) or a near miss."""
    if sum(char.isdigit() for char in run) < 12:  # look-alike letters or a short number
        return
    if len(run) >= 20:
        value = correct_digits(run, length=20)
        try:
            cert = parse_certificate(value, today=today)
        except NumberError as error:
            pending.append(("certificate", value, error))
        else:
            numbers.certificates.setdefault(cert.value, cert)
        return
    value = correct_digits(run, length=len(run))
    kind = "certificate" if len(run) == 19 else "id"
    try:
        if kind == "id":
            numbers.ids.add(parse_id(value, today=today).value)
        else:
            parse_certificate(value, today=today)  # always fails: 19 characters
    except NumberError as error:
        pending.append((kind, value, error))


@dataclass(frozen=True)
class _Box:
    """A cell's text (spaces removed, half-width) and, when known, where it is."""

    text: str
    cell: Cell | None = None


def _grid(text: str, words: Sequence[Word] | None) -> list[list[_Box]]:
    """The page as rows of cells: from the word boxes when given, else from the text."""
    if words:
        rows = [
            [
                _Box(part, cell)
                for cell in row
                for part in _cells(cell.text)  # a table rule read as "|" splits a cell
            ]
            for row in layout_cells(words)
        ]
    else:
        rows = [[_Box(cell) for cell in _cells(line)] for line in text.splitlines()]
    return [row for row in rows if row]


def _is_label(text: str) -> bool:
    """A label cell, also behind the prefixes a form puts before it (残疾类别, 残疾人证号,
    申请人姓名): such a cell under an empty 姓名 is the next header, not the name.  Also
    behind one stray character or a few non-Chinese ones — a seal's letter or specks read
    into the cell (``联公民身份号码``, ``HL公民身份号码``): no value begins that way."""
    head = _STRAY_BEFORE_LABEL.sub("", text)
    for prefix in ("残疾人", "残疾", "申请人"):
        head = head.removeprefix(prefix)
    return any(head.startswith(label) or head[1:].startswith(label) for label in _LABELS)


def _below(grid: list[list[_Box]], row: int, box: _Box) -> _Box | None:
    """The cell right under ``box`` (a header row's value), when the boxes are known."""
    if box.cell is None:
        return None
    label = box.cell
    height = label.bottom - label.top
    for later in grid[row + 1 : row + 3]:
        for other in later:
            cell = other.cell
            if cell is None or cell.top - label.bottom > 3 * height:
                continue
            overlap = min(cell.right, label.right) - max(cell.left, label.left)
            if overlap > 0.3 * min(cell.right - cell.left, label.right - label.left):
                return other
    return None


def _value_after(grid: list[list[_Box]], label: re.Pattern[str]) -> str | None:
    """The value of ``label``: the rest of its cell, the next cell on its row, or the cell
    below it (a table with a header row) — whichever comes first and is not a label."""
    for index, row in enumerate(grid):
        for position, box in enumerate(row):
            match = label.search(box.text)
            if not match:
                continue
            rest = _cut_at_label(box.text[match.end() :])
            if rest:
                return rest
            candidates = [*row[position + 1 : position + 2], _below(grid, index, box)]
            for candidate in candidates:
                if (
                    candidate is not None
                    and not _is_label(candidate.text)
                    and not _seal_letter(candidate, box)
                ):
                    return _cut_at_label(candidate.text)
            return ""
    return None


def _seal_letter(candidate: _Box, label: _Box) -> bool:
    """A one-character cell off the label's line (:func:`_off_line`): a seal's ring letter
    (申请人姓名 治 …, the name in the cell below), never the value."""
    return (
        len(candidate.text) == 1
        and candidate.cell is not None
        and label.cell is not None
        and _off_line(candidate.cell, label.cell)
    )


def _cut_at_label(value: str) -> str:
    cut = len(value)
    for label in _LABELS:
        position = value.find(label)
        if 0 < position < cut:
            cut = position
    return value[:cut]


def _plausible_name(value: str) -> bool:
    """Chinese characters (with ``·`` between the parts of a transliterated name), 2–5 long."""
    plain = value.replace("·", "")
    longest = 20 if "·" in value else 5
    return _NAME_CHARS.fullmatch(value) is not None and 2 <= len(plain) <= longest


def _read_name(grid: list[list[_Box]], result: Extraction) -> None:
    value = _value_after(grid, _NAME_LABEL)
    if value is None:
        return
    value = value.replace("•", "·")
    if _plausible_name(value):
        result.fields["name"] = value
        return
    result.warn(f"姓名「{value}」无法可靠识别，请人工核对" if value else "姓名栏为空或无法识别")


def _same_row(a: Word, b: Word) -> bool:
    return min(a.bottom, b.bottom) - max(a.top, b.top) >= 0.5 * min(a.height, b.height)


def _is_name_label(word: Word, words: Sequence[Word]) -> bool:
    """``word`` ends the label 姓名 (one word, or 名 right after a word ending in 姓)."""
    text = word.text.strip().rstrip(":：")
    if text.endswith("姓名"):
        return True
    return text == "名" and any(
        other.text.strip().endswith("姓")
        and _same_row(word, other)
        and 0 <= word.left - other.right <= word.height
        for other in words
    )


def name_boxes(words: Sequence[Word]) -> list[Word]:
    """The words of the value after the 姓名 label, for a closer second reading.

    A name has no check digit, and Tesseract reads isolated Chinese names poorly inside a
    whole page (with ``eng`` loaded it often returns Latin letters for them); reading just
    the name's box again as one line gives a better reading *and* a per-character
    confidence to judge it by (:func:`settle_name`).  Empty when there is no label.
    """
    labels = [word for word in words if _is_name_label(word, words)]
    label = min(labels, key=lambda w: (w.top, w.left), default=None)
    if label is None:
        return []
    row = sorted(
        (w for w in words if w.left >= label.right and _same_row(w, label)),
        key=lambda w: w.left,
    )
    value: list[Word] = []
    for index, word in enumerate(row):
        text = word.text.strip()
        if text in ("|", "｜", ":", "："):
            if value:
                break
            continue
        if value and word.left - value[-1].right > 1.2 * label.height:
            break  # the next cell
        following = "".join(w.text.strip() for w in row[index : index + 3])
        if any(following.startswith(other) for other in _LABELS):
            break  # the next field's label, printed without a gap
        value.append(word)
    return value


#: How far a one-character word may sit from a name's line, as shares of the line's height,
#: before it counts as a letter of a seal's ring (:func:`line_name`).
_OFF_LINE_SHIFT = 0.2
_OFF_LINE_HEIGHT = 0.8


def _off_line(stray: Word | Cell, line: Word | Cell) -> bool:
    height = line.bottom - line.top
    middle = (stray.top + stray.bottom - line.top - line.bottom) / 2
    return (
        abs(middle) > _OFF_LINE_SHIFT * height
        or stray.bottom - stray.top < _OFF_LINE_HEIGHT * height
    )


def line_name(value: str, words: Sequence[Word]) -> tuple[str, Word] | None:
    """The name as one detected line holds it, with that line (its confidence is the name's,
    its box where to read it again), or ``None``.

    A line engine (RapidOCR) reads the name inside one line (``姓名林静``), and that line's
    confidence is the name's.  A seal's ring letters (长治市残疾人联合会 bent round the
    stamp) are detected as single characters beside the name and the page's layout joins
    them to it (``治刘敏军合``, ``林静市``): such a character is dropped when it is a
    one-character word off the name's line (shifted or smaller), at either end of the value.
    A name split by the detector into aligned parts is not mistaken for one: its parts sit
    on the line, so nothing is dropped and the value is judged as it is.
    """
    holding = [w for w in words if value in _SPACE.sub("", w.text)]
    if holding:
        return value, max(holding, key=lambda w: w.conf)
    best: tuple[str, Word] | None = None
    for word in words:
        core = _NAME_LABEL.sub("", _SPACE.sub("", word.text), count=1)
        if len(core) >= 2 and core in value and (best is None or len(core) > len(best[0])):
            best = (core, word)
    if best is None:
        return None
    core, line = best
    start = value.index(core)
    strays = value[:start] + value[start + len(core) :]
    singles = [w for w in words if _off_line(w, line)]
    if all(any(w.text.strip() == char for w in singles) for char in strays):
        return core, line
    return None


def name_in_line(reading: str) -> str:
    """The name that a reading of a whole name line holds: without its spaces and the
    姓名 label before it, as :func:`line_name` takes a line's core, and in half-width first
    (so that ``姓名：`` is a label too)."""
    return _NAME_LABEL.sub("", _SPACE.sub("", to_halfwidth(reading)), count=1)


def settle_name(result: Extraction, reading: str, confidences: Sequence[float]) -> None:
    """Decide the name from a second, closer reading of its box (see :func:`name_boxes`).

    The name is accepted when every character of the second reading has at least
    :data:`NAME_MIN_CONFIDENCE`, or :data:`NAME_AGREEING_MIN_CONFIDENCE` when it equals the
    first reading (from the whole page): two readings at different settings agreeing.  Otherwise it is ``None`` with a
    warning that shows the doubtful reading, for a clerk to confirm: a wrong name filed
    against a person is worse than an empty one.  On generated certificates this keeps
    wrong names at zero (``bench/ocr_bench.py``).
    """
    text = _SPACE.sub("", to_halfwidth(reading)).replace("•", "·")
    first = result.fields["name"]
    result.warnings[:] = [w for w in result.warnings if not w.startswith("姓名")]
    lowest = min(confidences, default=0.0)
    agreeing = text == first and lowest >= NAME_AGREEING_MIN_CONFIDENCE
    if _plausible_name(text) and (lowest >= NAME_MIN_CONFIDENCE or agreeing):
        result.fields["name"] = text
        return
    result.fields["name"] = None
    if text:
        result.warn(f"姓名识别不可靠（疑为「{text}」），请人工核对")
    else:
        result.warn("姓名栏为空或无法识别")


def _read_category_grade(
    grid: list[list[_Box]], problems: list[str]
) -> tuple[int | None, int | None]:
    category: int | None = None
    grade: int | None = None
    value = _value_after(grid, _CATEGORY_LABEL)
    if value is not None:
        match = _CATEGORY_VALUE.match(value)
        try:
            category = parse_category(match.group(0) if match else value)
        except CellError:
            problems.append(f"残疾类别「{value}」无法识别")
    value = _value_after(grid, _GRADE_LABEL)
    if value is not None:
        match = _GRADE_VALUE.match(value)
        try:
            grade = parse_grade(match.group(0) if match else value)
        except CellError:
            problems.append(f"残疾等级「{value}」无法识别")
    return category, grade


def _glued(joined: str) -> re.Match[str] | None:
    """A range without its separator, taken only when its two dates fall on the same day
    of the year: otherwise the split between them is a guess."""
    match = _EXPIRY_GLUED.search(joined)
    if match is None:
        return None
    try:
        start, end = parse_expiry(match.group("start")), parse_expiry(match.group("end"))
    except CellError:
        return None
    if not isinstance(start, date) or not isinstance(end, date) or end <= start:
        return None
    return match if (start.month, start.day) == (end.month, end.day) else None


def _read_expiry(grid: list[list[_Box]], result: Extraction) -> None:
    for index, row in enumerate(grid):
        joined = "".join(box.text for box in row)
        if not _EXPIRY_LABEL.search(joined):
            continue
        if _EXPIRY_BARE.fullmatch(joined):  # the date in the cell below (a header row)
            below = _below(grid, index, row[0])
            joined += below.text if below is not None else ""
        match = (
            _EXPIRY_UNTIL.search(joined)
            or _EXPIRY_RANGE.search(joined)
            or _EXPIRY_SINGLE.search(joined)
            or _EXPIRY_GARBLED_START.search(joined)
            or _EXPIRY_STRAY.search(joined)
            or _glued(joined)
        )
        if not match:
            result.warn(f"有效期「{joined}」无法识别")
            return
        text = _MIXED_SEPARATORS.sub(r"\1.\2.\3", _MISREAD_SEPARATOR.sub(".", match.group("end")))
        if re.fullmatch(_LOOSE_DATE, text) and not re.fullmatch(_DATE, text):
            text = re.sub(r"\D", "", text)
        try:
            expiry = parse_expiry(text)
        except CellError as error:
            result.warn(f"有效期无法识别：{error.message}")
            return
        if isinstance(expiry, date) and not EXPIRY_YEARS[0] <= expiry.year <= EXPIRY_YEARS[1]:
            # A misread digit of the year (2035 read as 2085) still parses: not a date
            # any certificate carries, so a clerk reads it instead.
            result.warn(f"有效期「{text}」不合常理，未采用，请人工核对")
            return
        if expiry is LONG_TERM:
            result.fields["valid_until"] = LONG_TERM.value
        elif isinstance(expiry, date):
            result.fields["valid_until"] = expiry.isoformat()
        return


def _number_confidence(words: Sequence[Word], value: str) -> float | None:
    """Lowest confidence of the words that make up ``value`` (None when none match)."""
    stem = value[:20]
    confidences = []
    for word in words:
        text = correct_digits(_SPACE.sub("", to_halfwidth(word.text)), length=len(word.text))
        if len(text) >= 2 and text in stem:
            confidences.append(word.conf)
    return min(confidences) if confidences else None


def _describe(kind: str, value: str, error: NumberError) -> str:
    what = "残疾人证号" if kind == "certificate" else "身份号码"
    return (
        f"识别出的{what}「{value}」未通过校验（{error.code}）：{error.message}，未采用，请人工核对"
    )


def extract_fields(
    text: str,
    words: Sequence[Word] | None = None,
    *,
    doc_type: str | None = None,
    today: date | None = None,
) -> Extraction:
    """Read certificate number, ID number, name, category, grade and expiry from OCR text.

    ``words`` (optional) lets low-confidence digits be flagged; ``doc_type`` adds warnings
    for fields that a page of that type must show but could not be read; ``today`` fixes
    the date for the "birth date not in the future" check.
    """
    result = Extraction()
    grid = _grid(text, words)

    numbers = find_numbers(text, today=today)
    cert: CertificateNumber | None = None
    if len(numbers.certificates) == 1:
        cert = next(iter(numbers.certificates.values()))
        result.fields["certificate_number"] = cert.value
    elif len(numbers.certificates) > 1:
        listed = "、".join(numbers.certificates)
        result.warn(f"页面上识别出多个不同的残疾人证号（{listed}），无法确定，未采用")
    ids = set(numbers.ids)
    if ids and _only_certificate_printed(text, doc_type):
        if cert is None:
            for value in sorted(ids):
                result.warn(
                    f"证件上的18位号码「{value}」疑为残疾人证号缺位，未作为身份号码采用，请人工核对"
                )
        ids = set()
    if len(ids) == 1:
        result.fields["id_number"] = next(iter(ids))
    elif len(ids) > 1:
        result.warn(f"页面上识别出多个不同的身份号码（{'、'.join(sorted(ids))}），无法确定，未采用")
    if cert is not None:
        if result.fields["id_number"] is None and not ids:
            result.fields["id_number"] = cert.id_number.value
        elif result.fields["id_number"] not in (None, cert.id_number.value):
            result.warn("残疾人证号中的身份号码与页面上的公民身份号码不一致，请核对")
    for kind, value, error in numbers.rejected:
        if (kind == "certificate" and cert is None) or (kind == "id" and not ids):
            result.warn(_describe(kind, value, error))

    _read_name(grid, result)
    unread: list[str] = []
    category, grade = _read_category_grade(grid, unread)
    if cert is None:
        # With a valid number the printed words are only a cross-check: an unreadable
        # 类别/等级 cell is then nothing for a clerk to act on.
        for problem in unread:
            result.warn(problem)
    else:
        category, grade = _settle_code(result, cert, category, grade)
    result.fields["category"] = category
    result.fields["grade"] = grade
    _read_expiry(grid, result)

    if words and cert is not None and result.fields["certificate_number"] is not None:
        confidence = _number_confidence(words, cert.value)
        if confidence is not None and confidence < _LOW_CONFIDENCE:
            result.warn(f"残疾人证号识别置信度较低（{confidence:.0f}），已通过校验，建议人工核对")

    _warn_missing(doc_type, result)
    return result


def _settle_code(
    result: Extraction, cert: CertificateNumber, category: int | None, grade: int | None
) -> tuple[int | None, int | None]:
    """Category and grade when the page prints a valid certificate number: the number's 19th
    and 20th digits, unless the words beside 类别 / 等级 say otherwise.

    Those two digits carry no check character, so a misread one still passes every check:
    seed 284 of the tuning world read ``…746X13`` as ``…746X33`` beside a 视力残疾 read
    right. A certificate prints its words and its code from the same record, so when they
    differ one of the two readings is wrong, and which one cannot be told from the page
    (seed 195 read 三级 as 二级 beside a right number). A wrong number is far worse than
    none: the number is then not taken, nor the field in dispute; the other field, which
    nothing on the page contradicts, and the ID in its first 18 characters, which its check
    character vouches for, are kept.
    """
    category_disputed = category is not None and category != cert.category
    grade_disputed = grade is not None and grade != cert.grade
    disputes = []
    if category_disputed:
        disputes.append(
            f"证面残疾类别「{CATEGORIES[category]}」与识别出的证号第19位（{cert.category}，"
            f"{cert.category_name}）不一致"
        )
    if grade_disputed:
        disputes.append(
            f"证面残疾等级「{GRADES[grade]}」与识别出的证号第20位（{cert.grade}，"
            f"{cert.grade_name}）不一致"
        )
    if not disputes:
        return cert.category, cert.grade
    result.fields["certificate_number"] = None
    result.warn(f"{'；'.join(disputes)}，其中必有误读，残疾人证号未采用，请人工核对")
    return (
        None if category_disputed else cert.category,
        None if grade_disputed else cert.grade,
    )


def _only_certificate_printed(text: str, doc_type: str | None) -> bool:
    """A certificate (by its type or its number's label) on which no ID is labelled.

    Why it matters: a certificate prints its number, not the holder's ID, so an 18-digit run
    there is that number with two digits lost — and one time in eleven the digits left pass
    the ID's check character by chance (PP-OCRv6 read ``14040519470629687153`` as
    ``140405194705296853``).  Taken as the ID, that is a wrong number; the ID embedded in a
    valid certificate number is what such a page gives (:func:`extract_fields`).
    """
    certificate = doc_type == "disability_certificate" or _CERTIFICATE_LABEL.search(text)
    return bool(certificate) and _ID_LABEL.search(text) is None


_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "disability_certificate": (
        ("certificate_number", "残疾人证号"),
        ("name", "姓名"),
        ("category", "残疾类别"),
        ("grade", "残疾等级"),
        ("valid_until", "有效期"),
    ),
    "id_card": (("id_number", "公民身份号码"), ("name", "姓名")),
}


def _warn_missing(doc_type: str | None, result: Extraction) -> None:
    for key, label in _REQUIRED.get(doc_type or "", ()):
        if result.fields[key] is None and not any(label in w for w in result.warnings):
            result.warn(f"未能识别{label}")
