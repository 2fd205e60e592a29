"""The comparison engine: every row of the findings table of docs/rules.md, with its edge cases."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.eligibility import SHANXI_2023
from core.numbers import id_check_char
from core.tabular import TableError, read_table
from review.engine import (
    BENEFICIARY_COLUMNS,
    RULES,
    Beneficiary,
    ComparisonResult,
    Finding,
    compare,
    diff_findings,
    finding_key,
    spool_roster,
    spool_roster_files,
    write_beneficiaries_csv,
)
from review.findings import CODES
from review.rosters import ROSTERS, ParsedRoster, header_spec, parse_roster

AS_OF = date(2026, 11, 30)
COUNTY = "140425"
NEIGHBOUR = "140426"
CITY = "140400"


def make_id(county: str = COUNTY, seq: str = "123", birth: str = "19800101") -> str:
    first = county + birth + seq
    return first + id_check_char(first)


ID = make_id()
ID2 = make_id(seq="125")
ID3 = make_id(seq="127")


def person(
    id_number: str = ID,
    *,
    cert: str | None = "41",
    living: bool = True,
    nursing: bool = True,
    county: str = COUNTY,
    **extra: Any,
) -> Beneficiary:
    """A beneficiary with a valid physical grade-1 certificate, receiving both subsidies."""
    cert_number = id_number + cert if cert else None
    fields: dict[str, Any] = {
        "id_number": id_number,
        "name": "张三",
        "division_code": county,
        "receives_living": living,
        "receives_nursing": nursing,
        "cert_number": cert_number,
        "category": int(cert[0]) if cert else None,
        "grade": int(cert[1]) if cert else None,
        "cert_long_term": True,
        "family_type": "低保",
        "enrolment_key": f"{county}-{id_number}",
    }
    fields.update(extra)
    return Beneficiary(**fields)


def roster(kind: str, *rows: dict[str, Any]) -> ParsedRoster:
    """A roster parsed through the real reader, from a CSV with the kind's headers."""
    headers = ROSTERS[kind].headers
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    table = read_table(buf.getvalue().encode(), f"{kind}.csv", spec=header_spec(kind))
    return parse_roster(kind, table)


def cert_row(
    id_number: str = ID,
    cert: str = "41",
    *,
    status: str = "正常",
    expiry: str = "长期",
    county: str = COUNTY,
    category: str | None = None,
    grade: str | None = None,
    name: str = "张三",
) -> dict[str, Any]:
    return {
        "姓名": name,
        "公民身份号码": id_number,
        "残疾人证号": id_number + cert,
        "残疾类别": category or cert[0],
        "残疾等级": grade or cert[1],
        "证件状态": status,
        "有效期至": expiry,
        "户籍区划代码": county,
    }


def assistance_row(
    id_number: str = ID, kind: str = "低保", start: str = "2020-01-01", end: str = ""
) -> dict[str, Any]:
    return {
        "姓名": "张三",
        "公民身份号码": id_number,
        "保障类别": kind,
        "开始日期": start,
        "终止日期": end,
    }


def period_row(
    kind: str, id_number: str = ID, start: str = "2020-01-01", end: str = "", **more: str
) -> dict[str, Any]:
    start_header, end_header = {
        "prison": ("入监日期", "出监日期"),
        "work_injury_care": ("开始日期", "终止日期"),
        "orphan": ("开始日期", "终止日期"),
    }[kind]
    return {"姓名": "张三", "公民身份号码": id_number, start_header: start, end_header: end, **more}


def run(
    beneficiaries: list[Beneficiary],
    *rosters: ParsedRoster,
    division: str = COUNTY,
    as_of: date = AS_OF,
    **kwargs: Any,
) -> ComparisonResult:
    return compare(
        beneficiaries, {r.kind: r for r in rosters}, as_of=as_of, division=division, **kwargs
    )


def found(result: ComparisonResult, code: str) -> list[Finding]:
    return [f for f in result.findings if f.code == code]


def only(result: ComparisonResult, code: str) -> Finding:
    hits = found(result, code)
    assert len(hits) == 1, hits
    return hits[0]


def codes(result: ComparisonResult) -> set[str]:
    return {f.code for f in result.findings}


# --------------------------------------------------------------------------------------------
# General behaviour


def test_every_code_of_the_findings_table_has_a_rule() -> None:
    assert tuple(rule.code for rule in RULES) == CODES
    assert len(CODES) == 16


def test_the_rules_sql_spells_no_finding_code_and_no_action() -> None:
    """Code and action are bound from core/codes.py, the one declaration of each."""
    import inspect

    from core.codes import ACTIONS
    from review.engine import rules

    source = inspect.getsource(rules)
    assert [c for c in (*CODES, *ACTIONS) if f"'{c}'" in source] == []


def test_clean_beneficiary_without_rosters_has_no_findings() -> None:
    result = run([person()])
    assert result.checked == 1
    assert result.findings == []


def test_missing_roster_rules_are_not_evaluated_and_raise_nothing() -> None:
    result = run([person(family_type="一般")])  # would be LEFT_ASSISTANCE with the roster
    not_evaluated = dict(result.not_evaluated)
    assert not_evaluated["DECEASED"] == ["death"]
    assert not_evaluated["LEFT_ASSISTANCE"] == ["assistance"]
    assert not_evaluated["ELIGIBLE_NOT_ENROLLED"] == ["cert_base"]
    assert "LEFT_ASSISTANCE" not in result.evaluated_rules
    assert "NO_CERTIFICATE" in result.evaluated_rules
    assert result.findings == []


