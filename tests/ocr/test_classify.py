"""Page classification (ocr.classify): keyword scoring on text, and on real OCR of generated
pages of each kind."""

from __future__ import annotations

import pytest

from core.doctypes import BY_CODE
from ocr import classify as classifier
from ocr import pipeline, samples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("中华人民共和国残疾人证\n姓名 张三\n残疾类别 肢体", "disability_certificate"),
        ("中华人民共和国居民身份证\n公民身份号码 110105194912310021", "id_card"),
        ("常住人口登记卡\n户主或与户主关系 户主", "household_register"),
        ("居民户口簿", "household_register"),
        ("残疾人两项补贴申请审批表\n申请人姓名 张三 残疾人证号", "application_form"),
        ("政策告知承诺书\n本人承诺所提供材料真实", "commitment_letter"),
        ("最低生活保障证\n保障对象 张三", "assistance_certificate"),
        ("中国农业银行 借记卡 银联", "bank_card"),
        ("中华人民共和国社会保障卡", "bank_card"),
        ("监护人证明\n兹证明 张三 为 李四 的监护人", "guardian_authorization"),
        ("授权委托书\n委托人 受托人", "guardian_authorization"),
        ("长治市儿童福利院 情况说明", "institution_statement"),
        ("2026年度复核记录", "review_record"),
        ("残疾人两项补贴停发审批表", "change_approval"),
    ],
)
def test_titles_classify_each_document_type(text: str, expected: str):
    result = classifier.classify(text)
    assert result.doc_type == expected
    assert result.confidence >= classifier.MIN_CONFIDENCE


def test_every_classified_type_is_a_document_type_of_the_archive():
    assert set(classifier.KEYWORDS) <= set(BY_CODE)


def test_unrelated_or_empty_text_is_unknown():
    assert classifier.classify("").doc_type == classifier.UNKNOWN
    assert classifier.classify("今天天气很好，我们去公园散步。").doc_type == classifier.UNKNOWN


def test_only_shared_words_are_not_enough():
    # "变更" and "银行" alone appear on many documents.
    result = classifier.classify("银行 变更")
    assert result.doc_type == classifier.UNKNOWN


def test_a_title_with_one_misread_character_still_counts():
    assert (
        classifier.classify("中华人民共和国残疾入证\n姓名 张三").doc_type
        == "disability_certificate"
    )


def test_application_form_mentioning_other_documents_is_still_an_application_form():
    text = "残疾人两项补贴申请审批表\n残疾人证号\n公民身份号码\n低保\n监护人\n银行账号"
    assert classifier.classify(text).doc_type == "application_form"


@pytest.mark.parametrize(
    ("render", "expected"),
    [
        (samples.id_card_page, "id_card"),
        (samples.application_form_page, "application_form"),
    ],
)
def test_generated_pages_are_classified_after_real_ocr(render, expected, person):
    result = pipeline.read_image(render(person), file="p.png", page=1)
    assert result.doc_type == expected
    assert result.confidence >= 0.6
    assert result.fields["id_number"] == person.id_number


def test_generated_certificate_is_classified_with_high_confidence(certificate_result):
    assert certificate_result.doc_type == "disability_certificate"
    assert certificate_result.confidence >= 0.8


def test_household_register_is_not_taken_for_an_id_card_by_their_shared_labels():
    text = "常住人口登记卡\n姓名 张三  户主或与户主关系 户主\n性别 男  民族 汉\n出生日期 1980年1月1日\n公民身份号码 140425198001011235\n住址 山西省"
    assert classifier.classify(text).doc_type == "household_register"


def test_a_title_alone_classifies_a_commitment_letter_that_cites_an_id_number():
    text = "承诺书\n本人张三，公民身份号码140425198001011235，申请补贴"
    assert classifier.classify(text).doc_type == "commitment_letter"
