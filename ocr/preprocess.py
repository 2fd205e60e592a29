"""Make a page image easy for Tesseract: gray, full contrast, upright, straight, right size.

Scans arrive from flatbed scanners (slightly skewed, sometimes upside down), phone cameras
(low contrast, any size) and photocopies of photocopies (speckled).  Tesseract's accuracy on
digits — which is what matters here, a certificate number is only accepted when every digit
is right — drops sharply with skew, low contrast and text that is far from its preferred
size (cap height of roughly 20–40 pixels).  Each step below is a plain function on a Pillow
image so that it can be tested and timed alone; :func:`prepare` runs them in order.

Everything is done with Pillow (no NumPy / OpenCV in this project): the skew and text-size
estimates work on a downscaled copy and cost a few milliseconds.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass, field

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from ocr import engine

__all__ = [
    "DEFAULT_FILTERS",
    "OSD_MIN_CONFIDENCE",
    "Filters",
    "Prepared",
    "Resize",
    "Straighten",
    "Turn",
    "denoise",
    "estimate_layout",
    "grainy",
    "grayscale",
    "ink_box",
    "noise_level",
    "orient",
    "prepare",
    "soften",
    "turn",
]

#: Rotate a page by 90/180/270° only when Tesseract OSD is at least this confident: turning
#: an upright page on a wrong guess would make every field unreadable.
OSD_MIN_CONFIDENCE = 1.5
#: Text line height (pixels) that Tesseract reads best; pages are scaled towards it.
TARGET_LINE_HEIGHT = 30
# Rescale only when the text is this far from the target: resampling costs time and sharpness.
_SCALE_TOLERANCE = (0.75, 1.4)
_SCALE_LIMITS = (0.3, 3.0)
# Deskew: search ±_MAX_SKEW degrees; straighten only from _MIN_SKEW degrees on.
_MAX_SKEW = 5.0
_MIN_SKEW = 0.3
_ANALYSIS_WIDTH = 900
#: Mean gray-level difference between a page and its 3×3 median from which the page is
#: denoised.  A clean scan or a JPEG is below 1; moderately grainy pages (about 6) read
#: *better* untouched, measured on generated certificates; very grainy ones (14) lose most
#: names and dates without the filter and keep them with it.
NOISE_THRESHOLD = 10.0
# OSD needs only a moderate resolution; a smaller image makes it several times faster.
_OSD_MAX_SIDE = 1600
_INK_BOX_SIDE = 600


@dataclass(frozen=True)
class Filters:
    """How a reading treats colour and grain: red ink (seals) suppressed by default
    (:func:`grayscale`); a grainy page softened for RapidOCR's second look (:func:`soften`)."""

    suppress_red: bool = True
    soften: bool = False


#: The filters of a first reading.
DEFAULT_FILTERS = Filters()


@dataclass
class Prepared:
    """A page ready for OCR, and what was done to it (kept for the record and for tests)."""

    image: Image.Image
    rotated: int = 0  # degrees clockwise applied after OSD
    skew: float = 0.0  # degrees counter-clockwise applied to straighten the text
    scale: float = 1.0
    denoised: bool = False
    notes: list[str] = field(default_factory=list)
    #: The page's size as given, and every geometric change made to it since, in order
    #: (:class:`Turn`, :class:`Straighten`, :class:`Resize`): what maps a box of ``image``
    #: back onto the page as given (:meth:`page_box`).
    page_size: tuple[int, int] = (0, 0)
    steps: list[Turn | Straighten | Resize] = field(default_factory=list)

    def page_point(self, x: float, y: float) -> tuple[float, float]:
        """A point of ``image`` on the page as given (each step undone, last first)."""
        for step in reversed(self.steps):
            x, y = step.undo(x, y)
        return x, y

    def page_box(self, box: tuple[int, int, int, int]) -> tuple[float, float, float, float] | None:
        """A box of ``image`` as fractions (left, top, right, bottom) of the page as given:
        the same on any copy of the page at another size (the stored page image); None when
        the page's size is unknown."""
        if not all(self.page_size):
            return None
        left, top, right, bottom = box
        corners = [self.page_point(x, y) for x in (left, right) for y in (top, bottom)]
        width, height = self.page_size
        return (
            max(0.0, round(min(x for x, _ in corners) / width, 4)),
            max(0.0, round(min(y for _, y in corners) / height, 4)),
            min(1.0, round(max(x for x, _ in corners) / width, 4)),
            min(1.0, round(max(y for _, y in corners) / height, 4)),
        )


