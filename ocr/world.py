"""A wide generated world of scans with ground truth: what other offices would bring.

:mod:`ocr.samples` draws our own three layouts in one font; an engine tuned on them learns
our layout, not the documents.  This module draws the pages a new office really scans —
the second-generation booklet (二代, a ruled table), the third-generation smart card (三代,
the number printed large at its foot without a label), either photocopied onto grey A4 at
any position and scale, the application form (labels beside or above their values), the
household register (常住人口登记卡), the ID card, the commitment letter and the bank card —
in every CJK font Debian ships that is installed (sans, serif/宋, 楷, 明, 正黑), at
100–300 dpi, with formal numerals (叁级), every date form of ``docs/numbers.md``, red seals
over the text, and five degradation levels (clean, scanner, poor copy, fax, phone photo).

Every :class:`Sample` carries its ground truth (:attr:`Sample.expected`, only the fields the
page prints), deterministic for its seed.  **Seeds at or above** :data:`HELD_OUT_BASE` form
the held-out set: nothing in the pipeline may be tuned on them (``bench/ocr_bench.py``
reports both sets side by side; tests use tuning seeds only).
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

from core.numbers import CATEGORIES, GRADES
from ocr.fonts import cjk_fonts
from ocr.samples import SamplePerson, make_person

__all__ = [
    "HELD_OUT_BASE",
    "LAYOUTS",
    "LEVELS",
    "Sample",
    "generate",
    "is_held_out",
    "sample",
]

#: Seeds from here on are the held-out set: report on it, never tune on it.
HELD_OUT_BASE = 1_000_000
LAYOUTS = (
    "booklet",
    "card",
    "a4_copy",
    "application_form",
    "household_register",
    "id_card",
    "commitment_letter",
    "bank_card",
)
LEVELS = ("clean", "scan", "poor", "fax", "photo")
_CERTIFICATE_LAYOUTS = ("booklet", "card", "a4_copy")
_DOC_TYPES = {
    "booklet": "disability_certificate",
    "card": "disability_certificate",
    "a4_copy": "disability_certificate",
    "application_form": "application_form",
    "household_register": "household_register",
    "id_card": "id_card",
    "commitment_letter": "commitment_letter",
    "bank_card": "bank_card",
}
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌凤云淑珍海燕德福荣春"
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许傅沈彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
_FORMAL_GRADES = {1: "壹级", 2: "贰级", 3: "叁级", 4: "肆级"}
_INK = (25, 25, 30)
_RED = (205, 30, 35)
_PAPER = (255, 255, 255)
_BASE_DPI = 300


@dataclass(frozen=True)
class Sample:
    """One generated page and what a perfect reader returns for it."""

    seed: int
    layout: str
    level: str
    font: str
    dpi: int
    sealed: bool  # a red seal is stamped over printed text
    image: Image.Image
    expected: dict[str, object]  # doc_type and the fields this page prints

    @property
    def held_out(self) -> bool:
        return is_held_out(self.seed)


def is_held_out(seed: int) -> bool:
    """Whether ``seed`` belongs to the held-out set (:data:`HELD_OUT_BASE`)."""
    return seed >= HELD_OUT_BASE


@cache
def _font(style: str, size: int) -> ImageFont.FreeTypeFont:
    path, index = cjk_fonts()[style]
    return ImageFont.truetype(path, size, index=index)


class _Canvas:
    """An RGB page at :data:`_BASE_DPI` drawn in one font."""

    def __init__(self, width: int, height: int, style: str, paper: tuple[int, int, int] = _PAPER):
        self.image = Image.new("RGB", (width, height), paper)
        self.draw = ImageDraw.Draw(self.image)
        self.style = style

    def text(self, xy: tuple[float, float], text: str, size: int, fill=_INK) -> float:
        """Draw ``text``; returns its width."""
        font = _font(self.style, size)
        self.draw.text((round(xy[0]), round(xy[1])), text, fill=fill, font=font)
        return self.draw.textlength(text, font=font)

    def centered(self, y: float, text: str, size: int, *, left: float = 0, right=None) -> None:
        right = self.image.width if right is None else right
        width = self.draw.textlength(text, font=_font(self.style, size))
        self.text(((left + right - width) / 2, y), text, size)

    def box(self, area: tuple[float, float, float, float], width: int = 2) -> None:
        self.draw.rectangle(tuple(round(v) for v in area), outline=(60, 60, 60), width=width)


def _date_text(day: date, rng: random.Random) -> str:
    """One of the date forms of ``docs/numbers.md``."""
    forms = (
        f"{day.year}年{day.month:02d}月{day.day:02d}日",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y.%m.%d}",
        f"{day:%Y-%m-%d}",
        f"{day.year}/{day.month}/{day.day}",
        f"{day:%Y%m%d}",
    )
    return rng.choice(forms)


def _person(seed: int, rng: random.Random) -> SamplePerson:
    person = make_person(seed)
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
    expiry = person.valid_until
    if expiry is not None:
        expiry = expiry.replace(day=rng.randrange(1, 29))
    return replace(person, name=name, valid_until=expiry)


def _expiry_text(person: SamplePerson, rng: random.Random, *, label: bool = True) -> str:
    """The expiry as a certificate prints it: 有效期至 X, or a range 有效期 A 至 B / A-B."""
    if person.valid_until is None:
        return rng.choice(("有效期至  长期", "有效期  长期有效")) if label else "长期"
    end = person.valid_until
    start = end.replace(year=end.year - 10)
    if not label:
        return _date_text(end, rng)
    return rng.choice(
        (
            f"有效期至  {_date_text(end, rng)}",
            f"有效期  {_date_text(start, rng)}至{_date_text(end, rng)}",
            f"有效期限  {start:%Y.%m.%d}-{end:%Y.%m.%d}",
        )
    )


def _grade_text(grade: int, rng: random.Random) -> str:
    return _FORMAL_GRADES[grade] if rng.random() < 0.4 else GRADES[grade]


def _category_text(category: int, rng: random.Random) -> str:
    name = CATEGORIES[category]
    return name if rng.random() < 0.6 else name.removesuffix("残疾")


def _booklet(person: SamplePerson, style: str, rng: random.Random) -> _Canvas:
    """The 二代 booklet's data page: a ruled table, the number in a cell below its label."""
    page = _Canvas(1500, 1000, style, paper=(250, 247, 240))
    page.box((30, 30, 1470, 970), width=4)
    page.centered(60, "中华人民共和国残疾人证", rng.choice((52, 58, 64)))
    left, mid, right, top, row = 80, 330, 1180, 170, 110
    rows = [
        [("姓名", person.name), ("性别", person.sex)],
        [("残疾人证号", None)],
        [("", person.certificate_number)],
        [
            ("残疾类别", _category_text(person.category, rng)),
            ("残疾等级", _grade_text(person.grade, rng)),
        ],
        [("有效期", _expiry_text(person, rng, label=False) if rng.random() < 0.5 else None)],
        [("发证机关", "长治市残疾人联合会")],
    ]
    if rows[4][0][1] is None:
        rows[4] = [("", _expiry_text(person, rng))]
    size = rng.choice((38, 42, 46))
    for index, cells in enumerate(rows):
        y = top + index * row
        page.box((left, y, right, y + row))
        if len(cells) == 2:
            half = (left + right) / 2
            page.draw.line((half, y, half, y + row), fill=(60, 60, 60), width=2)
            for (label, value), x0 in zip(cells, (left, half), strict=True):
                page.text((x0 + 18, y + 30), label, size)
                page.text((x0 + 230, y + 30), value, size)
            continue
        label, value = cells[0]
        if label and value is not None:
            page.draw.line((mid, y, mid, y + row), fill=(60, 60, 60), width=2)
            page.text((left + 18, y + 30), label, size)
            page.text((mid + 24, y + 30), value, size)
        elif label:
            page.text((left + 18, y + 30), label, size)
        else:
            page.text((left + 60, y + 30), value, size)
    page.box((1220, 170, 1440, 450))
    page.text((1290, 290), "照片", 36, fill=(120, 120, 120))
    return page


