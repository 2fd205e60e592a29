from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "inspection"
    label = "inspection"
    verbose_name = "抽查与年度复核"
    default_auto_field = "django.db.models.BigAutoField"
