"""Verification (核查) of findings and its reversal, bulk verification, evidence scans and
the outcome of a notice. A verified finding changes an enrolment only through
:mod:`archive.people.enrolments`; every change is audited."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from archive.access.audit import record
from archive.documents import storage
from archive.models import Enrolment
from archive.people import enrolments as enrolment_actions
from core.codes import VERIFIED_ACTIONS
from core.eligibility import stop_month
from review.models import Finding, NotifyOutcome, Verification
from review.services.base import ReviewError
from review.services.runs import rules_of

#: Evidence scans accepted for a verification (recognised by content, ``archive.documents.scans``).
EVIDENCE_KINDS = ("jpeg", "png", "tiff", "pdf")


def verification_in_force(finding: Finding) -> Verification | None:
    return finding.verifications.filter(reversed_at__isnull=True).first()


def target_enrolments(finding: Finding, statuses: Sequence[str]):
    if finding.person_id is None:
        return Enrolment.objects.none()
    return Enrolment.objects.filter(
        person_id=finding.person_id,
        county_id=finding.county_id,
        subsidy__in=finding.subsidies,
        status__in=statuses,
    ).order_by("subsidy")


def effective_month(finding: Finding) -> date:
    """The first month no longer paid: from the event date (or, for findings without one such
    as a cancelled certificate, the reference date) by the run's rule set."""
    return stop_month(finding.event_date or finding.run.as_of, rules_of(finding.run))


def store_evidence(upload) -> tuple[str, str, int]:
    """Keeps an evidence scan like any scan of the archive: checked completely (a broken or
    disguised file is refused), stored privately and content-addressed with its page images
    (``archive.documents.storage``), and registered as a :class:`~archive.models.StoredFile` so that
    the nightly integrity check re-hashes it. ``upload`` is a file object, or a scan already
    received (``archive.documents.ingest.Received``, consumed). Returns (sha256, file name,
    size)."""
    from archive.documents import ingest, scans
    from archive.models import StoredFile

    name = Path(getattr(upload, "name", "") or "scan").name[:255]
    if isinstance(upload, ingest.Received):
        tmp, sha, size = upload.path, upload.sha, upload.size
    else:
        try:
            tmp, sha, size = storage.spool(upload, scans.max_bytes())
        except storage.TooLarge:
            limit = scans.human_size(scans.max_bytes())
            raise ReviewError(f"佐证材料超过大小上限 {limit}。") from None
    derive_dir = None
    try:
        kind = scans.sniff_file(tmp)
        if kind not in EVIDENCE_KINDS:
            raise ReviewError("佐证材料须为 JPEG、PNG、TIFF 或 PDF 扫描件。")
        existing = StoredFile.objects.filter(sha256=sha).first()
        if existing is not None and storage.original_path(sha).exists():
            return sha, name, size
        derive_dir = storage.new_tmp_dir()
        try:
            pages = scans.check_and_derive(tmp, kind, derive_dir).page_count
        except scans.Rejected as rejected:
            raise ReviewError(f"佐证材料无法使用：{rejected.message}") from None
        storage.commit_original(tmp, sha)
        storage.commit_derived(derive_dir, sha)
        derive_dir = None
        StoredFile.objects.bulk_create(
            [StoredFile(sha256=sha, size=size, kind=kind, page_count=pages)],
            ignore_conflicts=True,
        )
    finally:
        tmp.unlink(missing_ok=True)
        if derive_dir is not None:
            shutil.rmtree(derive_dir, ignore_errors=True)
    return sha, name, size


def evidence_kind(sha256: str) -> str:
    from archive.models import StoredFile

    return StoredFile.objects.filter(sha256=sha256).values_list("kind", flat=True).first() or ""


