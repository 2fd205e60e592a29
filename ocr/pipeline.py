"""The consumption pipeline: file → pages → prepared images → words → type and fields.

Modelled on paperless-ngx's consumer: a sequence of explicit steps, each a plain function in
its own module (:mod:`ocr.pages`, :mod:`ocr.preprocess`, :mod:`ocr.engine`,
:mod:`ocr.classify`, :mod:`ocr.extract`), so that each is tested alone and the Celery task
(:mod:`ocr.tasks`) and the command (``ocr_extract``) are thin.  Nothing here touches the
database: results are plain data that the documents app stores.

Orientation: most scans are upright, and asking Tesseract OSD about every page costs about
half a second more per page.  So a page is read as it is first; only when that reading is
poor (few confident words — what an upside-down or sideways page gives) is OSD asked, and the
better of the two readings kept.
"""

from __future__ import annotations

import os
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from core.cells import LONG_TERM, Expiry
from core.numbers import CATEGORIES, GRADES, normalize_id, parse_certificate
from ocr import classify as classifier
from ocr import engine as ocr_engine
from ocr import extract, pages, preprocess
from ocr.boxes import field_boxes
from ocr.words import Word, layout_text

__all__ = [
    "PageResult",
    "compare_with_record",
    "iter_file",
    "page_turn",
    "read_file",
    "read_image",
]

_HAN = re.compile(r"[\u4e00-\u9fff]")
# A reading is "poor" below these: an upright page of print gives dozens of words at 85–95.
_GOOD_WORD_CONF = 70.0
_MIN_GOOD_WORDS = 6
_MIN_MEAN_CONF = 60.0
#: A page is turned by what its lines say only when at least this many lines vote
#: (:func:`page_turn`); RapidOCR reads a line turned a quarter when its box is this many times
#: taller than wide (``get_rotate_crop_image`` in rapidocr 3.10).
_MIN_TURN_VOTES = 3
_TALL = 1.5
# Zoom into text whose height (as the engine sees it) is below _SMALL_TEXT pixels: enlarge
# the text's area to _ZOOM_TEXT-pixel characters, at most _ZOOM_MAX_SIDE pixels a side.
_ZOOM_MIN_CONF = 50.0
_SMALL_TEXT = 22
_ZOOM_TEXT = 40
_ZOOM_MAX_SIDE = 2400
#: A RapidOCR line is its own confidence for a name: the lowest line confidence at which a
#: name is accepted from that one reading.
RAPID_NAME_MIN_CONFIDENCE = 90.0
#: Below it, the name's line is cut again twice, with margins of these fractions of its
#: height (crops the detector did not make), and each cut is read alone; the name is accepted
#: when both readings hold the same name with at least RAPID_NAME_AGREEING_MIN_CONFIDENCE.
#: Cut without a margin, the line reads as before, wrong characters included; with one
#: witness instead of two, more wrong names came through (docs/benchmarks.md, "OCR names
#: under the bar").
NAME_LINE_MARGINS = (0.1, 0.25)
RAPID_NAME_AGREEING_MIN_CONFIDENCE = 85.0
#: The pages that print the name beside a 姓名 label: a commitment letter names the person
#: inside a sentence, a bank card not at all, and a page of no known type is mostly one that
#: read as nothing (a photo, a blank), so reading them again for a name only costs time (0.97
#: → 1.53 CPU s per commitment letter on the held-out pages, docs/benchmarks.md).
_NAME_LABELLED = frozenset(
    {"disability_certificate", "id_card", "household_register", "application_form"}
)