def _card(person: SamplePerson, style: str, rng: random.Random) -> _Canvas:
    """The 三代 smart card (85.6 × 54 mm at 300 dpi): the number large at the foot, unlabelled."""
    page = _Canvas(1011, 638, style, paper=(232, 240, 248))
    page.draw.rounded_rectangle((4, 4, 1006, 633), radius=36, outline=(120, 140, 170), width=3)
    for y in range(0, 638, 6):  # the card's printed background wash
        shade = 232 + round(12 * math.sin(y / 40))
        page.draw.line((8, y, 1002, y), fill=(shade, 238, 248), width=2)
    page.centered(28, "中华人民共和国残疾人证", rng.choice((44, 48)))
    size = rng.choice((32, 34, 36))
    lines = [
        f"姓名  {person.name}",
        f"性别  {person.sex}",
        f"类别  {_category_text(person.category, rng)}",
        f"等级  {_grade_text(person.grade, rng)}",
        _expiry_text(person, rng),
    ]
    for index, line in enumerate(lines):
        page.text((60, 120 + index * 64), line, size)
    page.box((760, 120, 950, 380))
    number = person.certificate_number
    if rng.random() < 0.4:
        number = f"{number[:6]} {number[6:14]} {number[14:]}"
    page.text((60, 470), number, rng.choice((46, 52, 56)))
    page.text((60, 560), "长治市残疾人联合会", 26, fill=(70, 70, 90))
    return page


