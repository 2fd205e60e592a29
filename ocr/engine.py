"""The OCR engines behind one interface: recognise a page, read one line, detect orientation.

Two engines (``OCR_ENGINE``): ``rapidocr`` (:mod:`ocr.rapid`, PP-OCR models in ONNX Runtime)
and ``tesseract`` (below).  Both return :class:`ocr.words.Word` lists with confidences
0–100, so layout, classification and extraction do not know which engine read the page.
The default is the one that wins on the held-out generated set (``docs/benchmarks.md``).
Orientation detection is always Tesseract's OSD (RapidOCR has no page-level orientation).

One place decides how Tesseract is run, so that the settings (``TESSERACT_CMD``,
``OCR_LANGUAGES``, ``OCR_TIMEOUT``) apply everywhere and a missing or hung binary becomes a
clear :class:`EngineError` instead of a stack trace from a subprocess.

Tesseract is run with ``OMP_THREAD_LIMIT=1`` unless the operator set it: with OpenMP threads a
page is *slower* on a busy two-core machine (threads spin while waiting for each other), and
throughput comes from running several worker processes, one page each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytesseract
from PIL import Image

from ocr.options import setting
from ocr.words import Word

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_LANGUAGES",
    "DEFAULT_PSM",
    "ENGINES",
    "LINE_PSM",
    "NAME_LANGUAGES",
    "RAPIDOCR",
    "TESSERACT",
    "EngineError",
    "Orientation",
    "detect_orientation",
    "engine_name",
    "recognise",
    "recognise_name",
    "tesseract_recognise",
]

#: The engines' names, as ``OCR_ENGINE`` and ``--engine`` take them.
RAPIDOCR = "rapidocr"
TESSERACT = "tesseract"
ENGINES = (RAPIDOCR, TESSERACT)
#: Chosen on the held-out generated set (``bench/ocr_bench.py``, ``docs/benchmarks.md``).
DEFAULT_ENGINE = RAPIDOCR

DEFAULT_LANGUAGES = "chi_sim+eng"
#: Page segmentation mode 4, "a single column of text of variable sizes": keeps each row of a
#: form (label, value, next label) on one line, where the default mode 3 splits rows into
#: columns and loses short values such as names.
DEFAULT_PSM = 4
#: Languages for the second reading of a name: Chinese only, because with ``eng`` loaded
#: Tesseract turns short names into Latin letters (setting ``OCR_NAME_LANGUAGES``).
NAME_LANGUAGES = "chi_sim"
#: Mode 7, "a single text line": for re-reading one field's box.
LINE_PSM = 7
DEFAULT_TIMEOUT = 120  # seconds per Tesseract call: a page never takes this long unless hung


class EngineError(RuntimeError):
    """Tesseract could not be run (missing, misconfigured, timed out); ``message`` is Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))


def _prepare_environment() -> None:
    pytesseract.pytesseract.tesseract_cmd = setting("TESSERACT_CMD", "tesseract")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _timeout() -> int:
    return int(setting("OCR_TIMEOUT", DEFAULT_TIMEOUT))


def _run(call: Any, *args: Any, **kwargs: Any) -> Any:
    _prepare_environment()
    try:
        return call(*args, timeout=_timeout(), **kwargs)
    except pytesseract.TesseractNotFoundError:
        raise EngineError(
            f"找不到文字识别程序 Tesseract（TESSERACT_CMD={pytesseract.pytesseract.tesseract_cmd}），"
            "请安装 tesseract-ocr 及中文语言包 tesseract-ocr-chi-sim"
        ) from None
    except RuntimeError as error:  # pytesseract raises RuntimeError on timeout
        if "timeout" in str(error).lower():
            raise EngineError(f"文字识别超时（超过{_timeout()}秒），页面可能过大或已损坏") from None
        raise


def engine_name() -> str:
    """The engine set by ``OCR_ENGINE`` (an unknown name is an :class:`EngineError`)."""
    name = str(setting("OCR_ENGINE", DEFAULT_ENGINE)).strip().lower()
    if name not in ENGINES:
        raise EngineError(f"未知的文字识别引擎 OCR_ENGINE={name}（可选：{'、'.join(ENGINES)}）")
    return name


def recognise(image: Image.Image, *, engine: str | None = None) -> list[Word]:
    """Recognise a whole page with ``engine`` (default: the configured one)."""
    if (engine or engine_name()) == RAPIDOCR:
        from ocr import rapid

        return _guarded(rapid.recognise, image)
    return tesseract_recognise(image)


def _guarded(call: Any, image: Image.Image) -> list[Word]:
    try:
        return call(image)
    except ImportError:
        raise EngineError(
            "文字识别引擎 RapidOCR 未安装（pip install rapidocr），或设置 OCR_ENGINE=tesseract"
        ) from None


def tesseract_recognise(
    image: Image.Image, *, psm: int = DEFAULT_PSM, languages: str | None = None
) -> list[Word]:
    """Recognise ``image`` with Tesseract and return its words with boxes and confidences.

    One Tesseract run gives both the text and the boxes (TSV output); running it twice for
    text and data would double the cost of a page.
    """
    lang = languages or setting("OCR_LANGUAGES", DEFAULT_LANGUAGES)
    try:
        data = _run(
            pytesseract.image_to_data,
            image,
            lang=lang,
            config=f"--psm {psm} -c tessedit_do_invert=0",
            output_type=pytesseract.Output.DICT,
        )
    except pytesseract.TesseractError as error:
        raise EngineError(f"文字识别失败：{error.message or error.status}") from None
    words: list[Word] = []
    for index, text in enumerate(data.get("text", [])):
        conf = float(data["conf"][index])
        if conf < 0 or not str(text).strip():
            continue
        words.append(
            Word(
                text=str(text),
                conf=conf,
                left=int(data["left"][index]),
                top=int(data["top"][index]),
                width=int(data["width"][index]),
                height=int(data["height"][index]),
                line=(
                    int(data["block_num"][index]),
                    int(data["par_num"][index]),
                    int(data["line_num"][index]),
                ),
            )
        )
    return words


def recognise_name(image: Image.Image, *, engine: str | None = None) -> list[Word]:
    """Read a cropped name box as one line of Chinese (see :func:`ocr.extract.name_boxes`)."""
    if (engine or engine_name()) == RAPIDOCR:
        from ocr import rapid

        return _guarded(rapid.recognise_line, image)
    languages = setting("OCR_NAME_LANGUAGES", NAME_LANGUAGES)
    return tesseract_recognise(image, psm=LINE_PSM, languages=languages)


@dataclass(frozen=True)
class Orientation:
    """Tesseract's orientation guess: rotate the page by ``rotate`` degrees clockwise.

    ``confidence`` is Tesseract's orientation confidence (not a probability; around 2 or more
    for a page of Chinese text read correctly, below 1 for a guess).
    """

    rotate: int
    confidence: float


def detect_orientation(image: Image.Image) -> Orientation | None:
    """Orientation of ``image`` by Tesseract OSD, or ``None`` when it cannot tell.

    OSD fails with an error on pages with too few characters (a photo, an empty page); that is
    not a failure of the page, only of the guess, so it is ``None`` here.
    """
    try:
        data = _run(pytesseract.image_to_osd, image, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:
        return None
    if "rotate" not in data or "orientation_conf" not in data:
        return None
    return Orientation(rotate=int(data["rotate"]) % 360, confidence=float(data["orientation_conf"]))