def test_partially_supplied_policy_connection_rosters_are_reported_as_such() -> None:
    result = run([person()], roster("orphan"))
    assert "DUPLICATE_BENEFIT" in result.evaluated_rules
    assert ("DUPLICATE_BENEFIT", ["assistance", "work_injury_care"]) in result.not_evaluated


def test_beneficiaries_outside_the_division_are_not_checked() -> None:
    result = run(
        [person(), person(ID2, county=NEIGHBOUR)],
        roster("death", {"公民身份号码": ID2, "死亡日期": "2026-01-01"}),
    )
    assert result.checked == 1
    assert result.findings == []


def test_city_division_covers_its_counties_by_prefix() -> None:
    result = run(
        [person(), person(ID2, county=NEIGHBOUR), person(ID3, county="140500")], division=CITY
    )
    assert result.checked == 2


def test_township_division_code_on_record_belongs_to_its_county() -> None:
    result = run([person(division_code="140425101001")])
    assert result.checked == 1


def test_roster_rows_with_invalid_ids_are_reported_not_fatal() -> None:
    death = roster(
        "death",
        {"公民身份号码": "140425198001011239", "死亡日期": "2026-01-01"},
        {"公民身份号码": ID, "死亡日期": "2026-01-01"},
    )
    result = run([person()], death)
    assert only(result, "DECEASED").id_number == ID
    assert [(e.row, e.code) for e in result.roster_errors["death"]] == [(2, "ID_CHECKSUM")]


def test_invalid_division_is_refused() -> None:
    with pytest.raises(ValueError):
        run([person()], division="14")
    with pytest.raises(ValueError):
        compare([person()], {"pension": roster("death")}, as_of=AS_OF, division=COUNTY)  # type: ignore[dict-item]


def test_finding_json_shape_follows_the_cli_contract() -> None:
    result = run(
        [person()], roster("death", {"姓名": "张三", "公民身份号码": ID, "死亡日期": "2026-10-15"})
    )
    assert only(result, "DECEASED").to_dict() == {
        "id_number": ID,
        "name": "张三",
        "code": "DECEASED",
        "subsidy": "both",
        "action": "STOP",
        "event_date": "2026-10-15",
        "evidence": {"roster": "death", "row": 2, "values": {"死亡日期": "2026-10-15"}},
        "county_code": COUNTY,
        "note": None,
    }


# --------------------------------------------------------------------------------------------
# DECEASED


def test_death_on_reference_date_stops_each_received_subsidy() -> None:
    result = run([person()], roster("death", {"公民身份号码": ID, "死亡日期": "2026-11-30"}))
    finding = only(result, "DECEASED")
    assert (finding.subsidy, finding.action, finding.event_date) == ("both", "STOP", AS_OF)


def test_death_after_reference_date_is_not_yet_a_finding() -> None:
    result = run([person()], roster("death", {"公民身份号码": ID, "死亡日期": "2026-12-01"}))
    assert found(result, "DECEASED") == []


def test_death_concerns_only_the_subsidy_received() -> None:
    result = run(
        [person(nursing=False), person(ID2, living=False)],
        roster(
            "death",
            {"公民身份号码": ID, "死亡日期": "2026-01-01"},
            {"公民身份号码": ID2, "死亡日期": "2026-01-01"},
        ),
    )
    assert {f.id_number: f.subsidy for f in found(result, "DECEASED")} == {
        ID: "living",
        ID2: "nursing",
    }


def test_death_of_someone_receiving_nothing_is_no_finding() -> None:
    result = run(
        [person(living=False, nursing=False)],
        roster("death", {"公民身份号码": ID, "死亡日期": "2026-01-01"}),
    )
    assert found(result, "DECEASED") == []


def test_two_death_rows_give_one_finding_with_the_earliest_date() -> None:
    result = run(
        [person()],
        roster(
            "death",
            {"公民身份号码": ID, "死亡日期": "2026-03-01"},
            {"公民身份号码": ID, "死亡日期": "2026-02-01"},
        ),
    )
    finding = only(result, "DECEASED")
    assert (finding.event_date, finding.evidence.row) == (date(2026, 2, 1), 3)


def test_name_spelt_differently_in_roster_is_a_note_not_a_miss() -> None:
    result = run(
        [person()], roster("death", {"姓名": "张 叁", "公民身份号码": ID, "死亡日期": "2026-01-01"})
    )
    finding = only(result, "DECEASED")
    assert finding.note is not None and "张 叁" in finding.note
    same = run(
        [person()], roster("death", {"姓名": "张 三", "公民身份号码": ID, "死亡日期": "2026-01-01"})
    )
    assert only(same, "DECEASED").note is None


@pytest.mark.parametrize("space", ["\u3000", "\xa0", "\t", "\u2009"])
def test_a_name_differing_only_by_whitespace_of_any_kind_is_the_same_name(space: str) -> None:
    result = run(
        [person()],
        roster("death", {"姓名": f"张{space}三", "公民身份号码": ID, "死亡日期": "2026-01-01"}),
    )
    assert only(result, "DECEASED").note is None


