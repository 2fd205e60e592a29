"""The rules of ``docs/rules.md`` as SQL, one entry per finding code (``core/codes.py`` holds
its label, the rosters it needs and the action it asks): which rules a run can evaluate, the
tables they read and the statements that insert their findings into table ``f``."""

from __future__ import annotations

import duckdb

from core.codes import FINDING_CODES, FindingCode
from core.eligibility import ALLOWED, EXCLUDED, SUSPENDED, RuleSet
from review.engine.inputs import _BENEFIT_ROSTERS

#: Every row of the findings table (core/codes.py), in its order; the SQL of each is in
#: ``_RULE_SQL``, and this table drives what is evaluated.
RULES: tuple[FindingCode, ...] = FINDING_CODES
_BY_CODE: dict[str, FindingCode] = {row.code: row for row in RULES}
# The SQL below spells the policy-connection statuses literally (static SQL, no formatting).
assert (EXCLUDED, ALLOWED, SUSPENDED) == ("excluded", "allowed", "suspended")


# --------------------------------------------------------------------------------------------
# The rules, as SQL.  Each inserts rows of one shape into table f.

_CREATE_F = """
CREATE TEMP TABLE f (
    idx BIGINT, id_number VARCHAR, name VARCHAR, county_code VARCHAR, enrolment_key VARCHAR,
    code VARCHAR, living BOOLEAN, nursing BOOLEAN, action VARCHAR, event_date DATE,
    roster VARCHAR, evidence_row INTEGER, vals VARCHAR, roster_name VARCHAR,
    rec_cert VARCHAR, rec_category INTEGER, rec_grade INTEGER, rec_expiry DATE,
    rec_division VARCHAR, kept_county VARCHAR
)
"""


# Preparation.  Big tables are never sorted whole: the certificate-base row per person is
# chosen by an aggregate over (id, row) only, and the other rosters are loaded only for the
# people the run can concern (table ``relevant``: the division's beneficiaries and the
# certificate holders registered in it), which in a real departmental list is a small part.
_PREPARE_BASE = (
    "CREATE TEMP VIEW bd AS SELECT * FROM b WHERE in_div",
    # The person's current certificate-base row: a person holds at most one current
    # certificate, so a 正常 row beats a 冻结 one, which beats a 注销 (old) one; then the latest.
    """
    CREATE TEMP TABLE cb AS
    SELECT * FROM r_cert_base
    WHERE "row" IN (
        SELECT arg_min(
            "row",
            CASE status WHEN '正常' THEN 0 WHEN '冻结' THEN 1 ELSE 2 END * 4294967296 - "row")
        FROM r_cert_base GROUP BY id_number)
    """,
    """
    CREATE TEMP TABLE relevant AS
    SELECT id_number FROM bd
    UNION
    SELECT id_number FROM cb WHERE starts_with(division_county, $prefix)
    """,
    # Rules read cb only; the whole base would just hold memory.
    "DROP TABLE r_cert_base",
)
_PREPARE = (
    # Current certificate facts: the cert_base row when there is one, else the record.  The
    # category and grade come from the certificate number (docs/numbers.md: the number wins).
    """
    CREATE TEMP VIEW cur AS
    SELECT b.idx,
           c."row" IS NOT NULL AS from_cb, c."row" AS cb_row, c.raw AS cb_raw, c.name AS cb_name,
           CASE WHEN c."row" IS NOT NULL THEN c.cert_category ELSE b.cert_category END AS category,
           CASE WHEN c."row" IS NOT NULL THEN c.cert_grade ELSE b.cert_grade END AS grade,
           CASE WHEN c."row" IS NOT NULL THEN c.expiry ELSE b.cert_expiry END AS expiry,
           CASE WHEN c."row" IS NOT NULL THEN c.expiry_long_term ELSE b.cert_long_term END
               AS long_term
    FROM bd b LEFT JOIN cb c ON c.id_number = b.id_number
    """,
    # The first death on or before as_of.
    """
    CREATE TEMP TABLE dead AS
    SELECT * FROM r_death
    WHERE event_date <= $as_of
    QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY event_date, "row") = 1
    """,
    # The latest move on or before as_of: it says where the household registration is now.
    """
    CREATE TEMP TABLE moved AS
    SELECT * FROM r_hukou_out
    WHERE event_date <= $as_of
    QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY event_date DESC, "row" DESC) = 1
    """,
    # Benefits active on as_of, one evidence row per person and benefit (the earliest start).
    """
    CREATE TEMP TABLE ben AS
    SELECT * FROM (
        SELECT 'assistance_tekun' AS benefit, 'assistance' AS roster, id_number, "row", start,
               raw, name
        FROM r_assistance
        WHERE benefit_type = '特困' AND start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
        UNION ALL
        SELECT 'work_injury_care', 'work_injury_care', id_number, "row", start, raw, name
        FROM r_work_injury_care WHERE start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
        UNION ALL
        SELECT 'orphan', 'orphan', id_number, "row", start, raw, name
        FROM r_orphan WHERE start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
        UNION ALL
        SELECT 'prison', 'prison', id_number, "row", start, raw, name
        FROM r_prison WHERE start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
    )
    QUALIFY row_number() OVER (PARTITION BY id_number, benefit ORDER BY start, "row") = 1
    """,
    # Who has an active 低保 / 低保边缘 (the configured living family types) entry.
    """
    CREATE TEMP TABLE living_ok AS
    SELECT DISTINCT id_number FROM r_assistance
    WHERE benefit_type IN (SELECT family_type FROM living_types)
      AND start <= $as_of AND ("end" IS NULL OR "end" >= $as_of)
    """,
    """
    CREATE TEMP TABLE receiving AS
    SELECT id_number, bool_or(rl) AS rl, bool_or(rn) AS rn FROM b GROUP BY id_number
    """,
)