@dataclass(frozen=True)
class Turn:
    """The image turned clockwise by ``degrees`` (90, 180, 270: OSD); ``size`` before it."""

    degrees: int
    size: tuple[int, int]

    def undo(self, x: float, y: float) -> tuple[float, float]:
        width, height = self.size
        if self.degrees == 90:
            return y, height - x
        if self.degrees == 180:
            return width - x, height - y
        if self.degrees == 270:
            return width - y, x
        return x, y


@dataclass(frozen=True)
class Straighten:
    """The image rotated by ``degrees`` counter-clockwise about its centre and expanded
    (deskew); ``size`` before and ``expanded`` after."""

    degrees: float
    size: tuple[int, int]
    expanded: tuple[int, int]

    def undo(self, x: float, y: float) -> tuple[float, float]:
        turn = math.radians(self.degrees)
        dx, dy = x - self.expanded[0] / 2, y - self.expanded[1] / 2
        return (
            dx * math.cos(turn) - dy * math.sin(turn) + self.size[0] / 2,
            dx * math.sin(turn) + dy * math.cos(turn) + self.size[1] / 2,
        )


@dataclass(frozen=True)
class Resize:
    """The area from (``left``, ``top``) enlarged by ``factor`` (a rescale: the whole image
    from (0, 0); a zoom: a crop)."""

    factor: float
    left: float = 0.0
    top: float = 0.0

    def undo(self, x: float, y: float) -> tuple[float, float]:
        return x / self.factor + self.left, y / self.factor + self.top


def grayscale(image: Image.Image, *, suppress_red: bool = True) -> Image.Image:
    """Gray levels with the darkest and lightest 1 % stretched to full range.

    Colour carries nothing OCR uses, and phone photos of paper are gray-on-gray; the
    stretch restores the contrast the binariser inside Tesseract expects.

    ``suppress_red``: red ink (seals stamped over the name, the number, the title) is made
    paper-white by taking, per pixel, the lighter of the luminance and the red channel —
    red ink is bright in the red channel, black print is dark in every channel.  This was
    the largest single loss on generated certificates with seals.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        background.alpha_composite(image.convert("RGBA"))
        image = background
    if suppress_red and image.mode in ("RGBA", "P", "CMYK", "YCbCr"):
        image = image.convert("RGB")
    gray = image.convert("L")
    if suppress_red and image.mode == "RGB":
        gray = ImageChops.lighter(gray, image.getchannel("R"))
    return ImageOps.autocontrast(gray, cutoff=1)


def _otsu(histogram: list[int]) -> int:
    """Otsu's threshold of a 256-bin histogram: separates ink from paper without a guess."""
    total = sum(histogram)
    weighted = sum(i * count for i, count in enumerate(histogram))
    background = 0
    background_sum = 0.0
    best, threshold = -1.0, 128
    for level, count in enumerate(histogram):
        background += count
        if background == 0:
            continue
        foreground = total - background
        if foreground == 0:
            break
        background_sum += level * count
        mean_b = background_sum / background
        mean_f = (weighted - background_sum) / foreground
        between = background * foreground * (mean_b - mean_f) ** 2
        if between > best:
            best, threshold = between, level
    return threshold


def _ink(gray: Image.Image) -> tuple[Image.Image, float]:
    """A small white-ink-on-black copy of ``gray`` for analysis, and its scale factor."""
    factor = min(1.0, _ANALYSIS_WIDTH / max(gray.width, 1))
    small = gray
    if factor < 1.0:
        size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
        small = gray.resize(size, Image.Resampling.BOX)
    small = small.filter(ImageFilter.MedianFilter(3))
    threshold = _otsu(small.histogram())
    return small.point(lambda v: 255 if v <= threshold else 0), factor


def _profile(ink: Image.Image, angle: float) -> list[int]:
    rotated = ink.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0) if angle else ink
    return list(rotated.resize((1, rotated.height), Image.Resampling.BOX).get_flattened_data())


def _sharpness(profile: list[int]) -> int:
    """How crisply rows alternate between text and gaps: largest when lines are level."""
    return sum((b - a) ** 2 for a, b in itertools.pairwise(profile))