@dataclass
class PageResult:
    """What one page of a file says: its document type, fields and warnings (``docs/commands.md``)."""

    file: str
    page: int
    doc_type: str
    confidence: float
    fields: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    text: str = ""
    #: Where each field was read: (left, top, right, bottom) as fractions of the page
    #: (``ocr.boxes``); and the page's size in pixels. Kept by the archive for the crops of
    #: the OCR 核对 page; not part of the ``ocr_extract`` JSON.
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    size: tuple[int, int] = (0, 0)

    def to_json(self, *, text: bool = False) -> dict[str, Any]:
        """The item of ``ocr_extract --json``; ``text=True`` adds the OCR text (for storage)."""
        item: dict[str, Any] = {
            "file": self.file,
            "page": self.page,
            "doc_type": self.doc_type,
            "confidence": self.confidence,
            "fields": {name: self.fields.get(name) for name in extract.FIELD_NAMES},
            "warnings": list(self.warnings),
        }
        if text:
            item["text"] = self.text
        return item


def _quality(words: list[Word], engine_name: str) -> tuple[int, float]:
    """How much of a reading is confident, and its mean confidence.

    A RapidOCR word is a whole detected line, so its characters are counted, not the line:
    a bank card's four confident lines (some 40 characters) are a good reading, not the
    "few words" of an upside-down page that Tesseract OSD is then asked about.
    """
    if engine_name == ocr_engine.RAPIDOCR:
        good = sum(len(w.text.strip()) for w in words if w.conf >= _GOOD_WORD_CONF)
    else:
        good = sum(1 for word in words if word.conf >= _GOOD_WORD_CONF)
    mean = statistics.fmean(word.conf for word in words) if words else 0.0
    return good, mean


def _is_poor(words: list[Word], engine_name: str) -> bool:
    good, mean = _quality(words, engine_name)
    return good < _MIN_GOOD_WORDS or mean < _MIN_MEAN_CONF


def _recognise(
    image: Image.Image,
    *,
    detect_orientation: bool,
    engine_name: str,
    filters: preprocess.Filters = preprocess.DEFAULT_FILTERS,
) -> tuple[preprocess.Prepared, list[Word]]:
    """Prepare and OCR a page; zoom into small text; retry upright (OSD) when poor.

    RapidOCR gets the page at its own size (it scales line crops itself) and Tesseract the
    page scaled to its preferred line height; both then get a closer look when the text is
    small on a large page (a card photocopied onto A4: located by its text and cropped).
    """
    rescale = engine_name != ocr_engine.RAPIDOCR
    prepared = preprocess.prepare(image, rescale=rescale, filters=filters)
    words = ocr_engine.recognise(prepared.image, engine=engine_name)
    # Tesseract's words carry no direction of their own: OSD below turns its pages.
    turn = page_turn(words) if detect_orientation and engine_name == ocr_engine.RAPIDOCR else 0
    if turn:
        upright = preprocess.turn(prepared.image, turn)
        retry = _turned(prepared, upright, turn, rescale=rescale, filters=filters)
        retry_words = ocr_engine.recognise(retry.image, engine=engine_name)
        if page_turn(retry_words) == 0:
            prepared, words = retry, retry_words
    prepared, words = _zoom(prepared, words, engine_name)
    if not detect_orientation or not _is_poor(words, engine_name):
        return prepared, words
    upright, rotated, note = preprocess.orient(prepared.image)
    if note:
        prepared.notes.append(note)
    if not rotated:
        return prepared, words
    retry = _turned(prepared, upright, rotated, rescale=rescale, filters=filters)
    retry_words = ocr_engine.recognise(retry.image, engine=engine_name)
    if _quality(retry_words, engine_name)[0] > _quality(words, engine_name)[0]:
        return _zoom(retry, retry_words, engine_name)
    return prepared, words


def _turned(
    prepared: preprocess.Prepared,
    upright: Image.Image,
    rotated: int,
    *,
    rescale: bool,
    filters: preprocess.Filters,
) -> preprocess.Prepared:
    """The preparation of ``upright``, ``prepared``'s image turned clockwise by ``rotated``:
    its boxes map back to the page through both."""
    retry = preprocess.prepare(upright, rescale=rescale, filters=filters)
    retry.rotated = rotated
    retry.page_size = prepared.page_size
    retry.steps[:0] = [*prepared.steps, preprocess.Turn(rotated, prepared.image.size)]
    return retry


