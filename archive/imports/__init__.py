"""Importing the beneficiary roster (两项补贴对象花名册, ``docs/formats.md``).

Two layers, so that the rules can be tested without a database and the database work can be
made fast without touching the rules:

1. **Validation** (:func:`match_headers`, :func:`validate_rows`): table rows from
   :func:`core.tabular.read_table` become :class:`ValidRow` objects plus a list of
   :class:`RowError` (``row N, column 列名: reason``) and of :class:`RowFlag` — a row whose
   cells each read but contradict each other or the rules is kept and flagged, never
   rejected (``docs/formats.md``, "Rejected or flagged").  No queries: everything the rules
   need from the database (the known counties, the user's jurisdiction, the rule set in
   force) is passed in.
2. **Apply** (:func:`apply_validation`, and :func:`import_beneficiaries` which does both): an
   upsert by 公民身份号码 (the person) and by person × subsidy × *current* county of
   户籍区划代码 (the enrolment), in one transaction, 100 000 people at a time
   (:func:`~archive.imports.plan.in_parts`).  Existing records are loaded by one query per
   table with the part's IDs as one parameter, the differences are computed in Python and
   written in bulk (COPY on PostgreSQL, ``bulk_create``/``bulk_update`` elsewhere), because
   one query per row would take minutes for a province-wide roster of 100 000 rows
   (``bench/import_bench.py``).
   Every enrolled person's case file is opened by one statement in the database
   (``archive.casefiles.open_case_files``), after the written tables' statistics are
   refreshed (a large import on PostgreSQL), so that it is planned for the rows now there.
   The flags of the written rows are stored, kept or cleared as
   :class:`~archive.models.DataFlag` rows in the same transaction.

Modes: ``atomic`` (the default of ``docs/formats.md``: one invalid row and nothing is written) and
``skip_invalid`` (the valid rows are written, the rejected ones come back with their reasons,
see :func:`rejected_rows_xlsx`).  A dry run computes the same outcomes and writes nothing, not
even an :class:`~archive.models.ImportRecord`.

What a row means for the records (history is never overwritten, see ``archive.models``):

* the person's facts (name, hukou, address, guardian, phone) are updated in place;
* a certificate whose facts differ from the current one closes it (``is_current=False``,
  ``superseded_at``) and opens a new one; an *empty* 残疾人证号 cell means the person holds
  none, so the current certificate is closed — but only when the column is in the file;
* a changed 家庭类别 closes the open family status (``end_date``) and opens a new one;
* 享受…补贴 = 是 creates, amends or resumes the enrolment in the current county, = 否 stops an
  enrolment that is not stopped; every such change writes one ``EnrolmentChange`` whose
  ``source`` is ``导入 #<ImportRecord id>``.  The transitions are those of
  :mod:`archive.people.enrolments` (stop from active or suspended, with a reason code — ``OTHER``,
  as a roster gives none; resume from suspended or stopped, with a note), done in bulk
  because its functions lock and write one enrolment at a time.

An optional column that is *absent* from the file leaves the stored value alone; a column that
is present with an empty cell sets the value to empty.  A clerk who exports only some columns
must not wipe the others.

Each row is counted once: ``created`` when its person was not in the database, ``updated``
when anything about the person, certificate, family status or the row's enrolments changed,
``unchanged`` otherwise — so importing the same file twice reports everything unchanged and
writes no history rows.

The package, one module per step (the names below are its public interface; the modules'
underscored names are private to the package):

* :mod:`~archive.imports.headers` — the roster's headers and :func:`match_headers`;
* :mod:`~archive.imports.results` — modes, :class:`RowError` / :class:`RowFlag`,
  :class:`ValidRow`, :class:`Validation`, :class:`ImportResult`;
* :mod:`~archive.imports.counties` — :class:`Counties`, :func:`load_counties`;
* :mod:`~archive.imports.validate` — :func:`validate_rows` (no database);
* :mod:`~archive.imports.plan` and :mod:`~archive.imports.write` — the plan of changes and
  writing it;
* :mod:`~archive.imports.flags` — storing, keeping and clearing the flags of the rows;
* :mod:`~archive.imports.run` — :func:`read_roster`, :func:`apply_validation`,
  :func:`import_beneficiaries`;
* :mod:`~archive.imports.rejected` — :func:`rejected_rows_xlsx`.
"""

from archive.imports.counties import Counties, load_counties
from archive.imports.headers import ALL_HEADERS, ID, NAME, REQUIRED_HEADERS, match_headers
from archive.imports.plan import CHUNK
from archive.imports.rejected import rejected_rows_xlsx
from archive.imports.results import (
    ATOMIC,
    FLAGGED_LABEL,
    KIND,
    OUTCOME_LABELS,
    SKIP_INVALID,
    ImportResult,
    Progress,
    RowError,
    RowFlag,
    Validation,
    ValidRow,
)
from archive.imports.run import apply_validation, file_sha256, import_beneficiaries, read_roster
from archive.imports.validate import validate_rows

__all__ = [
    "ALL_HEADERS",
    "ATOMIC",
    "CHUNK",
    "FLAGGED_LABEL",
    "ID",
    "KIND",
    "NAME",
    "OUTCOME_LABELS",
    "REQUIRED_HEADERS",
    "SKIP_INVALID",
    "Counties",
    "ImportResult",
    "Progress",
    "RowError",
    "RowFlag",
    "ValidRow",
    "Validation",
    "apply_validation",
    "file_sha256",
    "import_beneficiaries",
    "load_counties",
    "match_headers",
    "read_roster",
    "rejected_rows_xlsx",
    "validate_rows",
]
