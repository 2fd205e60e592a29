"""Creates the first administrator so that a fresh `make run` can be logged into.

The login comes from ADMIN_USERNAME / ADMIN_PASSWORD when set; otherwise a random password is
generated once, printed, and kept (mode 0600) in DATA_DIR/initial-admin.txt until changed.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the initial administrator if none exists, and print how to log in."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        username = os.environ.get("ADMIN_USERNAME", "admin")
        note = Path(settings.DATA_DIR) / "initial-admin.txt"
        if User.objects.filter(is_superuser=True).exists():
            hint = f" (initial password in {note})" if note.exists() else ""
            self.stdout.write(f"==> administrator exists{hint}")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if not os.environ.get("ADMIN_PASSWORD"):
            note.write_text(f"username: {username}\npassword: {password}\n")
            note.chmod(0o600)
        self.stdout.write(f"==> administrator created  username: {username}  password: {password}")