def _a4(card: Image.Image, rng: random.Random, style: str) -> _Canvas:
    """A grey photocopy on A4 of a card or booklet page, anywhere, at any scale."""
    page = _Canvas(2480, 3508, style, paper=(236, 236, 236))
    scale = rng.uniform(0.7, 1.3)
    art = ImageOps.grayscale(card).convert("RGB")
    art = art.resize(
        (round(art.width * scale), round(art.height * scale)), Image.Resampling.LANCZOS
    )
    x = rng.randrange(80, max(81, page.image.width - art.width - 80))
    y = rng.randrange(200, max(201, page.image.height - art.height - 400))
    page.image.paste(art, (x, y))
    if rng.random() < 0.6:
        page.text((x, y + art.height + 120), "此复印件与原件一致", 54)
        page.text((x + 700, y + art.height + 120), "经办人：", 54)
    return page


def _form(person: SamplePerson, style: str, rng: random.Random) -> _Canvas:
    """The application form (申请审批表): labels beside their values, or a header row above."""
    page = _Canvas(2480, 3508, style)
    page.centered(220, "残疾人两项补贴申请审批表", 84)
    size = rng.choice((50, 56, 60))
    left, right = 180, 2300
    pairs = [
        ("申请人姓名", person.name),
        ("公民身份号码", person.id_number),
        ("残疾人证号", person.certificate_number),
        ("残疾类别", _category_text(person.category, rng)),
        ("残疾等级", _grade_text(person.grade, rng)),
        ("户籍地址", person.address),
        ("申请补贴类别", "重度残疾人护理补贴"),
    ]
    y = 420
    if rng.random() < 0.5:  # labels beside values
        for label, value in pairs:
            page.box((left, y, right, y + 150))
            page.draw.line((820, y, 820, y + 150), fill=(60, 60, 60), width=3)
            page.text((left + 30, y + 45), label, size)
            page.text((860, y + 45), value, size)
            y += 150
    else:  # a header row of labels, values in the row below
        for chunk in (pairs[:2], pairs[2:4], pairs[4:6], pairs[6:]):
            width = (right - left) / len(chunk)
            for index, (label, value) in enumerate(chunk):
                x0 = left + index * width
                page.box((x0, y, x0 + width, y + 130))
                page.box((x0, y + 130, x0 + width, y + 260))
                page.text((x0 + 30, y + 38), label, size)
                page.text((x0 + 30, y + 168), value, size)
            y += 300
    page.box((left, y + 60, right, y + 500))
    page.text((left + 30, y + 100), "乡镇（街道）审核意见：同意", size)
    page.text((left + 30, y + 300), "县级民政部门审批意见：同意", size)
    return page


def _register(person: SamplePerson, style: str, rng: random.Random) -> _Canvas:
    """A page of the household register (常住人口登记卡)."""
    page = _Canvas(2100, 1500, style, paper=(248, 244, 236))
    page.centered(70, "常住人口登记卡", 80)
    size = rng.choice((44, 50))
    birth = date(
        int(person.id_number[6:10]), int(person.id_number[10:12]), int(person.id_number[12:14])
    )
    rows = [
        [("姓名", person.name), ("户主或与户主关系", rng.choice(("户主", "之子", "之女", "妻")))],
        [("性别", person.sex), ("民族", "汉")],
        [("出生日期", f"{birth.year}年{birth.month}月{birth.day}日"), ("籍贯", "山西长治")],
        [("公民身份号码", person.id_number)],
        [("住址", person.address)],
    ]
    left, right, y = 100, 2000, 220
    for cells in rows:
        width = (right - left) / len(cells)
        for index, (label, value) in enumerate(cells):
            x0 = left + index * width
            page.box((x0, y, x0 + width, y + 180))
            used = page.text((x0 + 24, y + 60), label, size)
            page.text((x0 + used + 70, y + 60), value, size)
        y += 180
    return page


