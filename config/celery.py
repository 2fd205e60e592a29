"""The Celery application.

Tasks stay thin: each calls plain functions in the apps, so the logic is testable without a
worker. Configuration comes from Django settings under the ``CELERY_`` prefix.
"""

import os
import socket

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("subsidy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="system.ping")
def ping() -> dict[str, str]:
    """Answers from a worker, so the admin and the tests can tell a worker is really consuming."""
    return {"pong": socket.gethostname(), "pid": str(os.getpid())}
