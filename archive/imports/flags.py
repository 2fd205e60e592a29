"""Storing the flags of an import's rows as :class:`~archive.models.DataFlag` rows.

A flag is kept with the record until an import says otherwise: the same problem in a later
file keeps the open flag (no duplicate), a row that no longer has it clears it
(``cleared_at``, ``cleared_by``).  Only what the file speaks about is judged: the person flags
of its people, and the subsidy flags of the enrolments in the counties of its rows.  Person
flags come from the last row of an ID, the row whose facts the person keeps.
"""

from __future__ import annotations

from datetime import datetime

from archive.imports.plan import CHUNK, EnrolmentKey, PersonKey, _chunks, _member_of
from archive.imports.results import RowFlag, Validation
from archive.imports.write import _Writer
from archive.models import DataFlag, ImportRecord
from core.codes import FLAGS

#: (person pk, enrolment pk or None, code)
FlagKey = tuple[int, int | None, str]


def sync_flags(
    validation: Validation,
    record: ImportRecord,
    *,
    people: dict[PersonKey, int],
    enrolments: dict[EnrolmentKey, int],
    known: set[int],
    now: datetime,
) -> None:
    """Raise the flags of the written rows and clear those their rows no longer have.

    ``people`` and ``enrolments`` map the file's keys to pks (what :func:`_write` returns);
    ``known`` holds the pks of people who existed before the import (only they can have open
    flags).
    """
    rows = {row.row: row for row in validation.rows}
    last = {row.id_number: row.row for row in validation.rows}
    wanted: dict[FlagKey, RowFlag] = {}
    for flag in validation.flags:
        row = rows[flag.row]
        person = people[row.id_number]
        if FLAGS[flag.code].of_person:
            if last[row.id_number] == row.row:
                wanted[(person, None, flag.code)] = flag
        else:
            enrolment = enrolments[(row.id_number, flag.subsidy, row.county)]
            wanted[(person, enrolment, flag.code)] = flag
    in_file = {
        enrolments[key]
        for row in validation.rows
        for subsidy in ("living", "nursing")
        if (key := (row.id_number, subsidy, row.county)) in enrolments
    }

    open_flags: dict[FlagKey, int] = {}
    for chunk in _chunks(sorted(known), CHUNK):
        for pk, person, enrolment, code in (
            DataFlag.objects.open()
            .filter(_member_of("person_id", chunk))
            .values_list("id", "person_id", "enrolment_id", "code")
        ):
            if enrolment is None or enrolment in in_file:
                open_flags[(person, enrolment, code)] = pk
    cleared = [pk for key, pk in open_flags.items() if key not in wanted]
    for chunk in _chunks(cleared, CHUNK):
        DataFlag.objects.filter(_member_of("pk", chunk)).update(cleared_at=now, cleared_by=record)
    # By COPY on PostgreSQL (the ORM's bulk_create took a tenth of a first import of 100 000
    # rows, half of them flagged: docs/benchmarks.md), bulk statements elsewhere.
    _Writer(now, None, 0).insert(
        DataFlag,
        [
            {
                "person_id": person,
                "enrolment_id": enrolment,
                "code": code,
                "column": flag.column,
                "message": flag.message[:255],
                "raised_by_id": record.pk,
                "raised_at": now,
            }
            for (person, enrolment, code), flag in wanted.items()
            if (person, enrolment, code) not in open_flags
        ],
        ids=False,
    )
