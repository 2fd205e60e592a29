"""The division tree the system ships with: 山西省, 长治市 and its 12 current counties and
districts, and the pre-2018 codes that still begin older ID numbers, mapped to their
successors (the 2018 restructuring of 长治市: 城区 and 郊区 became 潞州区, 长治县 became 上党区,
屯留县 and 潞城市 became 屯留区 and 潞城区). Townships and villages are imported from a CSV
(`import_divisions`)."""

from __future__ import annotations

from typing import NamedTuple


class DivisionRow(NamedTuple):
    code: str
    name: str
    level: str
    parent: str | None
    successor: str | None = None


SHANXI = "140000"
CHANGZHI = "140400"

BUILT_IN: tuple[DivisionRow, ...] = (
    DivisionRow(SHANXI, "山西省", "province", None),
    DivisionRow(CHANGZHI, "长治市", "city", SHANXI),
    DivisionRow("140403", "潞州区", "county", CHANGZHI),
    DivisionRow("140404", "上党区", "county", CHANGZHI),
    DivisionRow("140405", "屯留区", "county", CHANGZHI),
    DivisionRow("140406", "潞城区", "county", CHANGZHI),
    DivisionRow("140423", "襄垣县", "county", CHANGZHI),
    DivisionRow("140425", "平顺县", "county", CHANGZHI),
    DivisionRow("140426", "黎城县", "county", CHANGZHI),
    DivisionRow("140427", "壶关县", "county", CHANGZHI),
    DivisionRow("140428", "长子县", "county", CHANGZHI),
    DivisionRow("140429", "武乡县", "county", CHANGZHI),
    DivisionRow("140430", "沁县", "county", CHANGZHI),
    DivisionRow("140431", "沁源县", "county", CHANGZHI),
    # Abolished in 2018; still the first six digits of many ID numbers.
    DivisionRow("140402", "城区（已撤销）", "county", CHANGZHI, "140403"),
    DivisionRow("140411", "郊区（已撤销）", "county", CHANGZHI, "140403"),
    DivisionRow("140421", "长治县（已撤销）", "county", CHANGZHI, "140404"),
    DivisionRow("140424", "屯留县（已撤销）", "county", CHANGZHI, "140405"),
    DivisionRow("140481", "潞城市（已撤销）", "county", CHANGZHI, "140406"),
)

CURRENT_COUNTIES: tuple[str, ...] = tuple(
    row.code for row in BUILT_IN if row.level == "county" and row.successor is None
)
SUCCESSORS: dict[str, str] = {row.code: row.successor for row in BUILT_IN if row.successor}


# --- Code arithmetic: the one place that knows how a 12-digit division code is built ------------
#
# A code is 2 digits of province, 2 of city, 2 of county, 3 of township, 3 of village; a higher
# level pads the lower digits with zeros (山西 140000, 长治 140400, 平顺 140425, a township
# 140425100, a village 140425100200). Everything that cuts a code apart calls these.


def county_of(code: str) -> str:
    """The 6-digit county code a county, township or village code begins with."""
    return code[:6]


def city_of(code: str) -> str:
    """The city (地级市) a code lies in: ``140425`` → ``140400``."""
    return code[:4] + "00"


def province_of(code: str) -> str:
    """The province a code lies in: ``140425`` → ``140000``."""
    return code[:2] + "0000"


def township_of(code: str | None, county: str = "") -> str:
    """The 9-digit township of a township or village code, else "" (unknown); with
    ``county``, also "" when the code does not lie in that county."""
    code = "".join((code or "").split())
    if len(code) >= 9 and code[:9].isascii() and code[:9].isdigit() and code.startswith(county):
        return code[:9]
    return ""


def village_of(code: str | None) -> str:
    """The 12-digit village code, else "" (the code names no village)."""
    code = "".join((code or "").split())
    return code if len(code) == 12 and code.isdigit() else ""


def covering_codes(code: str) -> list[str]:
    """The division itself and the county, city and province above it, nearest first, each
    once (the levels comparison runs and roster uploads are made for)."""
    codes = [code]
    if len(code) > 6:
        codes.append(county_of(code))
    codes += [city_of(code), province_of(code)]
    return list(dict.fromkeys(codes))


def division_prefix(code: str) -> str:
    """The significant prefix of a division code: ``140000`` → ``14``, ``140400`` → ``1404``.

    Codes are padded with zeros up the hierarchy, so "is X within division D" is a prefix
    test on D's significant digits (county 6, township 9, village 12).
    """
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 9 and code.endswith("000"):
        code = code[:6]
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def division_contains(division: str, code: str) -> bool:
    """True when ``code`` (any level) lies in ``division`` (province, city, county, …)."""
    return code.startswith(division_prefix(division))


def current_county(code: str, successors: dict[str, str] = SUCCESSORS) -> str:
    """The current county for any code whose first six digits name a county, old or new."""
    county = county_of(code)
    while county in successors:
        county = successors[county]
    return county


DIVISION_HEADERS = ("区划代码", "名称")


class DivisionError(ValueError):
    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row, self.message = row, message


def township_and_village_rows(
    cells: list[tuple[int, dict[str, object]]], known_codes: set[str]
) -> tuple[list[DivisionRow], list[DivisionError]]:
    """Validates township (9-digit) and village (12-digit) rows of a division CSV.

    A township's parent is the current county of its first six digits; a village's parent is
    its township, which must be known already or come earlier in the same file.
    """
    rows: list[DivisionRow] = []
    errors: list[DivisionError] = []
    seen = set(known_codes)
    for number, cell in cells:
        code = str(cell.get("区划代码") or "").strip()
        name = str(cell.get("名称") or "").strip()
        if not code.isdigit() or len(code) not in (9, 12):
            errors.append(
                DivisionError(
                    number,
                    f"第{number}行：区划代码应为9位（乡镇）或12位（村、社区）数字，实为“{code}”。",
                )
            )
            continue
        if not name:
            errors.append(DivisionError(number, f"第{number}行：名称为空。"))
            continue
        if len(code) == 9:
            parent, level = current_county(code), "township"
        else:
            parent, level = township_of(code), "village"
        if parent not in seen:
            errors.append(DivisionError(number, f"第{number}行：上级区划 {parent} 不存在。"))
            continue
        seen.add(code)
        rows.append(DivisionRow(code, name, level, parent))
    return rows, errors