def test_dead_person_with_expired_certificate_gets_both_findings() -> None:
    result = run(
        [person(cert_long_term=False, cert_expiry=date(2025, 1, 1))],
        roster("death", {"公民身份号码": ID, "死亡日期": "2026-01-01"}),
    )
    assert {"DECEASED", "CERT_EXPIRED"} <= codes(result)


# --------------------------------------------------------------------------------------------
# HUKOU_MOVED


def hukou(date_text: str, destination: str, id_number: str = ID) -> dict[str, Any]:
    return {"公民身份号码": id_number, "迁出日期": date_text, "迁入地区划代码": destination}


def test_move_to_another_county_on_reference_date_stops_each_received_subsidy() -> None:
    result = run([person(living=False)], roster("hukou_out", hukou("2026-11-30", "110105")))
    finding = only(result, "HUKOU_MOVED")
    assert (finding.subsidy, finding.action, finding.event_date) == ("nursing", "STOP", AS_OF)
    assert finding.evidence.values == {"迁出日期": "2026-11-30", "迁入地区划代码": "110105"}


def test_move_within_the_same_county_is_no_finding() -> None:
    result = run([person()], roster("hukou_out", hukou("2026-05-01", "140425101001")))
    assert found(result, "HUKOU_MOVED") == []


def test_move_after_reference_date_is_not_yet_a_finding() -> None:
    result = run([person()], roster("hukou_out", hukou("2026-12-01", "110105")))
    assert found(result, "HUKOU_MOVED") == []


def test_the_latest_move_says_where_the_person_lives_now() -> None:
    moved_back = roster("hukou_out", hukou("2025-01-01", "110105"), hukou("2026-01-01", "140425"))
    assert found(run([person()], moved_back), "HUKOU_MOVED") == []
    moved_away = roster("hukou_out", hukou("2025-01-01", "140425"), hukou("2026-01-01", "110105"))
    assert only(run([person()], moved_away), "HUKOU_MOVED").evidence.row == 3


def test_move_to_a_neighbouring_county_within_the_city_still_stops_the_enrolment() -> None:
    result = run([person()], roster("hukou_out", hukou("2026-01-01", NEIGHBOUR)), division=CITY)
    assert only(result, "HUKOU_MOVED").county_code == COUNTY


# --------------------------------------------------------------------------------------------
# NO_CERTIFICATE and CERT_CHANGED


def test_without_cert_base_no_recorded_certificate_stops_each_received_subsidy() -> None:
    result = run([person(cert=None)])
    finding = only(result, "NO_CERTIFICATE")
    assert (finding.subsidy, finding.action) == ("both", "STOP")
    assert finding.evidence.roster is None


def test_with_cert_base_absence_from_the_base_is_no_certificate_even_if_one_is_recorded() -> None:
    result = run([person(), person(ID2)], roster("cert_base", cert_row(ID2)))
    finding = only(result, "NO_CERTIFICATE")
    assert finding.id_number == ID
    assert (finding.evidence.roster, finding.evidence.row) == ("cert_base", None)


def test_person_in_cert_base_without_recorded_certificate_is_cert_changed_not_no_certificate() -> (
    None
):
    result = run([person(cert=None)], roster("cert_base", cert_row()))
    assert found(result, "NO_CERTIFICATE") == []
    finding = only(result, "CERT_CHANGED")
    assert (finding.subsidy, finding.action, finding.evidence.row) == (None, "FIX_DATA", 2)


def test_same_certificate_in_cert_base_is_no_change_and_reissue_suffix_is_ignored() -> None:
    result = run([person(cert_number=ID + "41B1")], roster("cert_base", cert_row()))
    assert result.findings == []


def test_reassessed_certificate_is_cert_changed_and_later_rules_use_cert_base_values() -> None:
    # Recorded physical grade 1; re-assessed to physical grade 3, which no longer qualifies.
    result = run([person(cert="41")], roster("cert_base", cert_row(cert="43")))
    assert codes(result) == {"CERT_CHANGED", "GRADE_INSUFFICIENT"}
    grade = only(result, "GRADE_INSUFFICIENT")
    assert (grade.evidence.roster, grade.evidence.values["残疾人证号"]) == ("cert_base", ID + "43")


def test_reassessed_to_a_qualifying_grade_clears_grade_insufficient() -> None:
    assert codes(run([person(cert="43")])) == {"GRADE_INSUFFICIENT"}
    result = run([person(cert="43")], roster("cert_base", cert_row(cert="42")))
    assert codes(result) == {"CERT_CHANGED"}


def test_cert_base_expiry_overrides_the_recorded_one() -> None:
    recorded_ok = person(cert_long_term=True)
    result = run([recorded_ok], roster("cert_base", cert_row(expiry="2026-01-01")))
    finding = only(result, "CERT_EXPIRED")
    assert (finding.evidence.roster, finding.event_date) == ("cert_base", date(2026, 1, 1))
    recorded_expired = person(cert_long_term=False, cert_expiry=date(2020, 1, 1))
    assert found(run([recorded_expired], roster("cert_base", cert_row())), "CERT_EXPIRED") == []


# --------------------------------------------------------------------------------------------
# CERT_CANCELLED, CERT_FROZEN


def test_cancelled_certificate_stops_each_received_subsidy() -> None:
    result = run([person(nursing=False)], roster("cert_base", cert_row(status="注销")))
    finding = only(result, "CERT_CANCELLED")
    assert (finding.subsidy, finding.action) == ("living", "STOP")


