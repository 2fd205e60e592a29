from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "search"
    verbose_name = "检索"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from search import sync

        sync.connect()
