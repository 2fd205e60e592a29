"""Enrolments change only through explicit actions that keep their history."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from archive.models import AuditLog, Enrolment
from archive.people import enrolments

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolment(demo_people) -> Enrolment:
    return Enrolment.objects.filter(status=Enrolment.Status.ACTIVE).first()


def test_stop_records_month_reason_and_who(enrolment, make_user):
    user = make_user("a", enrolment.county_id)
    change = enrolments.stop(enrolment, month=date(2026, 12, 15), reason="DECEASED", user=user)
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.STOPPED
    assert enrolment.stop_month == date(2026, 12, 1)
    assert (change.from_status, change.to_status, change.reason, change.changed_by) == (
        "active",
        "stopped",
        "DECEASED",
        user,
    )


def test_stop_without_reason_is_refused(enrolment, make_user):
    with pytest.raises(enrolments.TransitionError, match="原因"):
        enrolments.stop(enrolment, month=date(2026, 12, 1), reason="", user=make_user("a", None))


def test_unknown_reason_code_is_refused(enrolment, make_user):
    with pytest.raises(enrolments.TransitionError, match="未知"):
        enrolments.stop(
            enrolment, month=date(2026, 12, 1), reason="BORED", user=make_user("a", None)
        )


def test_suspend_then_resume_keeps_both_in_history(enrolment, make_user):
    user = make_user("a", None)
    enrolments.suspend(enrolment, month=date(2026, 12, 1), reason="IMPRISONED", user=user)
    enrolments.resume(enrolment, month=date(2027, 6, 1), user=user, note="刑满释放")
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert [c.action for c in enrolment.changes.all()] == ["enrol", "suspend", "resume"]


def test_resume_needs_a_note(enrolment, make_user):
    user = make_user("a", None)
    enrolments.stop(enrolment, month=date(2026, 12, 1), reason="DECEASED", user=user)
    with pytest.raises(enrolments.TransitionError, match="说明"):
        enrolments.resume(enrolment, month=date(2026, 12, 1), user=user, note=" ")


def test_a_stopped_enrolment_cannot_be_suspended(enrolment, make_user):
    user = make_user("a", None)
    enrolments.stop(enrolment, month=date(2026, 12, 1), reason="DECEASED", user=user)
    with pytest.raises(enrolments.TransitionError, match="停止发放"):
        enrolments.suspend(enrolment, month=date(2026, 12, 1), reason="IMPRISONED", user=user)


def test_stop_from_the_admin_page_is_saved_and_audited(client, enrolment, make_user):
    user = make_user("a", enrolment.county_id)
    client.force_login(user)
    url = reverse("archive_enrolment_action", args=[enrolment.pk, "stop"])
    response = client.post(url, {"month": "2026-12", "reason": "HUKOU_MOVED", "note": "迁往太原"})
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.STOPPED
    assert AuditLog.objects.filter(
        action="enrolment_stop", object_id=str(enrolment.pk), user=user
    ).exists()


def test_audit_entries_cannot_be_edited_or_deleted(enrolment, make_user):
    entry = AuditLog.objects.create(action="view", object_id="1")
    entry.detail = "tampered"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        entry.delete()
