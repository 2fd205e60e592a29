from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    label = "archive"
    verbose_name = "档案"
    default_auto_field = "django.db.models.BigAutoField"
