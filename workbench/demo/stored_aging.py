"""Open Dental's stored family aging, computed in SQL over the demo tables.

Open Dental keeps each family's aging on the guarantor's patient row (Bal_0_30, Bal_31_60, Bal_61_90,
BalOver90, InsEst, BalTotal). The demo computes those columns here, in SQL and independently of
``workbench.metrics``, so the two implementations can be reconciled against each other.
Definition (DESIGN.md §6): charges are completed procedures (ProcFee × (UnitQty+BaseUnits)) by
ProcDate and positive adjustments by AdjDate; credits are negative adjustments, paysplits by DatePay
and insurance paid + write-off of claimprocs in status Received, Supplemental, CapClaim or CapComplete
by DateCP. Charges fall into buckets by age; credits are applied to the oldest bucket first.
"""

from __future__ import annotations

import sqlite3
from datetime import date

__all__ = ["write_stored_aging"]

_LEDGER = """
CREATE TEMP TABLE ledger AS
    SELECT p.Guarantor AS g, pl.PatNum AS pat, pl.ProcDate AS d, pl.ProcFee * (pl.UnitQty + pl.BaseUnits) AS amt
      FROM procedurelog pl JOIN patient p ON p.PatNum = pl.PatNum
     WHERE pl.ProcStatus = 2 AND pl.ProcDate <= :asof
    UNION ALL
    SELECT p.Guarantor, a.PatNum, a.AdjDate, a.AdjAmt
      FROM adjustment a JOIN patient p ON p.PatNum = a.PatNum
     WHERE a.AdjDate <= :asof
    UNION ALL
    SELECT p.Guarantor, s.PatNum, s.DatePay, -s.SplitAmt
      FROM paysplit s JOIN patient p ON p.PatNum = s.PatNum
     WHERE s.DatePay <= :asof
    UNION ALL
    SELECT p.Guarantor, c.PatNum, c.DateCP, -(c.InsPayAmt + c.WriteOff)
      FROM claimproc c JOIN patient p ON p.PatNum = c.PatNum
      LEFT JOIN procedurelog pl ON pl.ProcNum = c.ProcNum
     WHERE c.Status IN (1, 4, 5, 7) AND c.DateCP <= :asof AND c.DateCP > '0001-01-01'
       AND (c.ProcNum = 0 OR pl.ProcStatus = 2)
"""

_AGED = """
CREATE TEMP TABLE aged AS
WITH family AS (
    SELECT g,
           SUM(CASE WHEN amt > 0 AND d < date(:asof, '-90 days') THEN amt ELSE 0 END) AS c90,
           SUM(CASE WHEN amt > 0 AND d >= date(:asof, '-90 days') AND d < date(:asof, '-60 days')
                    THEN amt ELSE 0 END) AS c61,
           SUM(CASE WHEN amt > 0 AND d >= date(:asof, '-60 days') AND d < date(:asof, '-30 days')
                    THEN amt ELSE 0 END) AS c31,
           SUM(CASE WHEN amt > 0 AND d >= date(:asof, '-30 days') THEN amt ELSE 0 END) AS c0,
           SUM(CASE WHEN amt < 0 THEN -amt ELSE 0 END) AS cr,
           SUM(amt) AS total
      FROM temp.ledger GROUP BY g
),
step1 AS (SELECT g, c61, c31, c0, total, MAX(c90 - cr, 0) AS b90, MAX(cr - c90, 0) AS left1 FROM family),
step2 AS (SELECT g, c31, c0, total, b90, MAX(c61 - left1, 0) AS b61, MAX(left1 - c61, 0) AS left2 FROM step1),
step3 AS (SELECT g, c0, total, b90, b61, MAX(c31 - left2, 0) AS b31, MAX(left2 - c31, 0) AS left3 FROM step2)
SELECT g, total, b90, b61, b31, MAX(c0 - left3, 0) AS b0 FROM step3
"""

# Insurance outstanding as of the date: claims not received, or received after it.
_PENDING = """
CREATE TEMP TABLE pending AS
SELECT p.Guarantor AS g, c.PatNum AS pat, c.InsPayEst + c.WriteOff AS est
  FROM claimproc c JOIN patient p ON p.PatNum = c.PatNum
 WHERE c.ProcDate <= :asof AND (c.Status = 0 OR (c.Status = 1 AND c.DateCP > :asof))
"""


def write_stored_aging(conn: sqlite3.Connection, as_of: date) -> None:
    """Fill the guarantor rows' aging columns (and every patient's EstBalance) as of ``as_of``."""
    params = {"asof": as_of.isoformat()}
    conn.execute(_LEDGER, params)
    conn.execute(_AGED, params)
    conn.execute(_PENDING, params)
    conn.executescript("""
        CREATE INDEX temp.aged_g ON aged (g);
        CREATE TEMP TABLE ins_est AS SELECT g, SUM(est) AS est FROM temp.pending GROUP BY g;
        CREATE INDEX temp.ins_est_g ON ins_est (g);
        CREATE TEMP TABLE own AS
            SELECT pat, SUM(amt) AS bal, 0.0 AS est FROM temp.ledger GROUP BY pat
            UNION ALL SELECT pat, 0.0, SUM(est) FROM temp.pending GROUP BY pat;
        CREATE TEMP TABLE own_total AS SELECT pat, SUM(bal) - SUM(est) AS est_balance FROM temp.own GROUP BY pat;
        CREATE INDEX temp.own_total_pat ON own_total (pat);
        UPDATE patient SET
            Bal_0_30 = ROUND(COALESCE((SELECT b0 FROM temp.aged WHERE g = PatNum), 0), 2),
            Bal_31_60 = ROUND(COALESCE((SELECT b31 FROM temp.aged WHERE g = PatNum), 0), 2),
            Bal_61_90 = ROUND(COALESCE((SELECT b61 FROM temp.aged WHERE g = PatNum), 0), 2),
            BalOver90 = ROUND(COALESCE((SELECT b90 FROM temp.aged WHERE g = PatNum), 0), 2),
            BalTotal = ROUND(COALESCE((SELECT total FROM temp.aged WHERE g = PatNum), 0), 2),
            InsEst = ROUND(COALESCE((SELECT est FROM temp.ins_est WHERE g = PatNum), 0), 2)
        WHERE PatNum = Guarantor;
        UPDATE patient
           SET EstBalance = ROUND(COALESCE((SELECT est_balance FROM temp.own_total WHERE pat = PatNum), 0), 2);
        DROP TABLE temp.ledger; DROP TABLE temp.aged; DROP TABLE temp.pending; DROP TABLE temp.ins_est;
        DROP TABLE temp.own; DROP TABLE temp.own_total;
    """)
