"""Field extraction from OCR text (ocr.extract): pure, no Tesseract — the text is what
Tesseract is known to produce, including its usual confusions."""

from __future__ import annotations

from datetime import date

import pytest

from core.numbers import id_check_char
from ocr.extract import (
    FIELD_NAMES,
    correct_digits,
    extract_fields,
    line_name,
    name_boxes,
    name_in_line,
    settle_name,
)
from ocr.words import Word, layout_lines

TODAY = date(2026, 11, 30)


def make_id(division: str = "140425", birth: str = "19800101", sequence: str = "123") -> str:
    first17 = division + birth + sequence
    return first17 + id_check_char(first17)


ID = make_id()  # 140425198001011235
CERT = ID + "43"


def read(text: str, **kwargs):
    return extract_fields(text, today=TODAY, **kwargs)


def certificate_text(number: str = CERT, *, category: str = "肢体残疾", grade: str = "三级") -> str:
    return (
        "中华人民共和国残疾人证\n"
        "姓名 张 三  性别 男\n"
        f"证号 {number}\n"
        f"类别 {category}  等级 {grade}\n"
        "有效期至 2030年05月01日\n"
    )


def test_reads_every_field_of_a_clean_certificate():
    result = read(certificate_text(), doc_type="disability_certificate")
    assert result.fields == {
        "certificate_number": CERT,
        "id_number": ID,
        "name": "张三",
        "category": 4,
        "grade": 3,
        "valid_until": "2030-05-01",
    }
    assert result.warnings == []


def test_fields_always_have_every_key_and_null_when_unread():
    result = read("一张与证件无关的纸")
    assert tuple(result.fields) == FIELD_NAMES
    assert set(result.fields.values()) == {None}


@pytest.mark.parametrize(
    ("printed", "why"),
    [
        (CERT.replace("0", "O"), "O for 0"),
        (CERT.replace("1", "l"), "l for 1"),
        (CERT.replace("1", "I"), "I for 1"),
        (CERT.replace("2", "Z"), "Z for 2"),
        (CERT.replace("5", "S"), "S for 5"),
        (CERT.replace("8", "B"), "B for 8"),
        (f"{CERT[:6]} {CERT[6:14]} {CERT[14:]}", "spaces inside the number"),
        ("１４０４２５１９８００１０１１２３５４３", "full-width digits"),
    ],
)
def test_tolerates_ocr_confusions_where_a_digit_must_be(printed: str, why: str):
    assert read(certificate_text(printed)).fields["certificate_number"] == CERT, why


def test_lower_case_x_check_character_is_read_as_x():
    worked = "11010519491231002X"
    result = read(f"证号 {worked.lower()}12")
    assert result.fields["certificate_number"] == worked + "12"
    assert result.fields["id_number"] == worked


@pytest.mark.parametrize("suffix", ["B", "B1", "B12"])
def test_keeps_the_reissue_suffix(suffix: str):
    result = read(certificate_text(CERT + suffix))
    assert result.fields["certificate_number"] == CERT + suffix
    assert result.fields["id_number"] == ID


def test_suffix_read_as_digit_eight_is_not_turned_into_b():
    # "B1" misread as "81" cannot be told from two stray digits: no guess, a warning.
    result = read(certificate_text(CERT + "81"))
    assert result.fields["certificate_number"] is None
    assert any("CERT_LENGTH" in warning for warning in result.warnings)


def test_wrong_check_character_gives_null_and_a_warning_never_a_corrected_number():
    wrong = ID[:17] + ("1" if ID[17] != "1" else "2") + "43"
    result = read(certificate_text(wrong), doc_type="disability_certificate")
    assert result.fields["certificate_number"] is None
    assert result.fields["id_number"] is None
    assert any("校验" in w and "CERT_ID" in w for w in result.warnings)


def test_invalid_category_digit_in_number_gives_null():
    result = read(certificate_text(ID + "93"))
    assert result.fields["certificate_number"] is None
    assert any("CERT_CATEGORY" in w for w in result.warnings)


