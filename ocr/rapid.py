"""RapidOCR (PP-OCRv4 detection + recognition, ONNX Runtime) behind the engine interface.

Why a second engine: on scans laid out and printed unlike our own (other fonts, booklets,
cards on A4, seals) Tesseract's page segmentation loses short values and whole lines, while
PP-OCR's learned text detector finds every line wherever it is (``docs/benchmarks.md``).  The
models ship inside the ``rapidocr-onnxruntime`` wheel: nothing is downloaded at run time.

One model session per worker process, created on first use (a lazy singleton): loading the
three ONNX models costs about a second and ~150 MB, which a Celery prefork child pays once,
after the fork.  ONNX Runtime is limited to ``OCR_THREADS`` threads (1 by default) for the
same reason as Tesseract's ``OMP_THREAD_LIMIT=1``: throughput comes from worker processes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from PIL import Image

from ocr.options import setting
from ocr.words import Word

__all__ = ["recognise", "recognise_line"]

#: Longest side of the page as RapidOCR works on it: a larger page is reduced to this before
#: detection, and its lines are cut from the reduced page for recognition (``_zoom`` in
#: ``ocr/pipeline.py`` takes a closer look when that leaves the text too small).
DETECTION_SIDE = 1600


@cache
def _session() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # heavy import: only when this engine is used

    # Only the global thread options count: RapidOCR 1.4 copies them over the per-model
    # ones (``det_intra_op_num_threads`` …) after reading those, so per-model values are
    # silently replaced by "all cores" — which doubled the CPU of every page on two cores
    # for no gain in wall time (``docs/benchmarks.md``, OCR threads).
    return RapidOCR(
        intra_op_num_threads=int(setting("OCR_THREADS", 1)),
        inter_op_num_threads=1,
        max_side_len=DETECTION_SIDE,
        det_limit_side_len=736,
        det_limit_type="min",
    )


def _array(image: Image.Image) -> Any:
    import numpy as np

    return np.asarray(image.convert("RGB"))


def recognise(image: Image.Image) -> list[Word]:
    """Every text line on ``image`` as one :class:`Word` (box, text, confidence 0–100)."""
    result, _ = _session()(_array(image))
    words: list[Word] = []
    for index, (box, text, score) in enumerate(result or ()):
        xs = [point[0] for point in box]
        ys = [point[1] for point in box]
        left, top = round(min(xs)), round(min(ys))
        words.append(
            Word(
                text=str(text),
                conf=round(float(score) * 100, 1),
                left=left,
                top=top,
                width=max(1, round(max(xs)) - left),
                height=max(1, round(max(ys)) - top),
                line=(index + 1, 0, 0),
            )
        )
    return words


def recognise_line(image: Image.Image) -> list[Word]:
    """Read ``image`` as one text line (recognition only, no detection)."""
    result, _ = _session()(_array(image), use_det=False, use_cls=False)
    words: list[Word] = []
    for text, score in result or ():
        if str(text).strip():
            words.append(
                Word(str(text), round(float(score) * 100, 1), 0, 0, image.width, image.height)
            )
    return words