def _id_card(person: SamplePerson, style: str, rng: random.Random) -> _Canvas:
    """The front of the resident ID card (居民身份证), the number across its foot."""
    page = _Canvas(1011, 638, style, paper=(240, 244, 240))
    page.draw.rounded_rectangle((4, 4, 1006, 633), radius=36, outline=(140, 160, 140), width=3)
    birth = date(
        int(person.id_number[6:10]), int(person.id_number[10:12]), int(person.id_number[12:14])
    )
    size = rng.choice((30, 32))
    page.text((50, 40), f"姓名  {person.name}", size)
    page.text((50, 110), f"性别  {person.sex}    民族  汉", size)
    page.text((50, 180), f"出生  {birth.year}年{birth.month}月{birth.day}日", size)
    page.text((50, 250), f"住址  {person.address[:12]}", size)
    page.text((120, 300), person.address[12:], size)
    page.text((50, 520), "公民身份号码", size)
    page.text((300, 512), person.id_number, size + 10)
    page.box((700, 60, 950, 380))
    if rng.random() < 0.5:
        page.text((520, 420), "居民身份证", 26, fill=(90, 110, 90))
    return page


def _letter(person: SamplePerson, style: str, rng: random.Random) -> _Canvas:
    """The commitment letter (承诺书): prose, the person named inside a sentence."""
    page = _Canvas(2480, 3508, style)
    page.centered(260, rng.choice(("承诺书", "两项补贴申请承诺书")), 90)
    size = 56
    body = [
        f"本人{person.name}，公民身份号码{person.id_number}，",
        "申请残疾人两项补贴，已知悉政策告知内容，",
        "本人承诺所提供的材料真实有效，家庭经济状况",
        "发生变化时及时告知，如有虚报愿承担相应责任。",
    ]
    for index, line in enumerate(body):
        page.text((200, 520 + index * 110), line, size)
    page.text((1400, 1200), "承诺人（签字）：", size)
    page.text((1400, 1320), "2026年3月2日", size)
    return page


def _bank(style: str, rng: random.Random) -> _Canvas:
    """A bank card copy: a 19-digit card number that must never be read as an ID."""
    page = _Canvas(1011, 638, style, paper=(200, 220, 235))
    page.draw.rounded_rectangle((4, 4, 1006, 633), radius=36, outline=(90, 110, 140), width=3)
    page.text((50, 40), rng.choice(("中国农业银行", "中国建设银行", "长治银行")), 52)
    page.text((700, 60), "借记卡", 40)
    digits = "62" + "".join(str(rng.randrange(10)) for _ in range(17))
    grouped = " ".join(digits[i : i + 4] for i in range(0, 19, 4))
    page.text((60, 380), grouped, 54)
    page.text((780, 540), "银联 UnionPay", 30)
    return page


def _seal(
    image: Image.Image, center: tuple[float, float], radius: float, style: str
) -> Image.Image:
    """Stamp a red seal (ring, star, office name) over the page, multiplied like ink."""
    layer = Image.new("RGB", image.size, (255, 255, 255))
    draw = ImageDraw.Draw(layer)
    cx, cy = center
    ink = (220, 50, 50)
    draw.ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius),
        outline=ink,
        width=max(4, round(radius / 18)),
    )
    star = [
        (
            cx + (radius * (0.28 if k % 2 == 0 else 0.11)) * math.sin(k * math.pi / 5),
            cy - (radius * (0.28 if k % 2 == 0 else 0.11)) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=ink)
    font = _font(style, max(12, round(radius / 5)))
    label = "长治市残疾人联合会"
    for index, char in enumerate(label):
        angle = math.radians(-150 + index * 300 / (len(label) - 1))
        x = cx + radius * 0.72 * math.sin(angle)
        y = cy - radius * 0.72 * math.cos(angle)
        draw.text((x, y), char, fill=ink, font=font, anchor="mm")
    return ImageChops.multiply(image.convert("RGB"), layer)


def _degrade(image: Image.Image, level: str, rng: random.Random, dpi: int) -> Image.Image:
    """Spoil a clean 300-dpi page the way ``level`` says, then resample it to ``dpi``."""
    if level == "photo":
        image = _photograph(image, rng)
    elif level != "clean":
        skew = {"scan": 2.0, "poor": 3.0, "fax": 1.5}[level] * rng.uniform(-1, 1)
        image = image.rotate(
            skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255)
        )
        if level == "scan" and rng.random() < 0.08:
            image = image.rotate(180, expand=True)
    scale = dpi / _BASE_DPI
    image = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    blur = {"clean": 0.0, "scan": 0.5, "poor": 1.0, "fax": 0.3, "photo": 0.8}[level]
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur * scale * 2))
    noise = {"clean": 0, "scan": 18, "poor": 45, "fax": 0, "photo": 14}[level]
    if noise:
        grain = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
        grain = grain.point(lambda v: int(128 + (v - 128) * noise / 128)).convert("RGB")
        image = ImageChops.add(image.convert("RGB"), grain, 1.0, -128)
    if level == "fax":
        gray = image.convert("L")
        image = gray.point(lambda v: 255 if v > rng.randrange(140, 185) else 0).convert("L")
    quality = {
        "clean": None,
        "scan": rng.randrange(55, 90),
        "poor": rng.randrange(25, 45),
        "fax": None,
        "photo": rng.randrange(50, 80),
    }[level]
    if quality is not None:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        image = Image.open(buffer)
        image.load()
    return image