def test_confusion_is_not_corrected_outside_digit_positions():
    # Letters around the number are not folded into it.
    result = read(f"No.{CERT}")
    assert result.fields["certificate_number"] == CERT


def test_two_different_valid_numbers_on_a_page_give_null():
    other = make_id(birth="19900202") + "11"
    result = read(f"证号 {CERT}\n证号 {other}")
    assert result.fields["certificate_number"] is None
    assert any("多个" in w for w in result.warnings)


def test_a_category_disagreeing_with_the_number_leaves_number_and_category_unread():
    # The 19th digit carries no check character: …X13 read as …X33 still passes.
    result = read(certificate_text(category="视力残疾"), doc_type="disability_certificate")
    assert result.fields["certificate_number"] is None
    assert result.fields["category"] is None
    assert result.fields["grade"] == 3
    assert result.fields["id_number"] == ID
    assert any("残疾类别" in w and "证号未采用" in w for w in result.warnings)
    assert not any(w.startswith("未能识别") for w in result.warnings)


def test_a_grade_disagreeing_with_the_number_leaves_number_and_grade_unread():
    result = read(certificate_text(grade="一级"))
    assert result.fields["certificate_number"] is None
    assert (result.fields["category"], result.fields["grade"]) == (4, None)
    assert any("残疾等级「一级」" in w and "第20位" in w for w in result.warnings)


def test_category_and_grade_both_disagreeing_are_named_in_one_warning():
    result = read(certificate_text(category="视力残疾", grade="一级"))
    assert (result.fields["category"], result.fields["grade"]) == (None, None)
    disputes = [w for w in result.warnings if "证号未采用" in w]
    assert len(disputes) == 1
    assert "残疾类别" in disputes[0] and "残疾等级" in disputes[0]


def test_a_grade_unread_beside_a_disputed_category_comes_from_the_number():
    text = certificate_text(category="视力残疾").replace("等级 三级", "等饭 三级")
    result = read(text)
    assert (result.fields["category"], result.fields["grade"]) == (None, 3)


def test_words_agreeing_with_the_number_keep_it_without_a_warning():
    result = read(certificate_text(category="肢体残疾", grade="叁级"))
    assert result.fields["certificate_number"] == CERT
    assert result.warnings == []


@pytest.mark.parametrize(
    ("category", "grade", "expected"),
    [
        ("智力", "2级", (5, 2)),
        ("多重残疾", "Ⅳ级", (7, 4)),
        ("精神", "叁级", (6, 3)),
        ("听力残疾", "1", (2, 1)),
    ],
)
def test_category_and_grade_from_labels_without_a_number(category, grade, expected):
    result = read(f"类别:{category}  等级:{grade}")
    assert (result.fields["category"], result.fields["grade"]) == expected


def test_category_and_grade_derived_from_the_number_when_labels_are_missing():
    result = read(f"证号 {CERT}")
    assert (result.fields["category"], result.fields["grade"]) == (4, 3)


def test_subsidy_type_row_of_application_form_is_not_a_disability_category():
    result = read("申请补贴类别  困难残疾人生活补贴")
    assert result.fields["category"] is None
    assert result.warnings == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期至 2030年05月01日", "2030-05-01"),
        ("有效期至 2030 年 5 月 1 日", "2030-05-01"),
        ("有效期至：2030.05.01", "2030-05-01"),
        ("有效期至 2030/5/1", "2030-05-01"),
        ("有效期至 20300501", "2030-05-01"),
        ("有效期至 长期", "长期"),
        ("有效期至 长 期 有 效", "长期"),
        ("有效期 2020-05-01 至 2030-05-01", "2030-05-01"),
        ("有效期限 2016.05.01-2036.05.01", "2036-05-01"),
        ("有效期限 2016.05.01-长期", "长期"),
    ],
)
def test_expiry_forms(line: str, expected: str):
    assert read(line).fields["valid_until"] == expected


def test_expiry_that_is_not_a_real_date_gives_null_and_a_warning():
    result = read("有效期至 2030年02月30日")
    assert result.fields["valid_until"] is None
    assert any("有效期" in w for w in result.warnings)


