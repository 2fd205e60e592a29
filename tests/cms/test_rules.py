"""Pure rules of the public site: who may see a policy, the index filters, the yearly training
summary, Chinese search tokens, the seed text and attachment text extraction."""

from dataclasses import dataclass
from datetime import date

import pytest

from cms.cjk import index_text, query_phrases, tokens
from cms.filters import SHANXI_CITIES, PolicyFilters, summarize_training_sessions
from cms.minipdf import make_pdf
from cms.seed import paragraphs, seed_documents, seed_text
from cms.text_extraction import extract_text_from_bytes
from cms.visibility import ACTIVE, ON_REQUEST, WITHHELD, is_publicly_visible

# --- visibility ---------------------------------------------------------------------------


def test_only_live_unrestricted_actively_disclosed_policies_are_public():
    assert is_publicly_visible(ACTIVE)
    assert not is_publicly_visible(ON_REQUEST)
    assert not is_publicly_visible(WITHHELD)
    assert not is_publicly_visible(ACTIVE, live=False)
    assert not is_publicly_visible(ACTIVE, view_restricted=True)


# --- filters ------------------------------------------------------------------------------


def test_policy_filters_read_valid_query_parameters():
    filters = PolicyFilters.from_params(
        {"year": "2023", "issuer": "4", "topic": "2", "validity": "repealed"}
    )
    assert filters == PolicyFilters(year=2023, issuer=4, topic=2, validity="repealed")
    assert filters.active
    assert filters.as_query() == {
        "year": "2023",
        "issuer": "4",
        "topic": "2",
        "validity": "repealed",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"year": "二〇二三"},
        {"year": "1800"},
        {"issuer": "-1"},
        {"issuer": "abc"},
        {"topic": ""},
        {"validity": "expired"},
        {},
    ],
)
def test_malformed_filter_values_are_ignored_rather_than_failing(params):
    filters = PolicyFilters.from_params(params)
    assert not filters.active
    assert filters.as_query() == {}


@dataclass
class Session:
    city: str
    held_on: date


def test_training_summary_counts_sessions_per_city_per_year_and_lists_cities_without_one():
    years = summarize_training_sessions(
        [
            Session("长治市", date(2023, 3, 28)),
            Session("长治市", date(2023, 9, 1)),
            Session("太原市", date(2023, 3, 20)),
            Session("长治市", date(2024, 3, 15)),
        ]
    )
    assert [y.year for y in years] == [2024, 2023]
    y2023 = years[1]
    assert y2023.per_city == {"长治市": 2, "太原市": 1}
    assert y2023.cities_done == 2
    assert "长治市" not in y2023.cities_missing
    assert len(y2023.cities_missing) == len(SHANXI_CITIES) - 2
    assert [s.held_on for s in y2023.sessions] == sorted(s.held_on for s in y2023.sessions)
    assert years[0].cities_done == 1


# --- Chinese search tokens ----------------------------------------------------------------


def test_han_runs_become_overlapping_bigrams_and_other_words_stay_whole():
    assert tokens("精准管理") == ["精准", "准管", "管理"]
    assert tokens("2023年 补") == ["2023", "年", "补"]
    assert tokens("ABC 文件") == ["abc", "文件"]
    assert tokens("") == []


def test_a_query_is_a_bigram_phrase_per_term_that_matches_inside_the_indexed_text():
    indexed = index_text("加强残疾人两项补贴精准管理，明确比对频次。")
    for phrase in query_phrases("精准管理 比对频次"):
        assert phrase in indexed
    assert query_phrases("精准管理 比对频次") == ["精准 准管 管理", "比对 对频 频次"]
    assert query_phrases("   ") == []


def test_punctuation_between_clauses_does_not_create_false_bigrams():
    indexed = index_text("精准管理。加强")
    assert query_phrases("管理加强")[0] not in indexed


def test_index_text_is_bounded_for_postgresql_positions():
    assert len(index_text("字" * 50_000, limit=100).split()) == 100


# --- seed ---------------------------------------------------------------------------------


def test_seed_is_split_into_the_two_documents_with_page_breaks_healed():
    documents = seed_documents()
    assert set(documents) == {"长民发〔2023〕18号", "晋民发〔2023〕1号"}
    shanxi = documents["晋民发〔2023〕1号"]
    assert shanxi.salutation == "各市民政局、财政局、残联："
    assert len(shanxi.body) == 6
    assert shanxi.body[3].startswith("三、加强数据比对，开展集中复核。")
    assert "强化数据比对与动态复核" in shanxi.body[0]  # "复" / "核" split by a page break
    assert "新办证的残疾人由县级残联负责政策告知。" in shanxi.body[2]
    assert shanxi.closing == ["主动公开", "山西省民政厅办公室", "2023年1月11日印发"]
    changzhi = documents["长民发〔2023〕18号"]
    assert changzhi.doc_number_raw == "长民发[2023]18号"
    assert changzhi.body[0].startswith("现将山西省民政厅") and "请按照通知要求" in changzhi.body[0]
    assert changzhi.body[1].startswith("附件:")


def test_seed_letterheads_name_the_issuers_the_demo_uses():
    text = seed_text()
    for issuer in ["长治市民政局", "长治市财政局", "长治市残疾人联合会"]:
        assert issuer in text
    for issuer in ["山西省民政厅", "山西省财政厅", "山西省残疾人联合会"]:
        assert issuer in text


def test_paragraph_joining_keeps_sentences_apart_and_glues_broken_ones():
    assert paragraphs("第一句。\n\n第二\n\n句。\n\n标题\n续行") == [
        "第一句。",
        "第二句。",
        "标题续行",
    ]


# --- attachment text ----------------------------------------------------------------------


def test_text_of_a_chinese_pdf_is_extracted():
    pdf = make_pdf([["两项补贴培训课件", "数据比对操作要点"], ["第二页"]], title="课件")
    text = extract_text_from_bytes(pdf, "slides.pdf")
    assert "数据比对操作要点" in text
    assert "第二页" in text


def test_text_files_in_utf8_or_gb18030_are_read():
    assert extract_text_from_bytes("致残障朋友的一封信".encode(), "a.txt") == "致残障朋友的一封信"
    assert extract_text_from_bytes("致残障朋友的一封信".encode("gb18030"), "b.TXT") == (
        "致残障朋友的一封信"
    )


def test_text_of_a_word_docx_is_extracted():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as docx:
        docx.writestr(
            "word/document.xml",
            "<w:document><w:body><w:p><w:r><w:t>培训签到表</w:t></w:r></w:p>"
            "<w:p><w:r><w:t>乡镇经办人员</w:t></w:r></w:p></w:body></w:document>",
        )
    assert extract_text_from_bytes(buffer.getvalue(), "sign-in.docx").split() == [
        "培训签到表",
        "乡镇经办人员",
    ]


def test_unsupported_files_yield_no_text():
    assert extract_text_from_bytes(b"\x00\x01", "image.png") == ""