def _photograph(image: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photo of the page: perspective, uneven light, a shadow, a table behind."""
    width, height = image.size
    margin = round(0.08 * max(width, height))
    back = Image.new("RGB", (width + 2 * margin, height + 2 * margin), (110, 95, 80))
    back.paste(image.convert("RGB"), (margin, margin))
    w, h = back.size
    jitter = [rng.uniform(-0.04, 0.04) * w for _ in range(8)]
    quad = (
        jitter[0], jitter[1], jitter[2], h + jitter[3],
        w + jitter[4], h + jitter[5], w + jitter[6], jitter[7],
    )  # fmt: skip
    photo = back.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    light = Image.linear_gradient("L").resize((w, h)).rotate(rng.uniform(0, 360))
    light = light.point(lambda v: 165 + v * 90 // 255).convert("RGB")
    return ImageChops.multiply(photo, light)


def sample(seed: int, *, layout: str | None = None, level: str | None = None) -> Sample:
    """The page of ``seed`` (layout, level, font, dpi, seal drawn from it unless given)."""
    rng = random.Random(seed * 7919 + 17)
    fonts = sorted(cjk_fonts())
    layout = layout or rng.choice(LAYOUTS)
    level = level or rng.choice(LEVELS)
    style = rng.choice(fonts)
    # A card-sized page scanned at 100 dpi has 10-pixel text no reader can read; offices
    # scan cards at 150 dpi or more, A4 pages from 100 dpi.
    small = layout in ("card", "booklet", "id_card", "bank_card")
    dpis = (150, 200, 250, 300) if small else (100, 150, 200, 250, 300)
    dpi = rng.choice(dpis) if level != "clean" else rng.choice((200, 300))
    person = _person(seed, rng)
    expected: dict[str, object] = {"doc_type": _DOC_TYPES[layout]}
    if layout in _CERTIFICATE_LAYOUTS:
        page = (
            _booklet
            if layout == "booklet" or (rng.random() < 0.5 and layout == "a4_copy")
            else _card
        )(person, style, rng)
        expected.update(person.expected_fields)
    elif layout == "application_form":
        page = _form(person, style, rng)
        expected.update(person.expected_fields)
        expected.pop("valid_until")
    elif layout == "household_register":
        page = _register(person, style, rng)
        expected.update(id_number=person.id_number, name=person.name)
    elif layout == "id_card":
        page = _id_card(person, style, rng)
        expected.update(id_number=person.id_number, name=person.name)
    elif layout == "commitment_letter":
        page = _letter(person, style, rng)
        expected.update(id_number=person.id_number)
    else:
        page = _bank(style, rng)
        expected.update(certificate_number=None, id_number=None)
    image = page.image
    sealed = layout not in ("bank_card", "id_card") and rng.random() < 0.45
    if sealed:
        # Over the title, the number or the name: where offices' seals really land.
        width, height = image.size
        spot = rng.choice(((0.5, 0.08), (0.35, 0.45), (0.3, 0.78), (0.25, 0.2)))
        radius = rng.uniform(0.12, 0.2) * min(width, height) * (1.6 if height > 2000 else 1.0)
        image = _seal(image, (spot[0] * width, spot[1] * height), radius, style)
    if layout == "a4_copy":
        image = _a4(image, rng, style).image
    image = _degrade(image, level, rng, dpi)
    return Sample(
        seed=seed,
        layout=layout,
        level=level,
        font=style,
        dpi=dpi,
        sealed=sealed,
        image=image,
        expected=expected,
    )


def generate(count: int, *, held_out: bool = False, start: int = 0) -> list[Sample]:
    """``count`` samples of the tuning set, or of the held-out set (never tuned on)."""
    base = (HELD_OUT_BASE if held_out else 0) + start
    return [sample(base + index) for index in range(count)]
