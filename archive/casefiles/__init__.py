"""The standardized case file (补贴档案), one per beneficiary and county enrolment.

What every other part needs is imported from here; the parts are private modules:

- `checklist`: which document types a case file needs and its completeness (``refresh``);
- `opening`: which case file, opened when the person is enrolled, never by viewing a page;
- `catalogue`: the 卷内目录 as rows and as an A4 PDF;
- `export`: the whole file as a ZIP with a manifest of SHA-256s;
- `listing`: the list of case files, its filters and its sheet;

and beside them archival codes (档号), appraisal, integrity and the pages.
"""

from archive.casefiles.catalogue import (
    CatalogueRow,
    catalogue,
    catalogue_pdf,
    document_title,
    ordered_documents,
    responsible,
)
from archive.casefiles.checklist import (
    UNTYPED,
    UNTYPED_LABEL,
    checklist_lines,
    current_checklist,
    default_items,
    live_documents,
    refresh,
    refresh_all,
    type_choices,
    type_codes,
    type_name,
)
from archive.casefiles.export import AlteredOriginal, export_zip
from archive.casefiles.listing import export_rows, filter_case_files
from archive.casefiles.opening import (
    case_file_for,
    default_county,
    open_case_files,
    open_case_files_of,
    open_on_enrolment,
)

__all__ = [
    "UNTYPED",
    "UNTYPED_LABEL",
    "AlteredOriginal",
    "CatalogueRow",
    "case_file_for",
    "catalogue",
    "catalogue_pdf",
    "checklist_lines",
    "current_checklist",
    "default_county",
    "default_items",
    "document_title",
    "export_rows",
    "export_zip",
    "filter_case_files",
    "live_documents",
    "open_case_files",
    "open_case_files_of",
    "open_on_enrolment",
    "ordered_documents",
    "refresh",
    "refresh_all",
    "responsible",
    "type_choices",
    "type_codes",
    "type_name",
]
