"""RapidOCR (PP-OCRv6 detection + recognition, ONNX Runtime) behind the engine interface.

Why a second engine: on scans laid out and printed unlike our own (other fonts, booklets,
cards on A4, seals) Tesseract's page segmentation loses short values and whole lines, while
PP-OCR's learned text detector finds every line wherever it is (``docs/benchmarks.md``).  The
models ship inside the ``rapidocr`` wheel (3.10: PP-OCRv6 small detection and recognition,
the v2 direction classifier) and are named by path, so nothing is downloaded at run time.
PP-OCRv6 replaced PP-OCRv4 (``rapidocr-onnxruntime`` 1.4.4) on 2026-12-07: on the held-out
pages it read more names and expiry dates with no wrong number, at 1.05× the CPU
(``docs/benchmarks.md``, OCR engine models).

One model session per worker process, created on first use (a lazy singleton, whose models
RapidOCR loads at their first page): loading them costs about a second and ~150 MB, which a
Celery prefork child pays once, after the fork.  ONNX Runtime is limited to ``OCR_THREADS``
threads (1 by default) for the same reason as Tesseract's ``OMP_THREAD_LIMIT=1``:
throughput comes from worker processes.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib.resources import files
from typing import Any

from PIL import Image

from ocr.options import setting
from ocr.words import Word

__all__ = ["recognise", "recognise_line"]

#: Longest side of the page as RapidOCR works on it: a larger page is reduced to this before
#: detection, and its lines are cut from the reduced page for recognition (``_zoom`` in
#: ``ocr/pipeline.py`` takes a closer look when that leaves the text too small).
DETECTION_SIDE = 1600

#: The model files inside the ``rapidocr`` wheel, per step.
MODELS = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}


@cache
def _simplified() -> Any:
    """Traditional → simplified characters (OpenCC ``t2s``).

    Why: PP-OCRv6 recognises both scripts, and reads some simplified print as traditional —
    a 楷体 card's title came back 中華人民共和國残疾人證, which no keyword of
    ``ocr/classify.py`` matches, and 许 as 許 in names.  Mainland documents print simplified
    characters, so what the engine returns is read as such.
    """
    from opencc import OpenCC

    return OpenCC("t2s").convert


#: Per thread, which lines of the last page read the direction classifier turned by 180°.
_last = threading.local()


def _reader() -> type:
    """RapidOCR that remembers which lines its direction classifier turned.

    Why: the classifier turns each upside-down line before recognising it, so an upside-down
    page comes back as well-read lines laid out in reverse (values left of their labels, the
    foot of the page first), and RapidOCR's output keeps no trace of the turn.  The labels
    are taken where ``run_ocr_steps`` (rapidocr 3.10, ``main.py``) has them, with the same
    threshold that decided the turn, and aligned to the lines its output keeps (those with
    text).
    """
    from rapidocr import RapidOCR  # heavy import: only when this engine is used

    class Reader(RapidOCR):
        def run_ocr_steps(self, img: Any, op_record: dict[str, Any]) -> Any:
            det, cls, rec, crops = super().run_ocr_steps(img, op_record)
            threshold = self.cfg.Cls.cls_thresh
            labels = cls.cls_res or ()
            turned = [bool("180" in label and score > threshold) for label, score in labels]
            texts = rec.txts or ()
            _last.turned = [t for t, text in zip(turned, texts, strict=False) if text.strip()]
            return det, cls, rec, crops

    return Reader


@cache
def _session() -> Any:
    models = files("rapidocr") / "models"
    return _reader()(
        params={
            "Global.log_level": "warning",
            "Global.max_side_len": DETECTION_SIDE,
            "EngineConfig.onnxruntime.intra_op_num_threads": int(setting("OCR_THREADS", 1)),
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "Det.limit_side_len": 736,
            "Det.limit_type": "min",
            **{f"{step}.model_path": str(models / name) for step, name in MODELS.items()},
        }
    )


def _array(image: Image.Image) -> Any:
    import numpy as np

    return np.asarray(image.convert("RGB"))


def recognise(image: Image.Image) -> list[Word]:
    """Every text line on ``image`` as one :class:`Word` (box, text, confidence 0–100)."""
    _last.turned = []
    # RapidOCR keeps the steps of its last call (``update_params``): say them every time, or a
    # page read after :func:`recognise_line` would skip detection.
    result = _session()(_array(image), use_det=True, use_cls=True, use_rec=True)
    if result.boxes is None:
        return []
    turned = _last.turned
    words: list[Word] = []
    for index, (box, text, score) in enumerate(
        zip(result.boxes, result.txts, result.scores, strict=True)
    ):
        xs = [point[0] for point in box]
        ys = [point[1] for point in box]
        left, top = round(min(xs)), round(min(ys))
        words.append(
            Word(
                text=_simplified()(str(text)),
                conf=round(float(score) * 100, 1),
                left=left,
                top=top,
                width=max(1, round(max(xs)) - left),
                height=max(1, round(max(ys)) - top),
                line=(index + 1, 0, 0),
                turned=index < len(turned) and turned[index],
            )
        )
    return words


def recognise_line(image: Image.Image) -> list[Word]:
    """Read ``image`` as one text line (recognition only, no detection)."""
    result = _session()(_array(image), use_det=False, use_cls=False, use_rec=True)
    words: list[Word] = []
    for text, score in zip(result.txts or (), result.scores or (), strict=True):
        if str(text).strip():
            simplified = _simplified()(str(text))
            words.append(
                Word(simplified, round(float(score) * 100, 1), 0, 0, image.width, image.height)
            )
    return words