def page_turn(words: list[Word]) -> int:
    """How far (degrees clockwise) to turn a page that RapidOCR read with its lines turned.

    RapidOCR's direction classifier turns each upside-down line before reading it
    (:attr:`ocr.words.Word.turned`), and RapidOCR reads a line whose box is at least 1.5×
    taller than wide after turning it a quarter counter-clockwise.  So an upside-down page
    comes back as well-read lines in reverse layout, and a page on its side as tall lines,
    which no label-and-value rule can follow.  The lines of two or more confident characters
    vote: wide and turned says 180°; tall says 270° (the page lies turned clockwise) or, turned
    as well, 90°; the page is turned only when more than half the votes agree.
    """
    lines = [w for w in words if w.conf >= _GOOD_WORD_CONF and len(w.text.strip()) >= 2]
    votes = [_vote(line) for line in lines]
    if len(votes) < _MIN_TURN_VOTES:
        return 0
    turn, count = Counter(votes).most_common(1)[0]
    return turn if count * 2 > len(votes) else 0


def _vote(word: Word) -> int:
    if word.height >= _TALL * word.width:
        return 90 if word.turned else 270
    return 180 if word.turned else 0


def _zoom(
    prepared: preprocess.Prepared, words: list[Word], engine_name: str
) -> tuple[preprocess.Prepared, list[Word]]:
    """Crop to the text and enlarge it when it is small on a large page, and read again.

    The text's extent comes from the first reading (its confident words), so a card pasted
    anywhere on an A4 page, at any scale, is found without assuming where it is.  The closer
    reading is kept when it has at least as many confident words.
    """
    image = prepared.image
    seen = min(1.0, _rapid_side() / max(image.size)) if engine_name == ocr_engine.RAPIDOCR else 1.0
    good = [w for w in words if w.conf >= _ZOOM_MIN_CONF]
    # Two confident RapidOCR lines (each a whole line, unlike Tesseract's words) already say
    # whether the text is large enough: a bank card's few lines need no second reading.
    if (
        engine_name == ocr_engine.RAPIDOCR
        and len(good) >= 2
        and _text_height(good) * seen >= _SMALL_TEXT
    ):
        return prepared, words
    if len(good) < _MIN_GOOD_WORDS:
        # Too little was read to say where the text is: where the ink is, then.
        box = preprocess.ink_box(image)
        if box is None:
            return prepared, words
        height = max(4.0, (box[3] - box[1]) / 20)  # a card holds about ten lines
        good = [Word("", 100.0, box[0], box[1], box[2] - box[0], box[3] - box[1])]
    else:
        height = _text_height(good)
    if height * seen >= _SMALL_TEXT and len(good) > 1:
        return prepared, words
    margin = round(2 * height)
    area = (
        max(0, min(w.left for w in good) - margin),
        max(0, min(w.top for w in good) - margin),
        min(image.width, max(w.right for w in good) + margin),
        min(image.height, max(w.bottom for w in good) + margin),
    )
    width, tall = area[2] - area[0], area[3] - area[1]
    factor = min(_ZOOM_TEXT / height, _ZOOM_MAX_SIDE / max(width, tall))
    if factor <= 1.15:
        return prepared, words
    size = (max(1, round(width * factor)), max(1, round(tall * factor)))
    crop = image.crop(area).resize(size, Image.Resampling.LANCZOS)
    closer = ocr_engine.recognise(crop, engine=engine_name)
    if _quality(closer, engine_name)[0] < _quality(words, engine_name)[0]:
        return prepared, words
    prepared.image = crop
    prepared.steps.append(preprocess.Resize(size[0] / width, area[0], area[1]))
    prepared.scale = round(prepared.scale * factor, 3)
    return prepared, closer


def _text_height(words: list[Word]) -> float:
    return statistics.median(min(w.height, w.width) for w in words)


def _rapid_side() -> int:
    """The longest side RapidOCR's detector works on (:data:`ocr.rapid.DETECTION_SIDE`)."""
    from ocr import rapid

    return rapid.DETECTION_SIDE