def test_name_runs_until_the_next_label_or_cell():
    assert read("姓名张三性别男").fields["name"] == "张三"
    assert read("申请人姓名  李 四 娃").fields["name"] == "李四娃"
    assert read("姓名 阿依古丽·买买提").fields["name"] == "阿依古丽·买买提"


def test_name_misread_as_latin_letters_gives_null_and_a_warning():
    result = read("姓名 FERIA  性别 男", doc_type="id_card")
    assert result.fields["name"] is None
    assert any("FERIA" in w for w in result.warnings)


def test_id_card_number_is_read_and_an_invalid_one_is_not():
    assert read(f"公民身份号码 {ID}").fields["id_number"] == ID
    bad = read(f"公民身份号码 {ID[:17]}{'1' if ID[17] != '1' else '2'}", doc_type="id_card")
    assert bad.fields["id_number"] is None
    assert any("ID_CHECKSUM" in w for w in bad.warnings)


def test_id_on_the_page_that_differs_from_the_certificate_number_is_flagged():
    other = make_id(birth="19700707")
    result = read(f"证号 {CERT}\n公民身份号码 {other}")
    assert result.fields["certificate_number"] == CERT
    assert any("不一致" in w for w in result.warnings)


@pytest.mark.parametrize("doc_type", ["disability_certificate", None])
def test_an_id_where_only_a_certificate_number_is_printed_is_not_taken(doc_type):
    # A 20-digit number that lost two digits and still passes the ID's check by chance.
    short = make_id(division="140405", birth="19470529", sequence="685")
    text = f"中华人民共和国残疾人证\n残疾人证号  照片\n{short} 联\n残疾类别智力残疾"
    result = read(text, doc_type=doc_type)
    assert result.fields["id_number"] is None
    assert result.fields["certificate_number"] is None
    assert any(short in w and "缺位" in w for w in result.warnings)


def test_a_certificate_page_gives_the_id_of_its_number_not_a_stray_run():
    stray = make_id(birth="19700707")
    result = read(certificate_text() + f"{stray}\n", doc_type="disability_certificate")
    assert result.fields["id_number"] == ID
    assert not any("缺位" in w or "不一致" in w for w in result.warnings)


@pytest.mark.parametrize("label", ["公民身份号码", "身份证号", "中华人民共和国居民身份证"])
def test_an_id_labelled_beside_a_certificate_number_is_still_read(label):
    result = read(f"残疾人证号\n{label} {ID}", doc_type="disability_certificate")
    assert result.fields["id_number"] == ID


def test_birth_date_in_the_future_is_rejected_relative_to_today():
    future = make_id(birth="20270101") + "11"
    assert read(f"证号 {future}").fields["certificate_number"] is None


def test_missing_fields_are_named_for_a_certificate_page():
    result = read("中华人民共和国残疾人证", doc_type="disability_certificate")
    assert "未能识别残疾人证号" in result.warnings
    assert "未能识别姓名" in result.warnings


def test_low_confidence_digits_are_flagged_even_when_the_number_validates():
    words = [
        Word("证号", 95, 10, 10, 60, 30),
        Word(CERT[:10], 40, 90, 10, 200, 30),
        Word(CERT[10:], 93, 292, 10, 200, 30),
    ]
    result = read(f"证号 {CERT}", words=words)
    assert result.fields["certificate_number"] == CERT
    assert any("置信度" in w for w in result.warnings)


def test_correct_digits_leaves_the_check_character_x_and_the_suffix_letter():
    assert correct_digits("l4O425198OO1O1123XS3B1", length=20) == "14042519800101123X53B1"
    assert correct_digits("OOOOOOOOOOOOOOOOOx", length=18) == "00000000000000000X"
    assert correct_digits(CERT + "B1", length=20) == CERT + "B1"


