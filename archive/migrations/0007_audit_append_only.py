"""The audit log is append-only in the database itself: triggers refuse every UPDATE and
DELETE of archive_auditlog on PostgreSQL and on SQLite, so neither `QuerySet.update()` /
`delete()` nor a SQL shell can rewrite it (the model's save()/delete() refuse too).

TRUNCATE is left alone on PostgreSQL: it is what a test database flush uses, and it needs
the table owner's rights, which the application's role should not have in production
(docs/security.md)."""

from django.db import migrations

MESSAGE = "审计日志只能追加，不可修改或删除"

POSTGRES = [
    f"""
    CREATE OR REPLACE FUNCTION archive_auditlog_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER archive_auditlog_append_only
    BEFORE UPDATE OR DELETE ON archive_auditlog
    FOR EACH ROW EXECUTE FUNCTION archive_auditlog_append_only()
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS archive_auditlog_append_only ON archive_auditlog",
    "DROP FUNCTION IF EXISTS archive_auditlog_append_only()",
]
SQLITE = [
    f"""
    CREATE TRIGGER archive_auditlog_no_update BEFORE UPDATE ON archive_auditlog
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER archive_auditlog_no_delete BEFORE DELETE ON archive_auditlog
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS archive_auditlog_no_update",
    "DROP TRIGGER IF EXISTS archive_auditlog_no_delete",
]
BY_VENDOR = {"postgresql": (POSTGRES, POSTGRES_REVERSE), "sqlite": (SQLITE, SQLITE_REVERSE)}


def _run(schema_editor, index: int) -> None:
    statements = BY_VENDOR.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"no append-only triggers for {schema_editor.connection.vendor}")
    for sql in statements[index]:
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, 0)


def backwards(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("archive", "0006_ocr_heartbeat")]

    operations = [migrations.RunPython(forwards, backwards)]