def read_image(
    image: Image.Image,
    *,
    file: str,
    page: int,
    today: date | None = None,
    detect_orientation: bool = True,
    engine: str | None = None,
) -> PageResult:
    """Read one page image: preprocess, recognise, classify, extract.

    ``engine`` overrides ``OCR_ENGINE`` (the benchmark compares engines in one process).
    """
    name = engine or ocr_engine.engine_name()
    prepared, words, text, kind, found = _read(image, name, detect_orientation, today)
    readings = [(prepared, words)]
    if found.fields["certificate_number"] is None and _worth_retry(text, kind.doc_type, image):
        # A number failed its check (or a certificate shows none): read once more from the
        # unfiltered colours — red print, or a seal the filter turned into a smudge.
        retry = _read(image, name, detect_orientation, today, preprocess.Filters(False))
        _merge(found, retry[4])
        readings.append(retry[:2])
    # A name missed on a grainy page: once more with the grain softened, for the name alone
    # (preprocess.soften says why not for every field).
    if (
        found.fields["name"] is None
        and name == ocr_engine.RAPIDOCR
        and kind.doc_type in _NAME_LABELLED
        and preprocess.grainy(preprocess.grayscale(image))
    ):
        retry = _read(image, name, detect_orientation, today, preprocess.Filters(soften=True))
        if _take_name(found, retry[4]):
            readings.append(retry[:2])
    warnings = list(prepared.notes)
    if _is_poor(words, name):
        warnings.append("识别质量较差（页面模糊、倾斜过大或不是文字页面），结果请人工核对")
    if kind.doc_type == classifier.UNKNOWN:
        warnings.append("无法确定文件类型，请人工归类")
    warnings.extend(found.warnings)
    return PageResult(
        file=file,
        page=page,
        doc_type=kind.doc_type,
        confidence=kind.confidence,
        fields=found.fields,
        warnings=warnings,
        text=text,
        boxes=_page_boxes(found.fields, readings),
        size=image.size,
    )


def _page_boxes(
    fields: dict[str, Any], readings: list[tuple[preprocess.Prepared, list[Word]]]
) -> dict[str, tuple[float, float, float, float]]:
    """Each field's box (``ocr.boxes``) as fractions of the page as given: from the first
    reading that holds the value (a number taken from the retry is boxed by the retry)."""
    found: dict[str, tuple[float, float, float, float]] = {}
    for prepared, words in readings:
        for key, box in field_boxes(fields, words).items():
            on_page = prepared.page_box(box)
            if on_page is not None:
                found.setdefault(key, on_page)
    return found


def _read(
    image: Image.Image,
    name: str,
    detect_orientation: bool,
    today: date | None,
    filters: preprocess.Filters = preprocess.DEFAULT_FILTERS,
) -> tuple[preprocess.Prepared, list[Word], str, classifier.Classification, extract.Extraction]:
    prepared, words = _recognise(
        image, detect_orientation=detect_orientation, engine_name=name, filters=filters
    )
    text = layout_text(words)
    kind = classifier.classify(text)
    found = extract.extract_fields(text, words, doc_type=kind.doc_type, today=today)
    if name == ocr_engine.RAPIDOCR:
        _settle_line_name(found, prepared.image, words)
    else:
        boxes = extract.name_boxes(words)
        if boxes:
            reading, confidences = _reread_name(prepared.image, boxes, name)
            extract.settle_name(found, reading, confidences)
    return prepared, words, text, kind, found


def _settle_line_name(found: extract.Extraction, image: Image.Image, words: list[Word]) -> None:
    """Keep a RapidOCR name only when the line it was read from is confident
    (:func:`ocr.extract.line_name`), or when a second reading of that line agrees."""
    value = found.fields["name"]
    if value is None:
        return
    settled = extract.line_name(value, words)
    if settled is not None:
        name, line = settled
        if line.conf >= RAPID_NAME_MIN_CONFIDENCE or _line_agrees(image, line, name):
            found.fields["name"] = name
            return
    found.fields["name"] = None
    found.warn(f"姓名识别不可靠（疑为「{value}」），请人工核对")