def test_words_are_laid_out_in_rows_with_cells_apart():
    words = [
        Word("性别", 90, 600, 100, 80, 40, (2, 1, 1)),
        Word("男", 90, 700, 102, 40, 40, (2, 1, 1)),
        Word("姓", 90, 80, 98, 40, 40, (1, 1, 1)),
        Word("名", 90, 122, 98, 40, 40, (1, 1, 1)),
        Word("张", 90, 200, 99, 40, 40, (1, 1, 1)),
        Word("三", 90, 242, 99, 40, 40, (1, 1, 1)),
        Word("证号", 90, 80, 200, 80, 40, (3, 1, 1)),
        Word("1404", 90, 180, 200, 90, 40, (3, 1, 1)),
    ]
    assert layout_lines(words) == ["姓名张三  性别男", "证号 1404"]


def test_name_boxes_are_the_value_after_the_label_up_to_the_next_cell():
    words = [
        Word("姓", 90, 80, 100, 40, 40),
        Word("名", 90, 122, 100, 40, 40),
        Word("张", 60, 200, 101, 40, 40),
        Word("三", 60, 242, 101, 40, 40),
        Word("性别", 90, 600, 100, 80, 40),
        Word("男", 90, 700, 100, 40, 40),
    ]
    assert [w.text for w in name_boxes(words)] == ["张", "三"]


def test_name_boxes_skip_a_table_rule_and_stop_at_a_label_without_a_gap():
    words = [
        Word("申请人姓名", 90, 80, 100, 200, 40),
        Word("|", 50, 400, 95, 5, 50),
        Word("李", 90, 500, 100, 40, 40),
        Word("四", 90, 542, 100, 40, 40),
        Word("性", 90, 584, 100, 40, 40),
        Word("别", 90, 626, 100, 40, 40),
    ]
    assert [w.text for w in name_boxes(words)] == ["李", "四"]
    assert name_boxes([Word("证号", 90, 0, 0, 80, 40)]) == []


def test_confident_second_reading_of_the_name_is_accepted():
    result = read("姓名 ERA")
    settle_name(result, "王 斌 国", [91, 88, 90])
    assert result.fields["name"] == "王斌国"
    assert not any("姓名" in w for w in result.warnings)


def test_doubtful_second_reading_of_the_name_gives_null_and_shows_the_reading():
    result = read("姓名 程起")
    settle_name(result, "程霞", [88, 33])
    assert result.fields["name"] is None
    assert any("疑为「程霞」" in w for w in result.warnings)


def test_two_readings_that_agree_are_accepted_despite_low_confidence():
    result = read("姓名 刘磊")
    settle_name(result, "刘磊", [45])
    assert result.fields["name"] == "刘磊"


def test_agreeing_readings_with_a_character_read_blind_are_not_accepted():
    result = read("姓名 旦玉")
    settle_name(result, "旦玉", [0, 89])
    assert result.fields["name"] is None


def test_id_with_a_dropped_digit_is_reported_on_a_labelled_line():
    result = read(f"公民身份号码 {ID[:9]}{ID[10:]}")
    assert result.fields["id_number"] is None
    assert any("ID_LENGTH" in w for w in result.warnings)


def test_unlabelled_long_numbers_such_as_bank_cards_raise_no_warning():
    result = read("中国农业银行 借记卡\n6228 4800 1234 5678 901")
    assert result.fields["certificate_number"] is None
    assert result.warnings == []


def _line(text: str, left: int, top: int, index: int) -> Word:
    """One RapidOCR-style word: a whole line of text with its box."""
    return Word(text, 99.0, left, top, 40 * len(text), 40, (index, 0, 0))


def test_value_in_the_cell_below_its_label_is_read_in_a_header_row_table():
    words = [
        _line("申请人姓名", 100, 100, 1),
        _line("公民身份号码", 1100, 100, 2),
        _line("张三", 100, 230, 3),
        _line(ID, 1100, 230, 4),
        _line("残疾类别", 100, 400, 5),
        _line("残疾等级", 1100, 400, 6),
        _line("肢体", 100, 530, 7),
        _line("叁级", 1100, 530, 8),
    ]
    text = "\n".join(layout_lines(words))
    fields = read(text, words=words).fields
    assert (fields["name"], fields["id_number"]) == ("张三", ID)
    assert (fields["category"], fields["grade"]) == (4, 3)


