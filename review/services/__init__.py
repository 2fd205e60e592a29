"""The Django side of data comparison, one module per concern:

* :mod:`~review.services.uploads` — comparison rosters (比对数据) stored privately, parsed once
  on upload, their normalised rows kept beside the original (:func:`cached_spool`);
* :mod:`~review.services.beneficiaries` — the beneficiaries the engine compares, as one
  aggregated query written into the engine's CSV, by COPY on PostgreSQL
  (:func:`write_beneficiaries`);
* :mod:`~review.services.runs` — creating and executing runs, storing findings in batches;
* :mod:`~review.services.verification` — verification (核查), its reversal, bulk verification,
  evidence scans, the outcome of a notice;
* :mod:`~review.services.dashboard` — what the comparison overview (比对总览) shows.

The engine (:mod:`review.engine`) is plain DuckDB code that knows nothing about Django; these
modules give it what it needs without a query per person. Callers import from this package:
the names below are its public interface.
"""

from core.tabular import TableError
from review.services.base import Progress, ReviewError
from review.services.dashboard import dashboard_context, divisions_of, findings_chart
from review.services.runs import (
    create_run,
    execute_run,
    resolved_findings,
    rules_of,
    run_json,
)
from review.services.uploads import (
    latest_uploads,
    normalised_path,
    roster_dir,
    roster_path,
    same_upload,
    store_roster,
)
from review.services.verification import (
    BULK_LIMIT,
    BulkResult,
    check_verdict,
    close_by_manual_change,
    effective_month,
    evidence_kind,
    evidence_target,
    record_notify_outcome,
    reverse_verification,
    target_enrolments,
    verify,
    verify_many,
)

__all__ = [
    "BULK_LIMIT",
    "BulkResult",
    "Progress",
    "ReviewError",
    "TableError",
    "check_verdict",
    "close_by_manual_change",
    "create_run",
    "dashboard_context",
    "divisions_of",
    "effective_month",
    "evidence_kind",
    "evidence_target",
    "execute_run",
    "findings_chart",
    "latest_uploads",
    "normalised_path",
    "record_notify_outcome",
    "resolved_findings",
    "reverse_verification",
    "roster_dir",
    "roster_path",
    "rules_of",
    "run_json",
    "same_upload",
    "store_roster",
    "target_enrolments",
    "verify",
    "verify_many",
]