def test_frozen_certificate_warns() -> None:
    result = run([person()], roster("cert_base", cert_row(status="冻结")))
    finding = only(result, "CERT_FROZEN")
    assert (finding.subsidy, finding.action) == ("both", "WARN")


def test_a_current_certificate_beats_an_old_cancelled_row() -> None:
    result = run(
        [person()],
        roster("cert_base", cert_row(status="正常"), cert_row(cert="43", status="注销")),
    )
    assert result.findings == []


# --------------------------------------------------------------------------------------------
# CERT_EXPIRED, CERT_EXPIRING


def expiring(expiry: date | None, *, long_term: bool = False) -> ComparisonResult:
    return run([person(cert_expiry=expiry, cert_long_term=long_term)])


def test_expiry_before_reference_date_stops_each_received_subsidy() -> None:
    finding = only(expiring(date(2026, 11, 29)), "CERT_EXPIRED")
    assert (finding.subsidy, finding.action, finding.event_date) == (
        "both",
        "STOP",
        date(2026, 11, 29),
    )
    assert finding.evidence.roster is None
    assert finding.evidence.values["证件有效期至"] == "2026-11-29"


def test_expiry_on_reference_date_is_expiring_not_expired() -> None:
    result = expiring(AS_OF)
    assert codes(result) == {"CERT_EXPIRING"}
    assert only(result, "CERT_EXPIRING").action == "WARN"


def test_expiry_exactly_90_days_ahead_is_expiring_and_91_is_not() -> None:
    assert codes(expiring(date(2027, 2, 28))) == {"CERT_EXPIRING"}  # AS_OF + 90 days
    assert codes(expiring(date(2027, 3, 1))) == set()


def test_long_term_and_unknown_expiry_never_expire() -> None:
    assert expiring(None, long_term=True).findings == []
    assert expiring(None).findings == []


def test_long_term_in_cert_base_is_never_expiring() -> None:
    result = run(
        [person(cert_long_term=False, cert_expiry=AS_OF)],
        roster("cert_base", cert_row(expiry="长期")),
    )
    assert result.findings == []


def test_expiring_window_is_configurable() -> None:
    rules = replace(SHANXI_2023, expiring_days=30)
    assert (
        codes(run([person(cert_long_term=False, cert_expiry=date(2027, 1, 15))], rules=rules))
        == set()
    )


def test_expired_certificate_of_someone_receiving_nothing_is_no_finding() -> None:
    result = run(
        [person(living=False, nursing=False, cert_long_term=False, cert_expiry=date(2020, 1, 1))]
    )
    assert result.findings == []


# --------------------------------------------------------------------------------------------
# GRADE_INSUFFICIENT


def test_grade_3_intellectual_qualifies_for_nursing_and_grade_3_physical_does_not() -> None:
    result = run([person(ID, cert="53"), person(ID2, cert="43"), person(ID3, cert="63")])
    finding = only(result, "GRADE_INSUFFICIENT")
    assert (finding.id_number, finding.subsidy, finding.action) == (ID2, "nursing", "STOP")
    assert finding.evidence.values == {
        "残疾人证号": ID2 + "43",
        "残疾类别": "肢体残疾",
        "残疾等级": "三级",
    }


def test_grade_4_mental_qualifies_and_multiple_grade_3_does_not() -> None:
    result = run([person(ID, cert="64"), person(ID2, cert="73")])
    assert [f.id_number for f in found(result, "GRADE_INSUFFICIENT")] == [ID2]


def test_grade_insufficient_only_concerns_nursing_recipients() -> None:
    assert run([person(cert="44", nursing=False)]).findings == []


def test_grade_follows_the_certificate_number_not_the_recorded_columns() -> None:
    # Recorded grade 1 but the number says grade 3: the number wins, and the record is flagged.
    result = run([person(cert="43", grade=1)])
    assert codes(result) == {"GRADE_INSUFFICIENT", "CERT_CODE_MISMATCH"}


# --------------------------------------------------------------------------------------------
# LEFT_ASSISTANCE


def test_living_recipient_without_any_assistance_entry_left_assistance() -> None:
    result = run([person()], roster("assistance", assistance_row(ID2)))
    finding = only(result, "LEFT_ASSISTANCE")
    assert (finding.subsidy, finding.action, finding.event_date) == ("living", "STOP", None)
    assert (finding.evidence.roster, finding.evidence.row) == ("assistance", None)


def test_assistance_ended_before_reference_date_is_left_with_its_end_date() -> None:
    result = run([person()], roster("assistance", assistance_row(end="2026-11-29")))
    finding = only(result, "LEFT_ASSISTANCE")
    assert (finding.event_date, finding.evidence.row) == (date(2026, 11, 29), 2)


def test_assistance_ending_on_reference_date_is_still_active() -> None:
    assert run([person()], roster("assistance", assistance_row(end="2026-11-30"))).findings == []


def test_assistance_starting_on_reference_date_is_active_and_after_it_is_not() -> None:
    assert run([person()], roster("assistance", assistance_row(start="2026-11-30"))).findings == []
    late = run([person()], roster("assistance", assistance_row(start="2026-12-01")))
    assert codes(late) == {"LEFT_ASSISTANCE"}


def test_near_minimum_list_counts_as_assistance() -> None:
    assert run([person()], roster("assistance", assistance_row(kind="低保边缘"))).findings == []


