from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "后台任务"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each app declares its kinds of long work in its own jobs.py (jobs.kinds.register).
        autodiscover_modules("jobs")
