"""The pipeline reads its settings from Django when configured, with the default otherwise."""

from ocr.options import setting


def test_a_configured_setting_wins_over_the_default(settings):
    settings.OCR_TIMEOUT = 7
    assert setting("OCR_TIMEOUT", 120) == 7


def test_an_undeclared_setting_falls_back_to_the_default():
    assert setting("OCR_NO_SUCH_SETTING", 42) == 42
