from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    label = "review"
    verbose_name = "数据比对与核查"
    default_auto_field = "django.db.models.BigAutoField"
