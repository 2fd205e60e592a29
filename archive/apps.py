from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from wagtail.users.apps import WagtailUsersAppConfig


class ArchiveConfig(AppConfig):
    default = True  # this module also holds UsersConfig
    name = "archive"
    label = "archive"
    verbose_name = "档案"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from archive.access import logins, user_names
        from archive.access.roles import sync_roles

        logins.connect()
        user_names.install()

        # Runs after every app, so the permissions of apps migrated later exist too.
        post_migrate.connect(sync_roles, dispatch_uid="archive.sync_roles")
        from archive.casefiles import open_on_enrolment

        # One enrolment saved on its own (admin, tests, a shell); bulk writes (import, demo)
        # call case_files.open_case_files themselves, set-wise.
        post_save.connect(
            open_on_enrolment, sender="archive.Enrolment", dispatch_uid="archive.open_case_file"
        )


class UsersConfig(WagtailUsersAppConfig):
    """Wagtail's users app with user management scoped to jurisdiction and rank
    (`archive.access.viewsets.UserViewSet`); listed in INSTALLED_APPS instead of "wagtail.users"."""

    user_viewset = "archive.access.viewsets.UserViewSet"
