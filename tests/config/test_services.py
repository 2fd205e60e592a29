"""The real services the product depends on answer as the product needs them to."""

import uuid

import pytest
from django.db import connection
from PIL import Image, ImageDraw, ImageFont

from ocr.fonts import cjk_font_path


def test_suite_runs_on_postgresql_like_production(db):
    assert connection.vendor == "postgresql", "make test must run the suite on PostgreSQL"


def test_elasticsearch_is_version_8_and_finds_chinese_text_with_cjk_analyzer(es_client):
    assert es_client.info()["version"]["number"].startswith("8.")
    index = f"test-cjk-{uuid.uuid4().hex[:8]}"
    es_client.indices.create(
        index=index,
        settings={
            "analysis": {
                "analyzer": {
                    "zh": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["cjk_width", "lowercase", "cjk_bigram"],
                    }
                }
            }
        },
        mappings={"properties": {"text": {"type": "text", "analyzer": "zh"}}},
    )
    try:
        es_client.index(index=index, document={"text": "重度残疾人护理补贴"}, refresh=True)
        es_client.index(index=index, document={"text": "困难残疾人生活补贴"}, refresh=True)
        hits = es_client.search(index=index, query={"match_phrase": {"text": "护理补贴"}})["hits"]
        assert hits["total"]["value"] == 1
    finally:
        es_client.indices.delete(index=index)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_celery_worker_consumes_tasks_from_redis(celery_worker_process):
    from config.celery import ping

    result = ping.delay().get(timeout=30)
    assert result["pid"] == str(celery_worker_process.pid) or result["pong"]


def test_tesseract_reads_simplified_chinese():
    import pytesseract

    assert "chi_sim" in pytesseract.get_languages()
    font = ImageFont.truetype(cjk_font_path(), 48)
    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((20, 30), "残疾人两项补贴", font=font, fill=0)
    text = pytesseract.image_to_string(image, lang="chi_sim").replace(" ", "")
    assert "残疾人" in text
