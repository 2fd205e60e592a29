from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    label = "cms"
    verbose_name = "政策发布"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cms import signals

        signals.connect()
        label_site_columns()


def label_site_columns() -> None:
    """Wagtail's Sites list (站点) labels three columns from their field names ("Port",
    "Site name", "Root page"), which no catalogue can translate; they take the field's
    verbose_name instead, which Wagtail's zh_Hans catalogue does (端口号, 站点名称, 根页面)."""
    from django.utils.text import capfirst
    from wagtail.models import Site
    from wagtail.sites.views import IndexView

    for column in IndexView.columns:
        if column.label == capfirst(column.name.replace("_", " ")):
            column.label = capfirst(Site._meta.get_field(column.name).verbose_name)