@pytest.mark.parametrize("label", ["娃名", "蛙名"])
def test_the_name_label_with_its_first_character_misread_still_labels_the_name(label: str):
    assert read(f"{label}程刚玉  性别男").fields["name"] == "程刚玉"


def test_a_label_followed_by_another_label_is_never_taken_as_the_value():
    words = [_line("姓名", 100, 100, 1), _line("性别", 600, 100, 2)]
    assert read("\n".join(layout_lines(words)), words=words).fields["name"] is None


def test_an_empty_name_over_the_certificate_number_label_is_not_read_from_that_label():
    # A photocopy whose name cell came out blank: below it is the 残疾人证号 header, and
    # what precedes its 证号 (残疾人) is no name.
    words = [
        _line("姓名", 100, 100, 1),
        _line("性别男", 600, 100, 2),
        _line("残疾人证号", 100, 160, 3),
        _line("照片", 600, 160, 4),
    ]
    assert read("\n".join(layout_lines(words)), words=words).fields["name"] is None


def test_a_seal_letter_beside_a_header_row_does_not_join_it_to_the_row_of_values():
    # A seal's ring letter is 2-4 text lines tall: beside the header row it overlaps the row
    # of values too, and must not merge the two (程梅平申请人姓名).
    words = [
        _line("申请人姓名", 100, 100, 1),
        _line("公民身份号码", 1100, 100, 2),
        Word("联", 99.0, 1700, 90, 110, 130, (3, 0, 0)),
        _line("程梅平", 100, 170, 4),
        _line(ID, 1100, 170, 5),
    ]
    lines = layout_lines(words)
    assert len(lines) == 2
    assert read("\n".join(lines), words=words).fields["name"] == "程梅平"


def test_a_seal_letter_between_the_headers_is_not_the_name_in_the_cell_below():
    # 申请人姓名  治  公民身份号码: the seal's 治, twice as tall and shifted up, sits where a
    # value beside its label would be; the name is in the cell below.
    words = [
        _line("申请人姓名", 100, 100, 1),
        Word("治", 99.4, 600, 60, 80, 80, (2, 0, 0)),
        _line("公民身份号码", 1100, 100, 3),
        _line("王明福", 100, 230, 4),
        _line(ID, 1100, 230, 5),
    ]
    fields = read("\n".join(layout_lines(words)), words=words).fields
    assert (fields["name"], fields["id_number"]) == ("王明福", ID)


def test_a_one_character_value_on_its_labels_line_is_still_its_value():
    words = [_line("等级", 100, 100, 1), _line("三", 400, 100, 2), _line("一级", 100, 230, 3)]
    assert read("\n".join(layout_lines(words)), words=words).fields["grade"] == 3


@pytest.mark.parametrize("header", ["HL公民身份号码", "联公民身份号码", "·公民身份号码"])
def test_a_header_behind_a_stray_character_is_a_label_not_the_name(header: str):
    words = [
        _line("申请人姓名", 100, 100, 1),
        _line(header, 1100, 100, 2),
        _line("朱海", 100, 230, 3),
        _line(ID, 1100, 230, 4),
    ]
    fields = read("\n".join(layout_lines(words)), words=words).fields
    assert (fields["name"], fields["id_number"]) == ("朱海", ID)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期 2030.05.01", "2030-05-01"),
        ("有效期 2020年5月1日至2030年5月1日", "2030-05-01"),
        ("有效期限 2020.05.01-20300501", "2030-05-01"),
        ("有效期 长期有效", "长期"),
    ],
)
def test_every_printed_expiry_form_gives_its_end_date(line: str, expected: str):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


