"""Inspection's long work: a spot-check item's evidence scan (抽查佐证材料) that is a ZIP or a
long PDF is filed by the archive's background ingestion (扫描件归档, ``archive.jobs``) like any
upload of that size, and the item's result is recorded by the same job, in the transaction
that files the scan (:func:`_record_spot_check_result`): the result is recorded with its
evidence or, when the scan is refused or the item was recorded meanwhile, neither is.
A small scan is filed and the result recorded in the request (``spot_checks.record_result``).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from archive.documents import ingest
from archive.jobs import after_filing, submit_ingest
from inspection import spot_checks
from inspection.models import SpotCheckItem
from jobs.kinds import JobFailed
from jobs.models import Job

SPOT_CHECK_EVIDENCE = "spot_check_evidence"


def record_with_evidence(
    item: SpotCheckItem,
    *,
    answers: dict[str, bool],
    result: str,
    notes: str,
    user: Any,
    evidence: ingest.Received,
    request: Any = None,
) -> SpotCheckItem | Job:
    """Records the result with its evidence now, or — a ZIP or a long PDF — submits the job
    that files the evidence and then records the result; returns the item or the job."""
    try:
        spot_checks.check_result(answers, result, notes)
    except spot_checks.SpotCheckError:
        evidence.path.unlink(missing_ok=True)  # received for nothing
        raise
    if not evidence.runs_in_background():
        return spot_checks.record_result(
            item,
            answers=answers,
            result=result,
            notes=notes,
            user=user,
            evidence=evidence,
            request=request,
        )
    params = {"item": item.pk, "answers": answers, "result": result, "notes": notes}
    target = spot_checks.evidence_target(item)
    return submit_ingest(evidence, target, user, then=(SPOT_CHECK_EVIDENCE, params))


@after_filing(SPOT_CHECK_EVIDENCE)
def _record_spot_check_result(
    outcomes: list[ingest.Outcome], user: Any, params: dict[str, Any]
) -> dict[str, Any]:
    back = reverse("inspection_item_detail", args=[params["item"]])
    item = SpotCheckItem.objects.filter(pk=params["item"]).first()
    if item is None:
        raise JobFailed("抽查对象已不存在，未归档佐证材料。")
    done = {
        "url": reverse("inspection_spot_check_detail", args=[item.spot_check_id]),
        "summary": "检查结果已登记，佐证材料已归入本人的补贴档案",
    }
    if item.result and item.evidence_id in {outcome.document_id for outcome in outcomes}:
        return done  # a retry after a death past the commit: this job recorded it already
    try:
        spot_checks.record_result(
            item,
            answers=params["answers"],
            result=params["result"],
            notes=params["notes"],
            user=user,
            evidence=outcomes,
        )
    except spot_checks.SpotCheckError as error:
        raise JobFailed(f"{error}未登记检查结果，也未归档佐证材料。", url=back) from None
    return done