_RULE_SQL: dict[str, tuple[str, ...]] = {
    "DECEASED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, d.event_date,
               'death', d."row", d.raw, d.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN dead d ON d.id_number = b.id_number
        WHERE (b.rl OR b.rn)
        """,
    ),
    "HUKOU_MOVED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, m.event_date,
               'hukou_out', m."row", m.raw, m.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN moved m ON m.id_number = b.id_number
        WHERE (b.rl OR b.rn) AND m.destination_county <> b.county_code
        """,
    ),
    "CERT_CHANGED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, false, false, $action, NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE substr(b.cert_number, 1, 20) IS DISTINCT FROM c.cert_stem
        """,
    ),
    "CERT_CANCELLED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE (b.rl OR b.rn) AND c.status = '注销'
        """,
    ),
    "CERT_FROZEN": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE (b.rl OR b.rn) AND c.status = '冻结'
        """,
    ),
    "CERT_EXPIRED": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, u.expiry,
               CASE WHEN u.from_cb THEN 'cert_base' END, u.cb_row, u.cb_raw, u.cb_name, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b JOIN cur u ON u.idx = b.idx
        WHERE (b.rl OR b.rn) AND NOT coalesce(u.long_term, false) AND u.expiry < $as_of
        """,
    ),
    "CERT_EXPIRING": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, u.expiry,
               CASE WHEN u.from_cb THEN 'cert_base' END, u.cb_row, u.cb_raw, u.cb_name, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b JOIN cur u ON u.idx = b.idx
        WHERE (b.rl OR b.rn) AND NOT coalesce(u.long_term, false)
              AND u.expiry >= $as_of AND u.expiry <= $expiring_until
        """,
    ),
    "GRADE_INSUFFICIENT": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, false, true, $action, NULL,
               CASE WHEN u.from_cb THEN 'cert_base' END, u.cb_row, u.cb_raw, u.cb_name, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b JOIN cur u ON u.idx = b.idx
        WHERE b.rn AND u.category IS NOT NULL AND u.grade IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM nursing_pairs p
                  WHERE p.category = u.category AND p.grade = u.grade)
        """,
    ),
    "LEFT_ASSISTANCE": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, true, false, $action,
               CASE WHEN a."end" < $as_of THEN a."end" END,
               'assistance', a."row", a.raw, a.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM (
            SELECT * FROM bd
            WHERE rl AND id_number NOT IN (SELECT id_number FROM living_ok)
        ) b
        LEFT JOIN (
            SELECT * FROM r_assistance
            WHERE benefit_type IN (SELECT family_type FROM living_types)
              AND id_number IN (SELECT id_number FROM bd WHERE rl)
              AND id_number NOT IN (SELECT id_number FROM living_ok)
            QUALIFY row_number() OVER (
                PARTITION BY id_number
                ORDER BY coalesce("end", DATE '9999-12-31') DESC, start DESC, "row" DESC) = 1
        ) a ON a.id_number = b.id_number
        """,
    ),
    # One finding per person and evidence roster; the subsidies concerned are those received
    # that the rule set does not allow together with the benefit.
    "DUPLICATE_BENEFIT": (
        """
        INSERT INTO f
        SELECT idx, id_number, name, county_code, enrolment_key, $code,
               lv, nv,
               CASE WHEN (lv AND living_status = 'excluded')
                      OR (nv AND nursing_status = 'excluded') THEN $action ELSE $lesser_action END,
               start, roster, "row", raw, roster_name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM (
            SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, n.start, n.roster, n."row", n.raw, n.name AS roster_name,
                   e.living_status, e.nursing_status,
                   b.rl AND e.living_status <> 'allowed' AS lv,
                   b.rn AND e.nursing_status <> 'allowed' AS nv
            FROM bd b
            JOIN ben n ON n.id_number = b.id_number AND n.benefit <> 'prison'
            JOIN exclusions e ON e.benefit = n.benefit
            WHERE n.roster IN (SELECT kind FROM supplied)
        )
        WHERE lv OR nv
        """,
    ),
    "IMPRISONED": (
        """
        INSERT INTO f
        SELECT idx, id_number, name, county_code, enrolment_key, $code, lv, nv,
               $action, start, 'prison', "row", raw, roster_name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM (
            SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, n.start, n."row", n.raw, n.name AS roster_name,
                   b.rl AND coalesce(e.living_status, 'suspended') <> 'allowed' AS lv,
                   b.rn AND coalesce(e.nursing_status, 'suspended') <> 'allowed' AS nv
            FROM bd b
            JOIN ben n ON n.id_number = b.id_number AND n.benefit = 'prison'
            LEFT JOIN exclusions e ON e.benefit = 'prison'
        )
        WHERE lv OR nv
        """,
    ),
    # The kept enrolment: the one in the county of the person's cert_base registration, else
    # the earliest 补贴起始年月, else the lowest county code.  Only enrolments that pay count.
    "DUPLICATE_ENROLMENT": (
        """
        INSERT INTO f
        SELECT idx, id_number, name, county_code, enrolment_key, $code,
               rl, rn, $action, NULL, NULL, NULL, NULL, NULL,
               cert_number, category, grade, cert_expiry, division_code, kept_county
        FROM (
            SELECT b.*,
                   first_value(b.county_code) OVER w AS kept_county,
                   min(b.county_code) OVER (PARTITION BY b.id_number) AS lo,
                   max(b.county_code) OVER (PARTITION BY b.id_number) AS hi
            FROM bd b LEFT JOIN cb c ON c.id_number = b.id_number
            WHERE (b.rl OR b.rn)
              AND b.id_number IN (
                  SELECT id_number FROM bd WHERE rl OR rn
                  GROUP BY id_number HAVING min(county_code) <> max(county_code))
            WINDOW w AS (
                PARTITION BY b.id_number
                ORDER BY (b.county_code = c.division_county) DESC NULLS LAST,
                         b.start_month ASC NULLS LAST, b.county_code, b.enrolment_key, b.idx
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
        WHERE lo <> hi AND county_code <> kept_county
        """,
    ),
    # Certificate holders of the division who would qualify and are not paid.  Computed on
    # narrow columns; the evidence row's text is fetched only for the hits.
    "ELIGIBLE_NOT_ENROLLED": (
        """
        INSERT INTO f
        WITH cand AS (
            SELECT c.id_number, c."row", c.division_county, c.cert_category, c.cert_grade
            FROM cb c
            WHERE c.status = '正常'
              AND (c.expiry_long_term OR c.expiry IS NULL OR c.expiry >= $as_of)
              AND starts_with(c.division_county, $prefix)
              AND c.id_number NOT IN (SELECT id_number FROM dead)
              AND NOT EXISTS (
                  SELECT 1 FROM moved m
                  WHERE m.id_number = c.id_number AND m.destination_county <> c.division_county)
              AND c.id_number NOT IN (SELECT id_number FROM ben WHERE benefit = 'prison')
        ),
        blocked AS (
            SELECT n.id_number,
                   bool_or(e.living_status <> 'allowed') AS living,
                   bool_or(e.nursing_status <> 'allowed') AS nursing
            FROM ben n JOIN exclusions e ON e.benefit = n.benefit
            GROUP BY n.id_number
        ),
        judged AS (
            SELECT c.id_number, c."row", c.division_county,
                   $with_assistance AND o.id_number IS NOT NULL
                       AND NOT coalesce(k.living, false) AND NOT coalesce(r.rl, false) AS lv,
                   p.category IS NOT NULL
                       AND NOT coalesce(k.nursing, false) AND NOT coalesce(r.rn, false) AS nv
            FROM cand c
            LEFT JOIN living_ok o ON o.id_number = c.id_number
            LEFT JOIN nursing_pairs p ON p.category = c.cert_category AND p.grade = c.cert_grade
            LEFT JOIN blocked k ON k.id_number = c.id_number
            LEFT JOIN receiving r ON r.id_number = c.id_number
        ),
        hits AS (SELECT * FROM judged WHERE lv OR nv),
        enrolment AS (
            SELECT b.* FROM bd b JOIN hits h ON h.id_number = b.id_number
            QUALIFY row_number() OVER (
                PARTITION BY b.id_number
                ORDER BY (b.county_code = h.division_county) DESC, (b.rl OR b.rn) DESC,
                         b.county_code, b.idx) = 1
        )
        SELECT e.idx, h.id_number, coalesce(e.name, c.name, ''),
               coalesce(e.county_code, h.division_county), e.enrolment_key,
               $code, h.lv, h.nv, $action, NULL,
               'cert_base', h."row", c.raw, c.name,
               NULL, NULL, NULL, NULL, NULL, NULL
        FROM hits h
        JOIN cb c ON c."row" = h."row"
        LEFT JOIN enrolment e ON e.id_number = h.id_number
        """,
    ),
    "CERT_ID_MISMATCH": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, false, false, $action, NULL,
               NULL, NULL, NULL, NULL, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b
        WHERE b.cert_number IS NOT NULL AND substr(b.cert_number, 1, 18) <> b.id_number
        """,
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, false, false, $action, NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE c.cert_id <> c.id_number
        """,
    ),
    "CERT_CODE_MISMATCH": (
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, false, false, $action, NULL,
               NULL, NULL, NULL, NULL, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
        FROM bd b
        WHERE b.cert_category IS NOT NULL
          AND ((b.category IS NOT NULL AND b.category <> b.cert_category)
               OR (b.grade IS NOT NULL AND b.grade <> b.cert_grade))
        """,
        """
        INSERT INTO f
        SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, false, false, $action, NULL,
               'cert_base', c."row", c.raw, c.name, NULL, NULL, NULL, NULL, NULL, NULL
        FROM bd b JOIN cb c ON c.id_number = b.id_number
        WHERE c.category <> c.cert_category OR c.grade <> c.cert_grade
        """,
    ),
}