def _line_height(profile: list[int]) -> float | None:
    """Median height of the runs of inked rows (text lines), or None if there are too few."""
    inked = sorted(value for value in profile if value)
    if not inked:
        return None
    # Relative to the well-inked rows, not the peak: a table rule or a border is a row of
    # solid ink that would make every text row look empty, and the vertical rules of a
    # table put a little ink on every row, gaps included.
    floor = max(3.0, 0.15 * inked[int(len(inked) * 0.9)])
    runs: list[int] = []
    length = 0
    for value in [*profile, 0]:
        if value > floor:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    runs = [run for run in runs if run >= 3]  # table rules and specks are not text lines
    if len(runs) < 2:
        return None
    return float(statistics.median(runs))


def estimate_layout(gray: Image.Image, *, deskew: bool = True) -> tuple[float, float | None]:
    """Skew angle (degrees, counter-clockwise to apply) and text line height in pixels.

    Projection profile: the page is rotated through candidate angles and the one where the
    row sums alternate most sharply between text and gap is the one with level lines.  The
    same profile gives the line height, from which :func:`prepare` picks the scale.
    """
    ink, factor = _ink(gray)
    if ink.getbbox() is None:
        return 0.0, None
    angle = 0.0
    if deskew:

        def score(candidate: float) -> int:
            return _sharpness(_profile(ink, candidate))

        steps = int(_MAX_SKEW / 0.5)
        coarse = max((i * 0.5 for i in range(-steps, steps + 1)), key=score)
        angle = max((coarse + i * 0.1 for i in range(-4, 5)), key=score)
        if abs(angle) < _MIN_SKEW or score(angle) <= score(0.0) * 1.02:
            angle = 0.0
    height = _line_height(_profile(ink, angle))
    return round(angle, 1), (height / factor if height is not None else None)


def ink_box(gray: Image.Image) -> tuple[int, int, int, int] | None:
    """Where the print is on a page (left, top, right, bottom), found without OCR.

    A grey photocopy of a card on A4 is mostly empty paper.  On a small, median-filtered
    copy (grain averages out), ink is what is much darker than the paper (the median gray
    level); rows and columns that are mostly dark are a background around the page, not
    print, and are left out.
    """
    factor = min(1.0, _INK_BOX_SIDE / max(gray.size))
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    small = gray.resize(size, Image.Resampling.BOX).filter(ImageFilter.MedianFilter(3))
    histogram = small.histogram()
    half, seen, paper = sum(histogram) / 2, 0, 255
    for level, count in enumerate(histogram):
        seen += count
        if seen >= half:
            paper = level
            break
    cut = paper - max(60, 0.35 * paper)
    mask = small.point(lambda v: 255 if v < cut else 0)
    columns = list(mask.resize((mask.width, 1), Image.Resampling.BOX).get_flattened_data())
    rows = list(mask.resize((1, mask.height), Image.Resampling.BOX).get_flattened_data())
    xs = [i for i, v in enumerate(columns) if 1 <= v < 128]
    ys = [i for i, v in enumerate(rows) if 1 <= v < 128]
    if not xs or not ys:
        return None
    box = (min(xs), min(ys), max(xs) + 1, max(ys) + 1)
    return tuple(round(v / factor) for v in box)  # type: ignore[return-value]


def noise_level(gray: Image.Image) -> float:
    """How grainy a page is: mean difference from its 3×3 median (0 for clean print)."""
    smooth = gray.filter(ImageFilter.MedianFilter(3))
    return float(ImageStat.Stat(ImageChops.difference(gray, smooth)).mean[0])


def denoise(gray: Image.Image) -> tuple[Image.Image, bool]:
    """Remove grain and specks from a noisy page; leave a clean one untouched.

    Tesseract binarises the page itself, and on a grainy photo that turns the grain into
    thousands of specks it tries to read as characters.  A 5×5 median removes grain and dust
    while keeping strokes of text at the working size (line height ~30 px); on a clean page
    it would only thin the strokes, so it is applied only above :data:`NOISE_THRESHOLD`.
    """
    if not grainy(gray):
        return gray, False
    return ImageOps.autocontrast(gray.filter(ImageFilter.MedianFilter(5)), cutoff=1), True


#: Radius of the Gaussian blur that :func:`soften` gives a grainy page before RapidOCR.
SOFTEN_RADIUS = 0.8


