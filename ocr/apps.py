from django.apps import AppConfig


class OcrConfig(AppConfig):
    name = "ocr"
    label = "ocr"
    verbose_name = "文字识别"
    default_auto_field = "django.db.models.BigAutoField"