def verify(
    finding: Finding,
    *,
    outcome: str,
    note: str,
    user,
    evidence=None,
    request=None,
    filed_evidence: tuple[str, str, int] | None = None,
) -> Verification:
    """Records a verdict on a STOP/SUSPEND finding. Confirmed: stops (or suspends) each
    enrolment the finding concerns, from the month :func:`effective_month` gives, with the
    finding's code as reason and ``核查 #<id>`` as source. Not confirmed: changes nothing.
    ``evidence`` is an uploaded or received scan, stored and filed here; ``filed_evidence`` (sha256, name,
    size) one that a background ingestion has already stored and filed (review/jobs.py)."""
    check_verdict(finding, outcome, note)
    stored = filed_evidence or (store_evidence(evidence) if evidence is not None else None)
    source = f"核查 #{finding.pk}"
    with transaction.atomic():
        Finding.objects.select_for_update().filter(pk=finding.pk).exists()
        if verification_in_force(finding) is not None:
            raise ReviewError("该发现已有核查结论；如有错误，请先撤销。")
        verification = Verification.objects.create(
            finding=finding,
            outcome=outcome,
            note=note.strip(),
            evidence_sha256=stored[0] if stored else "",
            evidence_name=stored[1] if stored else "",
            evidence_size=stored[2] if stored else None,
            verified_by=user,
        )
        changes = []
        if outcome == Verification.Outcome.CONFIRMED:
            month = effective_month(finding)
            if finding.action == "STOP":
                act = enrolment_actions.stop
                statuses = (Enrolment.Status.ACTIVE, Enrolment.Status.SUSPENDED)
            else:
                act = enrolment_actions.suspend
                statuses = (Enrolment.Status.ACTIVE,)
            for enrolment in target_enrolments(finding, statuses):
                try:
                    change = act(
                        enrolment,
                        month=month,
                        reason=finding.code,
                        user=user,
                        note=f"{finding.get_code_display()}：{note.strip()}"[:2000],
                        source=source,
                    )
                except enrolment_actions.TransitionError as error:
                    raise ReviewError(str(error)) from error
                changes.append(change)
            verification.changes.set(changes)
        record(
            request,
            "review_verify",
            obj_type="review.Finding",
            obj_id=str(finding.pk),
            detail=f"{verification.get_outcome_display()} {finding.code} {finding.id_number[:6]}… "
            f"变更{len(changes)}项 {note.strip()}",
            user=user,
        )
    if stored and finding.person_id and filed_evidence is None:
        file_evidence(verification, user=user, request=request)
    return verification


def check_verdict(finding: Finding, outcome: str, note: str) -> None:
    """The checks a verdict must pass before its evidence is stored or filed."""
    if not finding.needs_verification:
        raise ReviewError("只有停发或暂停类的发现需要核查。")
    if outcome not in Verification.Outcome.values:
        raise ReviewError("请选择核查结论。")
    if not note.strip():
        raise ReviewError("请填写核查说明。")


def evidence_target(finding: Finding, outcome: str):
    """Where a verdict's evidence scan is filed (``archive.documents.ingest.Target``): the
    person's case file in the finding's county; a confirmed stop's approval as 变更 / 停发 /
    恢复审批材料, other evidence as 其他."""
    from archive import casefiles
    from archive.documents import ingest

    doc_type = "change_approval" if outcome == Verification.Outcome.CONFIRMED else "other"
    return ingest.Target(casefiles.case_file_for(finding.person, finding.county_id), doc_type)


def file_evidence(verification: Verification, *, user, request=None) -> None:
    """Files a verdict's evidence scan into the person's case file in the finding's county,
    through the same ingest as any upload (档号, page images, OCR): a confirmed stop's approval
    as 变更 / 停发 / 恢复审批材料, other evidence as 其他, so the case file holds what the
    decision rests on (docs/archive.md)."""
    from archive.documents import ingest

    target = evidence_target(verification.finding, verification.outcome)
    with storage.original_path(verification.evidence_sha256).open("rb") as original:
        ingest.ingest_stream(
            original, verification.evidence_name or "佐证材料", target, user, request
        )


#: The most findings one bulk verification may take (it runs in the request: each verdict is a
#: short transaction, so 500 stay within a few seconds).
BULK_LIMIT = 500


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (finding id, reason)


def verify_many(findings: Iterable[Finding], *, outcome: str, note: str, user, request=None):
    """One verdict and note for many findings (批量核查): each is verified on its own, exactly
    as :func:`verify` does one (its own transaction, enrolment changes and audit entry), so a
    finding that cannot take it (already verified, not a stop) is skipped with the reason and
    the others still are."""
    result = BulkResult()
    for finding in findings:
        try:
            verify(finding, outcome=outcome, note=note, user=user, request=request)
        except ReviewError as error:
            result.skipped.append((finding.pk, str(error)))
        else:
            result.done.append(finding.pk)
    record(
        request,
        "review_verify_bulk",
        obj_type="review.Finding",
        obj_id=",".join(str(pk) for pk in result.done[:50]),
        detail=f"批量核查 {outcome} 成功{len(result.done)}条 跳过{len(result.skipped)}条 {note.strip()}",
        user=user,
    )
    return result