def _line_agrees(image: Image.Image, line: Word, name: str) -> bool:
    """Whether ``line``, cut from ``image`` with each margin of :data:`NAME_LINE_MARGINS` and
    read alone, holds ``name`` every time with at least
    :data:`RAPID_NAME_AGREEING_MIN_CONFIDENCE`.

    Why: on a blurred or grainy page PP-OCR reads many names right at 75–89 %, and some wrong
    ones at the same confidence; readings of differently cut images rarely agree on a wrong
    name (933 named tuning pages: 13 names more and one wrong; docs/benchmarks.md).
    """
    return all(_reads_as(image, line, margin, name) for margin in NAME_LINE_MARGINS)


def _reads_as(image: Image.Image, line: Word, margin: float, name: str) -> bool:
    crop = _cut(image, [line], margin=margin, least=1)
    words = ocr_engine.recognise_name(crop, engine=ocr_engine.RAPIDOCR)
    return (
        bool(words)
        and extract.name_in_line("".join(w.text for w in words)) == name
        and min(w.conf for w in words) >= RAPID_NAME_AGREEING_MIN_CONFIDENCE
    )


def _worth_retry(text: str, doc_type: str, image: Image.Image) -> bool:
    """Colour pages only (the retry differs in colour handling) with a failed or missing
    certificate number."""
    if image.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
        return False
    failed = any(kind == "certificate" for kind, _, _ in extract.find_numbers(text).rejected)
    return failed or doc_type == "disability_certificate"


def _merge(found: extract.Extraction, retry: extract.Extraction) -> None:
    """Take the retry's certificate number when valid and consistent with the first reading.

    A number is taken only together with what it implies (ID, category, grade), and only if
    the first reading did not read a different ID: two readings that disagree give null.
    """
    number = retry.fields["certificate_number"]
    if number is None:
        return
    first_id = found.fields["id_number"]
    if first_id is not None and first_id != retry.fields["id_number"]:
        return
    for key in ("certificate_number", "id_number", "category", "grade"):
        found.fields[key] = retry.fields[key]
    for key in ("name", "valid_until"):
        if found.fields[key] is None:
            found.fields[key] = retry.fields[key]
    found.warnings[:] = [
        w for w in found.warnings if "残疾人证号" not in w and not w.startswith("残疾")
    ]


def _take_name(found: extract.Extraction, retry: extract.Extraction) -> bool:
    """The name of a second reading, with the first reading's doubts about it dropped; only
    when that reading has one and it holds the same ID (if both read one)."""
    name = retry.fields["name"]
    first_id, retry_id = found.fields["id_number"], retry.fields["id_number"]
    if name is None or (first_id and retry_id and first_id != retry_id):
        return False
    found.fields["name"] = name
    found.warnings[:] = [w for w in found.warnings if "姓名" not in w]
    return True


def _reread_name(image: Image.Image, boxes: list[Word], name: str) -> tuple[str, list[float]]:
    """Read the name's box again as one line; enlarged once more if that reads nothing."""
    crop = _crop(image, boxes)
    for scale in (1.0, 1.5):
        if scale != 1.0:
            size = (round(crop.width * scale), round(crop.height * scale))
            crop = crop.resize(size, Image.Resampling.LANCZOS)
        # Table rules and the card's frame come back as "|" or punctuation: not the name.
        words = [w for w in ocr_engine.recognise_name(crop, engine=name) if _HAN.search(w.text)]
        if words:
            return "".join(w.text for w in words), [w.conf for w in words]
    return "", []


def _crop(image: Image.Image, boxes: list[Word]) -> Image.Image:
    """The area of ``boxes`` with a margin, on a white border (Tesseract needs some paper
    around a line to find it)."""
    return ImageOps.expand(_cut(image, boxes, margin=0.4, least=4), border=20, fill=255)