def test_nursing_only_recipient_needs_no_assistance() -> None:
    assert run([person(living=False)], roster("assistance")).findings == []


# --------------------------------------------------------------------------------------------
# DUPLICATE_BENEFIT and IMPRISONED


def test_destitute_support_in_assistance_roster_is_duplicate_benefit_for_both() -> None:
    result = run([person()], roster("assistance", assistance_row(kind="特困", start="2025-03-01")))
    finding = only(result, "DUPLICATE_BENEFIT")
    assert (finding.subsidy, finding.action, finding.event_date) == (
        "both",
        "STOP",
        date(2025, 3, 1),
    )
    assert finding.evidence.roster == "assistance"
    assert codes(result) == {"DUPLICATE_BENEFIT", "LEFT_ASSISTANCE"}


def test_work_injury_care_excludes_both_subsidies() -> None:
    result = run(
        [person(nursing=False)], roster("work_injury_care", period_row("work_injury_care"))
    )
    finding = only(result, "DUPLICATE_BENEFIT")
    assert (finding.subsidy, finding.evidence.roster) == ("living", "work_injury_care")


def test_orphan_support_excludes_living_but_allows_nursing() -> None:
    orphan = roster("orphan", period_row("orphan", 保障类型="孤儿"))
    assert only(run([person()], orphan), "DUPLICATE_BENEFIT").subsidy == "living"
    assert run([person(living=False)], orphan).findings == []


def test_ended_benefit_is_no_duplicate_and_end_on_reference_date_still_is() -> None:
    ended = roster("work_injury_care", period_row("work_injury_care", end="2026-11-29"))
    assert run([person()], ended).findings == []
    on_day = roster("work_injury_care", period_row("work_injury_care", end="2026-11-30"))
    assert codes(run([person()], on_day)) == {"DUPLICATE_BENEFIT"}


def test_each_excluding_roster_gives_its_own_finding() -> None:
    result = run(
        [person()],
        roster("work_injury_care", period_row("work_injury_care")),
        roster("orphan", period_row("orphan", 保障类型="孤儿")),
    )
    assert sorted(f.evidence.roster for f in found(result, "DUPLICATE_BENEFIT")) == [
        "orphan",
        "work_injury_care",
    ]


def test_policy_connection_is_configurable() -> None:
    rules = replace(
        SHANXI_2023,
        exclusions={
            **SHANXI_2023.exclusions,
            "orphan": {"living": "excluded", "nursing": "excluded"},
        },
    )
    result = run([person()], roster("orphan", period_row("orphan", 保障类型="孤儿")), rules=rules)
    assert only(result, "DUPLICATE_BENEFIT").subsidy == "both"


def test_serving_a_sentence_suspends_each_received_subsidy() -> None:
    result = run([person()], roster("prison", period_row("prison", start="2026-11-30")))
    finding = only(result, "IMPRISONED")
    assert (finding.subsidy, finding.action, finding.event_date) == ("both", "SUSPEND", AS_OF)


def test_released_before_reference_date_is_no_finding_and_released_on_it_still_is() -> None:
    assert run([person()], roster("prison", period_row("prison", end="2026-11-29"))).findings == []
    assert codes(run([person()], roster("prison", period_row("prison", end="2026-11-30")))) == {
        "IMPRISONED"
    }


def test_sentence_starting_after_reference_date_is_no_finding() -> None:
    assert (
        run([person()], roster("prison", period_row("prison", start="2026-12-01"))).findings == []
    )


# --------------------------------------------------------------------------------------------
# DUPLICATE_ENROLMENT


def test_person_enrolled_in_two_counties_at_city_level_stops_all_but_one() -> None:
    result = run(
        [
            person(start_month=date(2020, 1, 1)),
            person(county=NEIGHBOUR, start_month=date(2022, 6, 1)),
        ],
        division=CITY,
    )
    finding = only(result, "DUPLICATE_ENROLMENT")
    assert (finding.county_code, finding.subsidy, finding.action) == (NEIGHBOUR, "both", "STOP")
    assert finding.enrolment_key == f"{NEIGHBOUR}-{ID}"
    assert finding.evidence.values == {"户籍区划代码": NEIGHBOUR, "保留登记的户籍区划代码": COUNTY}


def test_the_enrolment_in_the_cert_base_county_is_kept() -> None:
    result = run(
        [
            person(start_month=date(2020, 1, 1)),
            person(county=NEIGHBOUR, start_month=date(2022, 6, 1)),
        ],
        roster("cert_base", cert_row(county=NEIGHBOUR)),
        division=CITY,
    )
    assert only(result, "DUPLICATE_ENROLMENT").county_code == COUNTY


def test_duplicate_enrolment_is_invisible_at_county_level() -> None:
    assert run([person(), person(county=NEIGHBOUR)]).findings == []


def test_an_enrolment_that_pays_nothing_is_no_duplicate() -> None:
    result = run([person(), person(county=NEIGHBOUR, living=False, nursing=False)], division=CITY)
    assert result.findings == []


def test_three_counties_give_two_duplicate_findings() -> None:
    result = run([person(), person(county=NEIGHBOUR), person(county="140427")], division=CITY)
    assert sorted(f.county_code for f in found(result, "DUPLICATE_ENROLMENT")) == [
        NEIGHBOUR,
        "140427",
    ]


# --------------------------------------------------------------------------------------------
# ELIGIBLE_NOT_ENROLLED