def close_by_manual_change(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """``post_save`` of an enrolment change: a stop or suspension made by hand in the archive
    (not by a verdict) closes the open findings it answers — same enrolment, the change's
    reason as code — with a confirmed verdict that links the change, so the finding no longer
    waits for a 核查 that someone has in effect already done (docs/review.md)."""
    from archive.models import EnrolmentChange

    manual = instance.action in (EnrolmentChange.Action.STOP, EnrolmentChange.Action.SUSPEND)
    if not created or raw or not manual or instance.changed_by_id is None:
        return
    if instance.source.startswith(("核查", "撤销核查")):
        return
    enrolment = instance.enrolment
    waiting = (
        Finding.objects.filter(code=instance.reason, action__in=VERIFIED_ACTIONS)
        .filter(
            Q(enrolment_id=enrolment.pk)
            | Q(
                enrolment__isnull=True, person_id=enrolment.person_id, county_id=enrolment.county_id
            )
        )
        .with_status()
        .filter(verdict__isnull=True)
    )
    for finding in waiting:
        verification = Verification.objects.create(
            finding=finding,
            outcome=Verification.Outcome.CONFIRMED,
            note=f"已在档案中手工{instance.get_action_display()}（{instance.month or ''}）：{instance.note}"[
                :2000
            ],
            verified_by_id=instance.changed_by_id,
        )
        verification.changes.set([instance])
        record(
            None,
            "review_verify",
            obj_type="review.Finding",
            obj_id=str(finding.pk),
            detail=f"手工{instance.get_action_display()}关闭发现 {finding.code}",
            user=instance.changed_by,
        )


def reverse_verification(verification: Verification, *, reason: str, user, request=None):
    """Undoes a verdict: each enrolment it stopped or suspended is resumed from the same month
    with the reason as note; the verdict stays on record, marked reversed. Refused when an
    enrolment has changed since (someone acted on it after the verdict)."""
    if not reason.strip():
        raise ReviewError("撤销必须填写原因。")
    finding = verification.finding
    with transaction.atomic():
        locked = Verification.objects.select_for_update().get(pk=verification.pk)
        if locked.reversed_at is not None:
            raise ReviewError("该核查结论已撤销。")
        for change in locked.changes.select_related("enrolment").order_by("id"):
            enrolment = change.enrolment
            latest = enrolment.changes.order_by("-changed_at", "-id").first()
            if latest is None or latest.pk != change.pk:
                raise ReviewError(
                    f"{enrolment.get_subsidy_display()}在核查后已有其他变更，不能自动撤销；"
                    "请在档案中处理。"
                )
            try:
                enrolment_actions.resume(
                    enrolment,
                    month=change.month or effective_month(finding),
                    user=user,
                    note=f"撤销核查结论：{reason.strip()}"[:2000],
                    source=f"撤销核查 #{finding.pk}",
                )
            except enrolment_actions.TransitionError as error:
                raise ReviewError(str(error)) from error
        locked.reversed_by = user
        locked.reversed_at = timezone.now()
        locked.reversal_reason = reason.strip()
        locked.save(update_fields=["reversed_by", "reversed_at", "reversal_reason"])
        record(
            request,
            "review_reverse",
            obj_type="review.Verification",
            obj_id=str(locked.pk),
            detail=f"撤销核查 发现#{finding.pk} {finding.code}：{reason.strip()}",
            user=user,
        )
    return locked


def record_notify_outcome(finding: Finding, *, outcome: str, note: str, user, request=None):
    if finding.action != "NOTIFY":
        raise ReviewError("只有应享未享的发现需要登记告知结果。")
    if outcome not in NotifyOutcome.Outcome.values:
        raise ReviewError("请选择告知结果。")
    item = NotifyOutcome.objects.create(
        finding=finding, outcome=outcome, note=note.strip(), recorded_by=user
    )
    record(
        request,
        "review_notify",
        obj_type="review.Finding",
        obj_id=str(finding.pk),
        detail=f"告知结果 {item.get_outcome_display()} {note.strip()}",
        user=user,
    )
    return item
