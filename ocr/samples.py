"""Synthetic scans of case-file documents, for tests, the OCR benchmark and the demo.

Real scans carry personal data and cannot be committed, so the OCR pipeline is exercised on
pages rendered here with Pillow and the CJK font: a disability certificate, an ID card and an
application form, optionally degraded (noise, slight rotation, blur, JPEG compression) the
way a clerk's scanner or phone degrades them.  Everything is deterministic for a given seed,
so a test that reads a generated page reads the same pixels on every machine.

The numbers are valid by construction (:func:`core.numbers.id_check_char`), so a page's
expected fields are known exactly and an OCR result can be compared with them.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from core.numbers import CATEGORIES, GRADES, id_check_char
from ocr.fonts import cjk_font_path

__all__ = [
    "SCANNER",
    "Degradation",
    "SamplePerson",
    "application_form_page",
    "certificate_page",
    "degrade",
    "document_scans",
    "id_card_page",
    "make_person",
    "save_pdf",
    "save_tiff",
]

# Counties of 长治市 (GB/T 2260), so demo people look like the office's own.
_COUNTIES = ("140403", "140404", "140405", "140406", "140423", "140425", "140426", "140427")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许傅沈彭吕"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌凤云"
_WHITE = 255
_INK = 20


@dataclass(frozen=True)
class SamplePerson:
    """The facts printed on a generated page: what a perfect OCR would read back."""

    name: str
    sex: str
    id_number: str
    category: int
    grade: int
    valid_until: date | None  # None: 长期
    address: str

    @property
    def certificate_number(self) -> str:
        """The 20-character certificate number: ID + category digit + grade digit."""
        return f"{self.id_number}{self.category}{self.grade}"

    @property
    def valid_until_text(self) -> str:
        """有效期至 as printed: ``2030年05月01日`` or ``长期``."""
        if self.valid_until is None:
            return "长期"
        return (
            f"{self.valid_until.year}年{self.valid_until.month:02d}月{self.valid_until.day:02d}日"
        )

    @property
    def expected_fields(self) -> dict[str, object]:
        """The fields a correct OCR of a certificate page returns, in ``docs/commands.md`` form."""
        return {
            "certificate_number": self.certificate_number,
            "id_number": self.id_number,
            "name": self.name,
            "category": self.category,
            "grade": self.grade,
            "valid_until": self.valid_until.isoformat() if self.valid_until else "长期",
        }


def make_person(seed: int) -> SamplePerson:
    """A plausible beneficiary with a valid ID number, deterministic for ``seed``."""
    rng = random.Random(seed)
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 70))
    sex = rng.choice("男女")
    sequence = rng.randrange(0, 50) * 2 + (1 if sex == "男" else 0)
    first17 = f"{rng.choice(_COUNTIES)}{birth:%Y%m%d}{rng.randrange(0, 10)}{sequence:02d}"
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    long_term = rng.random() < 0.2
    expiry = None if long_term else date(rng.randrange(2027, 2036), rng.randrange(1, 13), 1)
    return SamplePerson(
        name=name,
        sex=sex,
        id_number=first17 + id_check_char(first17),
        category=rng.randrange(1, 8),
        grade=rng.randrange(1, 5),
        valid_until=expiry,
        address=f"山西省长治市{rng.choice(('潞州区', '上党区', '屯留区', '潞城区', '襄垣县'))}"
        f"{rng.choice(('东街', '西关', '南村', '北苑'))}{rng.randrange(1, 200)}号",
    )


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(cjk_font_path(), size)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int) -> None:
    draw.text(xy, text, fill=_INK, font=_font(size))


def _centered(draw: ImageDraw.ImageDraw, y: int, width: int, text: str, size: int) -> None:
    length = draw.textlength(text, font=_font(size))
    _text(draw, (int((width - length) / 2), y), text, size)


def certificate_page(
    person: SamplePerson, *, reissue_suffix: str = "", category_in_words: int | None = None
) -> Image.Image:
    """The data page of a disability certificate (残疾人证), as a clean grayscale scan.

    About 300 dpi for a card-sized page, with the title, the labelled fields, a photo box and
    the issuing office, laid out in two columns like the real booklet page.
    ``category_in_words`` prints another category beside 类别 than the number's 19th digit
    says: what a misread digit of the number looks like to the reader.
    """
    width, height = 1400, 900
    image = Image.new("L", (width, height), _WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width - 20, height - 20), outline=90, width=3)
    _centered(draw, 50, width, "中华人民共和国残疾人证", 56)
    draw.rectangle((1090, 170, 1330, 470), outline=120, width=2)
    _text(draw, (1165, 300), "照片", 36)
    rows = [
        (190, [(80, f"姓名  {person.name}"), (620, f"性别  {person.sex}")]),
        (290, [(80, f"证号  {person.certificate_number}{reissue_suffix}")]),
        (
            390,
            [
                (80, f"类别  {CATEGORIES[category_in_words or person.category]}"),
                (620, f"等级  {GRADES[person.grade]}"),
            ],
        ),
        (490, [(80, f"有效期至  {person.valid_until_text}")]),
        (590, [(80, f"住址  {person.address}")]),
        (720, [(80, "发证机关  长治市残疾人联合会")]),
    ]
    for y, cells in rows:
        for x, text in cells:
            _text(draw, (x, y), text, 40)
    return image


def id_card_page(person: SamplePerson) -> Image.Image:
    """A photocopy of the front of a resident ID card (居民身份证)."""
    width, height = 1300, 820
    image = Image.new("L", (width, height), _WHITE)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((20, 20, width - 20, height - 20), radius=40, outline=90, width=3)
    _centered(draw, 40, width, "中华人民共和国居民身份证", 48)
    id_birth = date(
        int(person.id_number[6:10]), int(person.id_number[10:12]), int(person.id_number[12:14])
    )
    rows = [
        (150, f"姓名  {person.name}"),
        (240, f"性别  {person.sex}      民族  汉"),
        (330, f"出生  {id_birth.year}年{id_birth.month}月{id_birth.day}日"),
        (420, f"住址  {person.address}"),
        (640, f"公民身份号码  {person.id_number}"),
    ]
    for y, text in rows:
        _text(draw, (70, y), text, 40)
    draw.rectangle((960, 140, 1220, 480), outline=120, width=2)
    return image


def application_form_page(person: SamplePerson) -> Image.Image:
    """The first page of the 残疾人两项补贴申请审批表, filled in for ``person``."""
    width, height = 1240, 1754  # A4 at 150 dpi
    image = Image.new("L", (width, height), _WHITE)
    draw = ImageDraw.Draw(image)
    _centered(draw, 90, width, "残疾人两项补贴申请审批表", 52)
    _text(draw, (90, 190), "申请日期：2026年3月2日", 30)
    left, right, top, row_h = 90, 1150, 250, 90
    labels = [
        ("申请人姓名", person.name),
        ("性别", person.sex),
        ("公民身份号码", person.id_number),
        ("残疾人证号", person.certificate_number),
        ("残疾类别", CATEGORIES[person.category]),
        ("残疾等级", GRADES[person.grade]),
        ("户籍地址", person.address),
        ("申请补贴类别", "困难残疾人生活补贴  重度残疾人护理补贴"),
        ("乡镇（街道）审核意见", "同意"),
        ("县级民政部门审批意见", "同意"),
    ]
    for index, (label, value) in enumerate(labels):
        y = top + index * row_h
        draw.rectangle((left, y, right, y + row_h), outline=60, width=2)
        draw.line((480, y, 480, y + row_h), fill=60, width=2)
        _text(draw, (left + 20, y + 26), label, 32)
        _text(draw, (500, y + 26), value, 32)
    _text(draw, (90, top + len(labels) * row_h + 60), "申请人承诺以上信息真实有效。", 30)
    return image


@dataclass(frozen=True)
class Degradation:
    """How much to spoil a clean page: what a cheap scanner or a phone camera adds."""

    noise: float = 0.0  # amplitude of uniform gray-level noise, 0–127
    speckle: float = 0.0  # fraction of pixels turned into dark specks, e.g. 0.002
    rotate: float = 0.0  # degrees, counter-clockwise; scanners skew pages by 0.5–3°
    blur: float = 0.0  # Gaussian blur radius in pixels
    jpeg_quality: int | None = None  # re-encode as JPEG at this quality
    seed: int = 0


def degrade(image: Image.Image, how: Degradation) -> Image.Image:
    """Apply ``how`` to ``image`` deterministically; returns a new grayscale image."""
    result = image.convert("L")
    if how.rotate:
        result = result.rotate(
            how.rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=_WHITE
        )
    if how.blur:
        result = result.filter(ImageFilter.GaussianBlur(how.blur))
    if how.noise:
        # Image.effect_noise is not seedable; seeded bytes keep pages reproducible and fast.
        rng = random.Random(how.seed)
        amplitude = min(how.noise, 127.0) / 128.0
        noise = Image.frombytes("L", result.size, rng.randbytes(result.width * result.height))
        noise = noise.point(lambda v: int(128 + (v - 128) * amplitude))
        result = ImageChops.add(result, noise, 1.0, -128)
    if how.speckle:
        # Dust and toner specks: isolated dark dots, which OCR must not take for characters.
        rng = random.Random(how.seed + 1)
        threshold = 255 - int(255 * min(how.speckle, 1.0))
        dots = Image.frombytes("L", result.size, rng.randbytes(result.width * result.height))
        mask = dots.point(lambda v: 255 if v > threshold else 0)
        result.paste(_INK, mask=mask)
    if how.jpeg_quality is not None:
        buffer = io.BytesIO()
        result.save(buffer, "JPEG", quality=how.jpeg_quality)
        buffer.seek(0)
        result = Image.open(buffer)
        result.load()
    return result


#: How demo scans are spoiled: a decent office scanner (some grain, slight skew, JPEG).
SCANNER = Degradation(noise=30, rotate=0.8, blur=0.4, jpeg_quality=70)


def document_scans(
    person: SamplePerson, *, seed: int = 0, realistic: bool = True
) -> dict[str, Image.Image]:
    """Scans of a person's certificate, ID card and application form, by document type code.

    For ``demo_data --scans``: each page as a scanner would deliver it (``realistic``), with
    skew direction and grain varying by ``seed`` so that demo pages do not all look alike.
    """
    rng = random.Random(seed)
    pages = {
        "disability_certificate": certificate_page(person),
        "id_card": id_card_page(person),
        "application_form": application_form_page(person),
    }
    if not realistic:
        return pages
    return {
        code: degrade(
            page,
            Degradation(
                noise=SCANNER.noise,
                rotate=SCANNER.rotate * rng.choice((-1, 1)) * rng.uniform(0.5, 1.0),
                blur=SCANNER.blur,
                jpeg_quality=SCANNER.jpeg_quality,
                seed=rng.randrange(1 << 30),
            ),
        )
        for code, page in pages.items()
    }


def save_pdf(images: list[Image.Image], path: Path, *, dpi: float = 200.0) -> Path:
    """Write ``images`` as a multi-page PDF (Pillow embeds each page as an image)."""
    first, *rest = (image.convert("RGB") for image in images)
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=dpi)
    return path


def save_tiff(images: list[Image.Image], path: Path) -> Path:
    """Write ``images`` as a multi-page TIFF, the format of many office scanners."""
    first, *rest = images
    first.save(path, "TIFF", save_all=True, append_images=rest, compression="tiff_deflate")
    return path