def grainy(gray: Image.Image) -> bool:
    """Whether a page is grainy enough for :func:`denoise` or :func:`soften` to help."""
    return noise_level(gray) >= NOISE_THRESHOLD


def soften(gray: Image.Image) -> Image.Image:
    """A grainy page blurred a little, for a second RapidOCR reading of its name.

    PP-OCR reads through grain far better than Tesseract, and a median (:func:`denoise`)
    erases as much of its small strokes as of the grain: on 150 grainy tuning pages a 3×3
    median lost names 59.8 → 52.7 %. A light Gaussian (radius 0.8) only smooths the grain,
    and the detector and recogniser then find and read names they had missed: 60.9 → 71.3 %
    on the same pages. It is not the first reading, because on pages of every level it lost
    as many dates and numbers as it gained (docs/benchmarks.md, "OCR on grainy pages").
    """
    return gray.filter(ImageFilter.GaussianBlur(SOFTEN_RADIUS))


def orient(image: Image.Image) -> tuple[Image.Image, int, str | None]:
    """Turn ``image`` upright when Tesseract OSD is confident it is rotated by 90/180/270°.

    Returns the (possibly rotated) image, the clockwise rotation applied, and a note in
    Chinese when OSD suspected a rotation but was not confident enough to apply it.
    """
    probe = image
    if max(image.size) > _OSD_MAX_SIDE:
        probe = image.copy()
        probe.thumbnail((_OSD_MAX_SIDE, _OSD_MAX_SIDE), Image.Resampling.BOX)
    guess = engine.detect_orientation(probe)
    if guess is None or guess.rotate == 0:
        return image, 0, None
    if guess.confidence < OSD_MIN_CONFIDENCE:
        note = f"页面方向不确定（疑似需旋转{guess.rotate}°，置信度{guess.confidence:.1f}），按原方向识别"
        return image, 0, note
    return turn(image, guess.rotate), guess.rotate, None


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """``image`` turned clockwise by ``degrees`` (OSD's and :func:`ocr.pipeline.page_turn`'s
    sense; Pillow's own is counter-clockwise), on white."""
    fill = 255 if image.mode == "L" else (255, 255, 255)
    return image.rotate(-degrees, expand=True, fillcolor=fill)


def prepare(
    image: Image.Image,
    *,
    detect_orientation: bool = False,
    deskew: bool = True,
    rescale: bool = True,
    filters: Filters = DEFAULT_FILTERS,
) -> Prepared:
    """Run the preprocessing steps on one page image.

    ``detect_orientation`` asks Tesseract OSD whether the page is turned by 90/180/270° —
    an extra Tesseract run of about half a second, which is why the pipeline only asks when
    a first reading came out poor; ``deskew`` straightens small scanner skew.  Both only act
    when confident, so a clean upright page passes through unchanged apart from its scale.
    ``rescale=False`` keeps the size (RapidOCR scales line crops itself; the pipeline zooms
    into small text instead); ``filters`` say how colour and grain are treated.
    """
    gray = grayscale(image, suppress_red=filters.suppress_red)
    prepared = Prepared(image=gray, page_size=gray.size)
    if detect_orientation:
        size = gray.size
        gray, prepared.rotated, note = orient(gray)
        if note:
            prepared.notes.append(note)
        if prepared.rotated:
            prepared.steps.append(Turn(prepared.rotated, size))
    skew, line_height = estimate_layout(gray, deskew=deskew)
    if skew:
        size = gray.size
        gray = gray.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        prepared.skew = skew
        prepared.steps.append(Straighten(skew, size, gray.size))
    if line_height and rescale:
        scale = TARGET_LINE_HEIGHT / line_height
        if not _SCALE_TOLERANCE[0] <= scale <= _SCALE_TOLERANCE[1]:
            scale = min(max(scale, _SCALE_LIMITS[0]), _SCALE_LIMITS[1])
            size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
            prepared.steps.append(Resize(size[0] / gray.width))
            gray = gray.resize(size, Image.Resampling.LANCZOS)
            prepared.scale = round(scale, 3)
    if rescale:  # the median is sized for text at the working size; small text it erases
        gray, prepared.denoised = denoise(gray)
    elif filters.soften:
        gray, prepared.denoised = soften(gray), True
    prepared.image = gray
    return prepared