def test_holder_not_in_beneficiary_list_eligible_for_both_is_notified_with_cert_base_evidence() -> (
    None
):
    result = run(
        [person()],
        roster("cert_base", cert_row(), cert_row(ID2, "12", name="李四")),
        roster("assistance", assistance_row(), assistance_row(ID2)),
    )
    finding = only(result, "ELIGIBLE_NOT_ENROLLED")
    assert (finding.id_number, finding.name, finding.subsidy, finding.action) == (
        ID2,
        "李四",
        "both",
        "NOTIFY",
    )
    assert (finding.evidence.roster, finding.evidence.row, finding.county_code) == (
        "cert_base",
        3,
        COUNTY,
    )
    assert finding.enrolment_key is None


def test_holder_eligible_for_living_only_when_grade_does_not_qualify_for_nursing() -> None:
    result = run(
        [], roster("cert_base", cert_row(cert="44")), roster("assistance", assistance_row())
    )
    assert only(result, "ELIGIBLE_NOT_ENROLLED").subsidy == "living"


def test_without_assistance_roster_only_nursing_is_evaluated() -> None:
    result = run([], roster("cert_base", cert_row(cert="11")))
    assert only(result, "ELIGIBLE_NOT_ENROLLED").subsidy == "nursing"
    assert ("ELIGIBLE_NOT_ENROLLED", ["assistance"]) in result.not_evaluated


def test_beneficiary_receiving_one_subsidy_is_notified_of_the_other() -> None:
    result = run(
        [person(nursing=False)],
        roster("cert_base", cert_row()),
        roster("assistance", assistance_row()),
    )
    finding = only(result, "ELIGIBLE_NOT_ENROLLED")
    assert (finding.subsidy, finding.enrolment_key) == ("nursing", f"{COUNTY}-{ID}")


def test_enrolled_in_another_county_of_the_input_counts_as_receiving() -> None:
    result = run(
        [person(county=NEIGHBOUR)],
        roster("cert_base", cert_row()),
        roster("assistance", assistance_row()),
    )
    assert result.checked == 0
    assert result.findings == []


@pytest.mark.parametrize(
    ("row", "extra"),
    [
        (cert_row(ID2, status="注销"), ()),
        (cert_row(ID2, status="冻结"), ()),
        (cert_row(ID2, expiry="2026-11-29"), ()),
        (cert_row(ID2, county="110105"), ()),
        (cert_row(ID2), ("death",)),
        (cert_row(ID2), ("hukou_out",)),
        (cert_row(ID2), ("prison",)),
        (cert_row(ID2), ("assistance_tekun",)),
    ],
    ids=["cancelled", "frozen", "expired", "elsewhere", "dead", "moved", "prison", "destitute"],
)
def test_holder_who_would_not_qualify_is_not_notified(
    row: dict[str, Any], extra: tuple[str, ...]
) -> None:
    rosters = [roster("cert_base", row)]
    assistance = [assistance_row(ID2)]
    if "death" in extra:
        rosters.append(roster("death", {"公民身份号码": ID2, "死亡日期": "2026-01-01"}))
    if "hukou_out" in extra:
        rosters.append(roster("hukou_out", hukou("2026-01-01", "110105", ID2)))
    if "prison" in extra:
        rosters.append(roster("prison", period_row("prison", ID2)))
    if "assistance_tekun" in extra:
        assistance.append(assistance_row(ID2, kind="特困"))
    rosters.append(roster("assistance", *assistance))
    assert found(run([], *rosters), "ELIGIBLE_NOT_ENROLLED") == []


def test_expiry_on_reference_date_still_counts_as_valid_for_notification() -> None:
    result = run([], roster("cert_base", cert_row(ID2, expiry="2026-11-30")))
    assert only(result, "ELIGIBLE_NOT_ENROLLED").subsidy == "nursing"


def test_orphan_holder_is_notified_of_nursing_only() -> None:
    result = run(
        [],
        roster("cert_base", cert_row(ID2)),
        roster("assistance", assistance_row(ID2)),
        roster("orphan", period_row("orphan", ID2, 保障类型="孤儿")),
    )
    assert only(result, "ELIGIBLE_NOT_ENROLLED").subsidy == "nursing"


# --------------------------------------------------------------------------------------------
# CERT_ID_MISMATCH, CERT_CODE_MISMATCH


def test_recorded_certificate_of_someone_else_is_cert_id_mismatch() -> None:
    result = run([person(cert_number=ID2 + "41")])
    finding = only(result, "CERT_ID_MISMATCH")
    assert (finding.subsidy, finding.action, finding.evidence.roster) == (None, "FIX_DATA", None)
    assert finding.evidence.values == {"公民身份号码": ID, "残疾人证号": ID2 + "41"}


def test_cert_base_certificate_embedding_another_id_is_cert_id_mismatch() -> None:
    row = cert_row() | {"残疾人证号": ID2 + "41"}
    result = run([person(cert=None)], roster("cert_base", row))
    assert only(result, "CERT_ID_MISMATCH").evidence.roster == "cert_base"


def test_recorded_grade_differing_from_certificate_number_is_cert_code_mismatch() -> None:
    result = run([person(cert="41", category=4, grade=2)])
    finding = only(result, "CERT_CODE_MISMATCH")
    assert finding.evidence.values == {
        "残疾人证号": ID + "41",
        "残疾类别": "肢体残疾",
        "残疾等级": "二级",
    }