def test_an_expiry_year_no_certificate_carries_is_null_with_a_warning():
    result = read(certificate_text().replace("2030年05月01日", "2085年05月01日"))
    assert result.fields["valid_until"] is None
    assert any("不合常理" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期限 2019:02.87-2029.02.27", "2029-02-27"),
        ("有效期限 2020,02.15-2030.02.15", "2030-02-15"),
        ("有效期限2018-10:17-2028.10.17", "2028-10-17"),
        ("有效期限 2019;02.87-2029.02.27", "2029-02-27"),
        ("有效期限 202T.07.T9-2031.07.19", "2031-07-19"),
        ("有效期限 2022:05Q8-2032.05.08", "2032-05-08"),
    ],
)
def test_a_range_with_a_misread_start_date_still_gives_its_end(line: str, expected: str):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期全2030.10.25", "2030-10-25"),
        ("有效期；2030年5月1日", "2030-05-01"),
        ("有效期全长期", "长期"),
    ],
)
def test_until_misread_as_another_character_before_one_date_gives_that_date(
    line: str, expected: str
):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效限2020.11.11-2030.11.11", "2030-11-11"),
        ("有效0限2021.10.25-2031.10.25", "2031-10-25"),
    ],
)
def test_a_label_whose_last_character_is_lost_or_read_as_a_digit_before_xian_is_read(
    line: str, expected: str
):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期限2020.1111-203011.11", "2030-11-11"),
        ("有效期限 2020.11.11-2030.1111", "2030-11-11"),
        ("有效期限2020.01.01-2030-0101", "2030-01-01"),
    ],
)
def test_a_range_end_that_lost_a_separator_is_read_by_its_two_digit_month_and_day(
    line: str, expected: str
):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期至203011.11", "2030-11-11"),
        ("有效期 2030.1111", "2030-11-11"),
        ("有效期点 2033 04-10", "2033-04-10"),
    ],
)
def test_a_lone_date_that_lost_a_separator_is_read_by_its_two_digit_month_and_day(
    line: str, expected: str
):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize(
    "line",
    [
        "有效期限2020.1.1-2030.111",  # a one-digit month or day: where the dot was is a guess
        "有效期 2030.1111.2",  # more digits follow: not the whole date
        "有效期 2020.1111-",  # a range's start whose end was not read
    ],
)
def test_a_date_that_lost_a_separator_is_not_read_when_in_doubt(line: str):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] is None


def test_a_dot_after_a_numeric_date_still_starts_a_range_and_is_never_its_end():
    assert read("姓名 张三\n有效期 2023.09.09.2033\n").fields["valid_until"] is None


@pytest.mark.parametrize(
    "line", ["有效期自2020年1月1日起", "有效期全2020.10.25-2030.10.25", "有效期从2020.10.25"]
)
def test_a_stray_character_before_a_start_date_never_makes_it_the_end(line: str):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期限2021.08.102031.08.10", "2031-08-10"),
        ("有效期限 2021-8-12031-8-1", "2031-08-01"),
        ("有效期限 2020.10.24.2030.10.24", "2030-10-24"),
        ("有效期限 2020.10.24,2030.10.24", "2030-10-24"),
        ("有效期 2025/10/1520351015", "2035-10-15"),
    ],
)
def test_a_range_that_lost_its_separator_gives_its_end(line: str, expected: str):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有效期限 2022.07.25-2032,07.25", "2032-07-25"),
        ("有效期至 2030,05,01", "2030-05-01"),
        ("有效期 2034~01~24", "2034-01-24"),
        ("有效期限 2024~01~24~2034~01~24", "2034-01-24"),
        ("有效期限 2024.01.24~2034.01.24", "2034-01-24"),
        ("有效期 2029.03/27", "2029-03-27"),
        ("有效期限 2019-03-27-2029/03.27", "2029-03-27"),
        ("有效期至 2033.06:23", "2033-06-23"),
        ("有效期 2023年9月9日.2033年9月9日", "2033-09-09"),  # after 日 a dot is the dash
        ("有效期 2023年9月9日，2033年9月9日", "2033-09-09"),
    ],
)
def test_a_separator_misread_as_another_mark_in_the_expiry_date_is_read_as_printed(
    line: str, expected: str
):
    result = read(f"姓名 张三\n{line}\n")
    assert result.fields["valid_until"] == expected
    assert not any("有效期" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    "line",
    [
        # 2021.08.1 | 2031.08.10 or 2021.08.10 | 2031.08.1 …: no split is the same day.
        "有效期限2021.08.12031.08.10",
        # The dash read as a dot: never the single date 2020-10-24, the range's start.
        "有效期 2020.10.24.2031.10.25",
        # The end lost its dots too, and falls on another day: 20311025 is not 2021.10.24's.
        "有效期 2021.10.2420311025",
    ],
)
def test_a_range_that_lost_its_separator_is_null_unless_both_dates_fall_on_one_day(line: str):
    result = read(f"姓名 张三\n{line}\n")
    assert result.fields["valid_until"] is None
    assert any("有效期" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("有姓期至2035/12/1", "2035-12-01"),
        ("有双期限 2020.05.01-2030.05.01", "2030-05-01"),
        ("有效棚至20280711", "2028-07-11"),
        ("效期至2032年07月09日", "2032-07-09"),
        ("有效明长期有效", "长期"),
        ("有限 2019.04.11.2029.04.11", "2029-04-11"),
        ("有效期至2 2028-06-04", "2028-06-04"),
        ("有姓期长期", "长期"),
    ],
)
def test_an_expiry_label_with_one_character_misread_or_lost_is_still_found(
    line: str, expected: str
):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] == expected