def _cut(image: Image.Image, boxes: list[Word], *, margin: float, least: int) -> Image.Image:
    """The area of ``boxes`` on ``image``, widened on every side by ``margin`` times its
    height (at least ``least`` pixels) and kept inside the image."""
    left = min(w.left for w in boxes)
    top = min(w.top for w in boxes)
    right = max(w.right for w in boxes)
    bottom = max(w.bottom for w in boxes)
    pad = max(least, round(margin * (bottom - top)))
    area = (
        max(0, left - pad),
        max(0, top - pad),
        min(image.width, right + pad),
        min(image.height, bottom + pad),
    )
    return image.crop(area)


def iter_file(
    source: pages.Source,
    *,
    name: str | None = None,
    today: date | None = None,
    detect_orientation: bool = True,
) -> Iterator[PageResult]:
    """Read a file page by page (lazily: one page image in memory at a time).

    Raises :class:`ocr.pages.PageError` when the file is not a readable scan and
    :class:`ocr.engine.EngineError` when Tesseract cannot run.
    """
    label = name if name is not None else _label(source)
    for number, image in enumerate(pages.iter_pages(source), start=1):
        yield read_image(
            image, file=label, page=number, today=today, detect_orientation=detect_orientation
        )


def read_file(
    source: pages.Source,
    *,
    name: str | None = None,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[PageResult]:
    """Read every page of a file; ``progress`` is called with each page number done."""
    results: list[PageResult] = []
    for result in iter_file(source, name=name, today=today):
        results.append(result)
        if progress is not None:
            progress(result.page)
    return results


def _label(source: pages.Source) -> str:
    if isinstance(source, str | os.PathLike):
        return str(Path(source))
    return getattr(source, "name", "") or "<upload>"


def compare_with_record(
    fields: dict[str, Any],
    person_id_number: str | None,
    recorded_category: int | None,
    recorded_grade: int | None,
    recorded_expiry: Expiry | str | None,
) -> list[str]:
    """What a page read by OCR says that disagrees with the person's record, in Chinese.

    Only what was read is compared: a field OCR could not read (``None``) is never reported
    as a disagreement — absence of evidence is not a finding.  The certificate number wins
    over the record for what the certificate says (``docs/numbers.md``), so every flag names
    both values for the clerk to decide.
    """
    flags: list[str] = []
    number = fields.get("certificate_number")
    cert = None
    if number:
        try:
            cert = parse_certificate(number)
        except ValueError:
            flags.append(f"识别出的残疾人证号「{number}」无效，未与档案比对")
    person = normalize_id(person_id_number) if person_id_number else ""
    if cert is not None and person and cert.id_number.value != person:
        flags.append("证号中的身份号码与档案不一致")
    id_read = fields.get("id_number")
    if (
        id_read
        and person
        and normalize_id(id_read) != person
        and (cert is None or cert.id_number.value != normalize_id(id_read))
    ):
        flags.append("页面上的公民身份号码与档案不一致")
    category = fields.get("category")
    if category is not None and recorded_category is not None and category != recorded_category:
        flags.append(
            f"残疾类别与档案不一致（证件为{_name(CATEGORIES, category)}，"
            f"档案为{_name(CATEGORIES, recorded_category)}）"
        )
    grade = fields.get("grade")
    if grade is not None and recorded_grade is not None and grade != recorded_grade:
        flags.append(
            f"残疾等级与档案不一致（证件为{_name(GRADES, grade)}，档案为{_name(GRADES, recorded_grade)}）"
        )
    expiry = fields.get("valid_until")
    recorded = _expiry_text(recorded_expiry)
    if expiry and recorded and expiry != recorded:
        flags.append(f"有效期与档案不一致（证件为{expiry}，档案为{recorded}）")
    return flags


def _expiry_text(expiry: Expiry | str | None) -> str:
    if expiry is None or expiry == "":
        return ""
    if expiry is LONG_TERM or expiry in ("长期", "长期有效"):
        return LONG_TERM.value
    if isinstance(expiry, date):
        return expiry.isoformat()
    return str(expiry)


def _name(names: dict[int, str], value: int) -> str:
    return names.get(value, str(value))
