"""The audit log (审计日志) is append-only in the database itself, and never stores a full ID
number in a detail."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from archive.access.audit import record
from archive.models import AuditLog
from tests.helpers import child_env, run_manage

pytestmark = pytest.mark.django_db


def test_queryset_update_and_delete_are_refused_by_the_database(make_user):
    entry = record(None, "view", obj_id="1", detail="查看", user=make_user("clerk", "140425"))
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(detail="改写")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.detail == "查看"


SQLITE_PROBE = """
from django.db import DatabaseError, transaction
from archive.access.audit import record
from archive.models import AuditLog
entry = record(None, "view", obj_id="1", detail="查看")
for attempt in (lambda q: q.update(detail="x"), lambda q: q.delete()):
    try:
        with transaction.atomic():
            attempt(AuditLog.objects.filter(pk=entry.pk))
        print("ALLOWED")
    except DatabaseError as error:
        print("REFUSED", error)
"""


def test_sqlite_refuses_updates_and_deletes_too(tmp_path):
    env = {k: v for k, v in child_env().items() if k != "DATABASE_URL"}
    env.update(DATA_DIR=str(tmp_path))
    assert run_manage("migrate", "--noinput", "-v", "0", env=env, timeout=600).returncode == 0
    probe = run_manage("shell", "-c", SQLITE_PROBE, env=env)
    assert probe.returncode == 0, probe.stderr[-2000:]
    outcomes = [
        line.split()[0]
        for line in probe.stdout.split("\n")
        if "ALLOWED" in line or "REFUSED" in line
    ]
    assert outcomes == ["REFUSED", "REFUSED"]
    assert "审计日志只能追加" in probe.stdout


def test_id_numbers_in_details_are_masked_before_they_are_stored(make_user):
    entry = record(
        None, "upload_document", detail="上传 140425198001011235.pdf", user=make_user("c", "140425")
    )
    assert AuditLog.objects.get(pk=entry.pk).detail == "上传 140425********1235.pdf"


def test_every_audit_action_written_in_the_code_has_a_chinese_label():
    """The log page shows actions by their label (core/codes.py); an action written anywhere
    without one would show as a raw code. Read from the source, so a new call is covered."""
    import ast

    from core.codes import AUDIT_ACTION_LABELS
    from tests.helpers import ROOT

    unlabelled = []
    for path in ROOT.glob("*/**/*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & {".venv", "tests", "migrations", "node_modules"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")
            if name not in ("record", "_audit") or len(node.args) < 2:
                continue
            action = node.args[1]
            literal = isinstance(action, ast.Constant) and isinstance(action.value, str)
            if literal and action.value not in AUDIT_ACTION_LABELS:
                unlabelled.append(f"{path.relative_to(ROOT)}:{node.lineno} {action.value}")
    assert unlabelled == []


def test_every_object_type_written_in_the_code_reads_in_chinese():
    """The log page names the object by its model's verbose_name or AUDIT_OBJECT_LABELS, never
    as "archive.Document 61". Read from the source, so a new call is covered."""
    import ast
    import re

    from tests.helpers import ROOT

    # Where each helper that passes an object type on takes it among its positional arguments.
    positional = {"record": None, "_denied": 1, "_refused": 1, "_audit": 2}
    types: dict[str, str] = {}
    for path in ROOT.glob("*/**/*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & {".venv", "tests", "migrations", "node_modules"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name not in positional:
                continue
            index = positional[name]
            values = [k.value for k in node.keywords if k.arg == "obj_type"]
            if index is not None and len(node.args) > index:
                values.append(node.args[index])
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    types[value.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    assert "archive.Document" in types and "search" in types
    unreadable = [
        f"{where} {kind} → {AuditLog(object_type=kind).object_label}"
        for kind, where in types.items()
        if not re.search(r"[\u4e00-\u9fff]", AuditLog(object_type=kind).object_label)
    ]
    assert unreadable == []


def test_the_log_page_names_objects_by_their_chinese_label(admin_client):
    record(None, "view_document", obj_type="archive.Document", obj_id="61")
    body = admin_client.get("/admin/audit-log/").content.decode()
    assert "档案文件 61" in body and "archive.Document" not in body