@pytest.mark.parametrize("line", ["有无期望 2030.05.01", "有限公司 2030.05.01", "有限 12号"])
def test_a_word_like_the_expiry_label_without_a_date_after_it_is_not_an_expiry(line: str):
    assert read(f"姓名 张三\n{line}\n").fields["valid_until"] is None


def _box(text: str, conf: float, left: int, top: int, width: int, height: int) -> Word:
    return Word(text, conf, left, top, width, height)


def test_a_name_read_inside_one_line_comes_with_that_line():
    words = [_box("姓名林静", 99.2, 66, 135, 165, 50)]
    assert line_name("林静", words) == ("林静", words[0])


def test_a_seals_ring_letters_joined_to_a_name_are_dropped():
    # 长治市残疾人联合会 bent round the stamp: 治 and 合 detected alone, lower and smaller.
    words = [
        _box("刘福丽", 99.9, 161, 110, 61, 26),
        _box("治", 99.7, 125, 123, 23, 23),
        _box("合", 98.8, 244, 124, 21, 23),
    ]
    assert line_name("治刘福丽合", words) == ("刘福丽", words[0])
    stamped = [_box("市", 99.9, 187, 115, 24, 26), _box("姓名林静", 99.2, 66, 135, 165, 50)]
    assert line_name("林静市", stamped) == ("林静", stamped[1])


def test_a_name_split_into_aligned_parts_is_not_cut_short():
    words = [_box("刘", 99.0, 100, 100, 30, 30), _box("敏军", 99.0, 132, 100, 60, 30)]
    assert line_name("刘敏军", words) is None


def test_a_name_no_line_holds_is_none():
    assert line_name("张三", [_box("李四", 99.0, 0, 0, 60, 30)]) is None


@pytest.mark.parametrize(
    ("reading", "name"),
    [
        ("姓名 林静", "林静"),
        ("姓名：林静", "林静"),
        ("娃名林静", "林静"),
        ("林 静", "林静"),
        ("林静市", "林静市"),
    ],
)
def test_the_name_in_a_second_reading_of_its_line_is_the_line_without_its_label(reading, name):
    assert name_in_line(reading) == name


def test_a_dash_or_dot_read_between_the_digits_of_a_number_is_dropped():
    noisy = f"{CERT[:14]}-{CERT[14:]}"
    fields = read(certificate_text(number=noisy)).fields
    assert (fields["certificate_number"], fields["id_number"]) == (CERT, ID)
    assert read(f"公民身份号码 {ID[:9]}.{ID[9:]}\n").fields["id_number"] == ID


def test_a_digit_read_as_a_dash_leaves_the_number_null():
    fields = read(certificate_text(number=f"{CERT[:14]}-{CERT[15:]}")).fields
    assert fields["certificate_number"] is None