_NO_CERTIFICATE_WITH_BASE = """
    INSERT INTO f
    SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, NULL,
           'cert_base', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM bd b
    WHERE (b.rl OR b.rn) AND NOT EXISTS (SELECT 1 FROM cb c WHERE c.id_number = b.id_number)
"""
_NO_CERTIFICATE_WITHOUT_BASE = """
    INSERT INTO f
    SELECT b.idx, b.id_number, b.name, b.county_code, b.enrolment_key, $code, b.rl, b.rn, $action, NULL,
           NULL, NULL, NULL, NULL, b.cert_number, b.category, b.grade, b.cert_expiry, b.division_code, NULL
    FROM bd b
    WHERE (b.rl OR b.rn) AND b.cert_number IS NULL
"""


def _plan(supplied: set[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Which rules run, and which do not (or only in part) for want of which rosters."""
    evaluated: list[str] = []
    not_evaluated: list[tuple[str, list[str]]] = []
    for rule in RULES:
        missing = [kind for kind in rule.needs if kind not in supplied]
        if rule.any_of:
            if len(missing) < len(rule.needs):
                evaluated.append(rule.code)
            if missing:
                not_evaluated.append((rule.code, missing))
            continue
        if missing:
            not_evaluated.append((rule.code, missing))
        else:
            evaluated.append(rule.code)
            if rule.code == "ELIGIBLE_NOT_ENROLLED" and "assistance" not in supplied:
                # The nursing half runs; the living half needs the assistance roster.
                not_evaluated.append((rule.code, ["assistance"]))
    return evaluated, not_evaluated


def _setup_rule_tables(con: duckdb.DuckDBPyConnection, rules: RuleSet, supplied: set[str]) -> None:
    con.execute("CREATE TEMP TABLE nursing_pairs (category INTEGER, grade INTEGER)")
    con.executemany("INSERT INTO nursing_pairs VALUES (?, ?)", sorted(rules.nursing_pairs))
    con.execute("CREATE TEMP TABLE living_types (family_type VARCHAR)")
    con.executemany(
        "INSERT INTO living_types VALUES (?)", [(t,) for t in sorted(rules.living_family_types)]
    )
    con.execute(
        "CREATE TEMP TABLE exclusions "
        "(benefit VARCHAR, living_status VARCHAR, nursing_status VARCHAR)"
    )
    known = [
        (benefit, statuses["living"], statuses["nursing"])
        for benefit, statuses in rules.exclusions.items()
        if benefit in _BENEFIT_ROSTERS
    ]
    if known:
        con.executemany("INSERT INTO exclusions VALUES (?, ?, ?)", known)
    con.execute("CREATE TEMP TABLE supplied (kind VARCHAR)")
    if supplied:
        con.executemany("INSERT INTO supplied VALUES (?)", [(k,) for k in sorted(supplied)])


def rule_params(code: str) -> dict[str, str | None]:
    """The statements name neither their code nor its action: both are bound from the one
    declaration in core/codes.py."""
    row = _BY_CODE[code]
    return {"code": code, "action": row.action, "lesser_action": row.lesser_action}


def _rule_statements(code: str, supplied: set[str]) -> tuple[str, ...]:
    if code == "NO_CERTIFICATE":
        if "cert_base" in supplied:
            return (_NO_CERTIFICATE_WITH_BASE,)
        return (_NO_CERTIFICATE_WITHOUT_BASE,)
    return _RULE_SQL[code]