def test_cert_base_columns_differing_from_its_number_is_cert_code_mismatch() -> None:
    result = run([person()], roster("cert_base", cert_row(category="5")))
    finding = only(result, "CERT_CODE_MISMATCH")
    assert (finding.evidence.roster, finding.subsidy) == ("cert_base", None)


def test_fix_data_findings_are_raised_even_when_nothing_is_received() -> None:
    result = run([person(living=False, nursing=False, cert_number=ID2 + "41")])
    assert codes(result) == {"CERT_ID_MISMATCH"}


# --------------------------------------------------------------------------------------------
# Inputs from files, and diffs between runs


def test_file_inputs_give_the_same_findings_as_memory_inputs(tmp_path: Path) -> None:
    people = [person(), person(ID2, cert="43")]
    death_csv = f"姓名,公民身份号码,死亡日期\n张三,{ID},2026-01-01\n".encode()
    table = read_table(death_csv, "death.csv", spec=header_spec("death"))
    in_memory = run(people, parse_roster("death", table))
    path = tmp_path / "b.csv"
    assert write_beneficiaries_csv(people, path) == 2
    spooled = spool_roster("death", table, tmp_path / "death.parsed.parquet")
    from_files = compare(path, {"death": spooled}, as_of=AS_OF, division=COUNTY)
    assert [f.to_dict() for f in from_files.findings] == [f.to_dict() for f in in_memory.findings]
    assert codes(from_files) == {"DECEASED", "GRADE_INSUFFICIENT"}


def test_the_findings_file_holds_every_finding_as_the_objects_give_it(tmp_path: Path) -> None:
    """The file a run on PostgreSQL stores: one row per finding, ``ord`` the report order,
    the key of ``finding_key``, the evidence as JSON, NULL an empty cell and '' a quoted one."""
    import json

    from review.engine import FINDING_FILE_COLUMNS

    people = [
        person(name="张三"),
        person(ID2, cert="43", cert_long_term=False, cert_expiry=date(2026, 1, 31)),
        person(ID3, cert=None, nursing=False),
    ]
    rosters = [
        roster("death", {"姓名": "张 叁", "公民身份号码": ID, "死亡日期": "2026-01-01"}),
        roster(
            "cert_base",
            cert_row(),
            cert_row(ID2, "43", expiry="2026-01-31"),
            cert_row(make_id(seq="129"), "41", name="李四"),
        ),
    ]
    listed = run(people, *rosters).findings
    path = tmp_path / "findings.csv"
    written = run(people, *rosters, findings_file=path)
    assert written.findings == [] and written.finding_count == len(listed) >= 5
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == FINDING_FILE_COLUMNS
        rows = sorted((dict(zip(FINDING_FILE_COLUMNS, r, strict=True)) for r in reader),
                      key=lambda r: int(r["ord"]))  # fmt: skip
    raw = path.read_text(encoding="utf-8")
    assert len(rows) == len(listed)
    assert {f.code for f in listed} >= {"DECEASED", "CERT_EXPIRED", "ELIGIBLE_NOT_ENROLLED"}
    for finding, row in zip(listed, rows, strict=True):
        assert row["key"] == finding_key(finding)
        assert json.loads(row["evidence"]) == finding.evidence.to_dict()
        assert (row["id_number"], row["name"], row["code"], row["action"]) == (
            finding.id_number,
            finding.name,
            finding.code,
            finding.action,
        )
        assert row["subsidy"] == (finding.subsidy or "")
        assert row["event_date"] == (finding.event_date.isoformat() if finding.event_date else "")
        assert row["note"] == (finding.note or "")
        assert (row["county_code"], row["enrolment_key"]) == (
            finding.county_code,
            finding.enrolment_key or "",
        )
    # The holder no one pays has no enrolment: NULL, an unquoted empty cell.
    assert ',"ELIGIBLE_NOT_ENROLLED"' not in raw and ",,ELIGIBLE_NOT_ENROLLED," in raw


def test_beneficiaries_as_plain_tuples_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    write_beneficiaries_csv([person(cert=None).as_row()], path)
    assert codes(compare(path, {}, as_of=AS_OF, division=COUNTY)) == {"NO_CERTIFICATE"}


def test_findings_are_diffed_between_runs_by_key() -> None:
    first = run(
        [person(), person(ID2, cert="43")],
        roster("death", {"公民身份号码": ID, "死亡日期": "2026-01-01"}),
    )
    second = run(
        [person(ID2, cert="43"), person(ID3, cert=None)],
        roster("death", {"公民身份号码": ID, "死亡日期": "2026-01-01"}),
    )
    diff = diff_findings(first.findings, second.findings)
    assert [f.code for f in diff.new] == ["NO_CERTIFICATE"]
    assert [f.code for f in diff.still_open] == ["GRADE_INSUFFICIENT"]
    assert diff.resolved == [f"DECEASED|{ID}|{COUNTY}|death"]


def test_finding_key_ignores_row_numbers_and_accepts_stored_json() -> None:
    a = run([person()], roster("death", {"公民身份号码": ID, "死亡日期": "2026-01-01"}))
    b = run(
        [person()],
        roster(
            "death",
            {"公民身份号码": ID2, "死亡日期": "2026-01-01"},
            {"公民身份号码": ID, "死亡日期": "2026-01-01"},
        ),
    )
    fa, fb = only(a, "DECEASED"), only(b, "DECEASED")
    assert fa.evidence.row != fb.evidence.row
    assert finding_key(fa) == finding_key(fb) == finding_key(fa.to_dict()) == fa.key
    assert diff_findings([fa.key], [fb]).still_open == [fb]


