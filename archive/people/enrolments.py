"""Changing an enrolment: the only way its status moves (纳入、停发、暂停、恢复).

Each action checks the transition, writes an `EnrolmentChange` (who, when, from which month,
why) and updates the enrolment's cached status in one transaction. Nothing is deleted; a
stopped enrolment keeps its history, and a wrong stop is undone by `resume` with a reason.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from archive.models import Enrolment, EnrolmentChange
from core.codes import CODE_LABELS

#: Why payment stops or is suspended: the comparison's finding codes that lead to it, plus
#: the reasons that come from the person or the office rather than from other departments.
STOP_REASONS: dict[str, str] = {
    **{
        code: CODE_LABELS[code]
        for code in (
            "DECEASED",
            "HUKOU_MOVED",
            "NO_CERTIFICATE",
            "CERT_CANCELLED",
            "CERT_EXPIRED",
            "GRADE_INSUFFICIENT",
            "LEFT_ASSISTANCE",
            "DUPLICATE_BENEFIT",
            "IMPRISONED",
            "DUPLICATE_ENROLMENT",
        )
    },
    "APPLICANT_REQUEST": "本人申请退出",
    "OTHER": "其他原因",
}

Status = Enrolment.Status


class TransitionError(ValueError):
    """An action that does not apply to the enrolment's current state (message in Chinese)."""


def _first_of_month(month: date) -> date:
    return month.replace(day=1)


@transaction.atomic
def _apply(
    enrolment: Enrolment,
    action: str,
    allowed_from: set[str],
    to_status: str,
    *,
    user,
    month: date | None,
    reason: str = "",
    note: str = "",
    source: str = "",
) -> EnrolmentChange:
    locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if locked.status not in allowed_from:
        raise TransitionError(
            f"当前状态为“{locked.get_status_display()}”，不能执行“{EnrolmentChange.Action(action).label}”。"
        )
    if reason and reason not in STOP_REASONS:
        raise TransitionError(f"未知的停发原因代码：{reason}")
    change = EnrolmentChange.objects.create(
        enrolment=locked,
        action=action,
        from_status=locked.status,
        to_status=to_status,
        month=_first_of_month(month) if month else None,
        reason=reason,
        note=note,
        changed_by=user,
        source=source,
    )
    locked.status = to_status
    locked.changed_by = user
    if action == EnrolmentChange.Action.STOP:
        locked.stop_month, locked.stop_reason = change.month, reason
    elif action == EnrolmentChange.Action.RESUME:
        locked.stop_month, locked.stop_reason = None, ""
    locked.save(update_fields=["status", "changed_by", "stop_month", "stop_reason", "changed_at"])
    enrolment.refresh_from_db()
    return change


def stop(enrolment: Enrolment, *, month: date, reason: str, user, note: str = "", source: str = ""):
    """Stops payment from `month` (the first month no longer paid) for `reason`."""
    if not reason:
        raise TransitionError("停发必须选择原因。")
    return _apply(
        enrolment,
        EnrolmentChange.Action.STOP,
        {Status.ACTIVE, Status.SUSPENDED},
        Status.STOPPED,
        user=user,
        month=month,
        reason=reason,
        note=note,
        source=source,
    )


def suspend(
    enrolment: Enrolment, *, month: date, reason: str, user, note: str = "", source: str = ""
):
    """Suspends payment (e.g. while serving a sentence); resumable."""
    if not reason:
        raise TransitionError("暂停发放必须选择原因。")
    return _apply(
        enrolment,
        EnrolmentChange.Action.SUSPEND,
        {Status.ACTIVE},
        Status.SUSPENDED,
        user=user,
        month=month,
        reason=reason,
        note=note,
        source=source,
    )


def resume(enrolment: Enrolment, *, month: date, user, note: str, source: str = ""):
    """Resumes a suspended or wrongly stopped enrolment. A note is required: it is the
    record of why a stop was reversed."""
    if not note.strip():
        raise TransitionError("恢复发放必须填写说明。")
    return _apply(
        enrolment,
        EnrolmentChange.Action.RESUME,
        {Status.SUSPENDED, Status.STOPPED},
        Status.ACTIVE,
        user=user,
        month=month,
        note=note,
        source=source,
    )