def test_findings_are_ordered_by_county_person_and_table_order() -> None:
    result = run(
        [person(ID2, cert=None), person(cert_long_term=False, cert_expiry=date(2020, 1, 1))],
        roster("death", {"公民身份号码": ID, "死亡日期": "2026-01-01"}),
    )
    assert [(f.id_number, f.code) for f in result.findings] == [
        (ID, "DECEASED"),
        (ID, "CERT_EXPIRED"),
        (ID2, "NO_CERTIFICATE"),
    ]


def test_roster_files_are_spooled_in_worker_processes(tmp_path: Path) -> None:
    death = tmp_path / "death.csv"
    death.write_text(f"姓名,公民身份号码,死亡日期\n张三,{ID},2026-01-01\n李四,123,2026-01-01\n")
    prison = tmp_path / "prison.csv"
    prison.write_text(
        f"姓名,公民身份号码,入监日期,出监日期\n张三,{ID},2026-01-01,\n", encoding="gb18030"
    )
    spooled = spool_roster_files({"death": death, "prison": prison}, tmp_path, workers=2)
    assert [(e.row, e.code) for e in spooled["death"].errors] == [(3, "ID_LENGTH")]
    result = compare([person()], spooled, as_of=AS_OF, division=COUNTY)
    assert codes(result) == {"DECEASED", "IMPRISONED"}
    assert result.roster_errors["death"][0].column == "公民身份号码"


def test_a_bad_roster_file_fails_before_anything_is_compared(tmp_path: Path) -> None:
    pdf = tmp_path / "death.xlsx"
    pdf.write_bytes(b"%PDF-1.4\n")
    other = tmp_path / "prison.csv"
    other.write_text("姓名,公民身份号码,入监日期,出监日期\n")
    with pytest.raises(TableError) as err:
        spool_roster_files({"death": pdf, "prison": other}, tmp_path, workers=2)
    assert err.value.code == "TABLE_FORMAT"


def test_beneficiaries_from_parquet_are_accepted(tmp_path: Path) -> None:
    import duckdb

    csv_path, parquet_path = tmp_path / "b.csv", tmp_path / "b.parquet"
    write_beneficiaries_csv([person(cert=None)], csv_path)
    duckdb.sql(
        "SELECT * FROM read_csv($csv, header = true, columns = $columns)",
        params={"csv": str(csv_path), "columns": BENEFICIARY_COLUMNS},
    ).write_parquet(str(parquet_path))
    assert codes(compare(parquet_path, {}, as_of=AS_OF, division=COUNTY)) == {"NO_CERTIFICATE"}


def _read_spool(path: Path, kind: str) -> list[tuple[Any, ...]]:
    """The rows of a parsed roster file as the engine loads them, in row order."""
    import duckdb

    from review.engine.inputs import _load_roster

    con = duckdb.connect()
    try:
        _load_roster(con, kind, path, relevant_only=False)
        return con.table(f"r_{kind}").order("row").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("kind", "fmt"), [("cert_base", "csv"), ("orphan", "csv"), ("death", "xlsx")]
)
def test_spooled_roster_holds_the_rows_of_the_per_row_parse(
    tmp_path: Path, kind: str, fmt: str
) -> None:
    from review.engine.inputs import _write_roster_csv
    from review.rosters import parse_roster_by_row
    from tests.review.test_rosters import hostile_rows, roster_csv, roster_xlsx

    rows = hostile_rows(kind, 400, seed=3)
    data = roster_csv(kind, rows) if fmt == "csv" else roster_xlsx(kind, rows)
    table = read_table(data, f"r.{fmt}", spec=header_spec(kind))
    spooled = spool_roster(kind, table, tmp_path / "setwise.parquet")
    reference = parse_roster_by_row(kind, table)
    _write_roster_csv(kind, reference.rows, tmp_path / "by_row.csv")
    assert spooled.row_count == len(reference.rows) > 0
    assert spooled.errors == reference.errors
    assert _read_spool(tmp_path / "setwise.parquet", kind) == _read_spool(
        tmp_path / "by_row.csv", kind
    )


def test_a_parsed_roster_file_is_current_only_with_this_engines_columns_and_types(
    tmp_path: Path,
) -> None:
    import duckdb

    from review.engine import spool_is_current

    table = read_table(
        f"姓名,公民身份号码,死亡日期\n张三,{ID},2026-01-01\n".encode(),
        "d.csv",
        spec=header_spec("death"),
    )
    current = spool_roster("death", table, tmp_path / "death.parquet").path
    assert spool_is_current(current, "death")
    assert not spool_is_current(current, "cert_base")  # another kind's columns
    assert not spool_is_current(tmp_path / "missing.parquet", "death")
    con = duckdb.connect()
    retyped = tmp_path / "retyped.parquet"
    con.execute(
        "COPY (SELECT * REPLACE (CAST(event_date AS VARCHAR) AS event_date) "
        "FROM read_parquet($src)) TO $dst (FORMAT parquet)",
        {"src": str(current), "dst": str(retyped)},
    )
    con.close()
    assert not spool_is_current(retyped, "death")  # a date written as text
