"""The demo generator: deterministic, and an Open Dental database whose story holds together."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench import metrics
from workbench.demo.schema import OPEN_DENTAL_TABLES

from .conftest import DEMO_END, SMALL_DEMO

END = DEMO_END.isoformat()


def _digest(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return {
            t: hashlib.sha256(repr(conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()).encode()).hexdigest()
            for t in OPEN_DENTAL_TABLES
        }


@pytest.fixture(scope="module")
def db(demo_db: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(demo_db)
    yield conn
    conn.close()


def one(conn: sqlite3.Connection, sql: str) -> float:
    return conn.execute(sql).fetchone()[0]


def test_same_seed_gives_identical_tables_and_another_seed_does_not(demo_db: Path, tmp_path: Path) -> None:
    again = workbench.demo.generate(tmp_path / "again.db", **SMALL_DEMO)
    other = workbench.demo.generate(tmp_path / "other.db", **{**SMALL_DEMO, "seed": 12})
    assert _digest(again) == _digest(demo_db)
    differing = [t for t, h in _digest(other).items() if h != _digest(demo_db)[t]]
    assert "procedurelog" in differing and "patient" in differing


def test_generate_rejects_impossible_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        workbench.demo.generate(tmp_path / "x.db", patients=0)
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("what", "sql"),
    [
        (
            "claimproc without procedure",
            "SELECT COUNT(*) FROM claimproc c LEFT JOIN procedurelog p "
            "ON p.ProcNum = c.ProcNum WHERE p.ProcNum IS NULL",
        ),
        (
            "received claimproc on a procedure not completed",
            "SELECT COUNT(*) FROM claimproc c JOIN procedurelog p ON p.ProcNum = c.ProcNum "
            "WHERE c.Status IN (1, 4) AND p.ProcStatus <> 2",
        ),
        (
            "claimproc without claim",
            "SELECT COUNT(*) FROM claimproc c LEFT JOIN claim k ON k.ClaimNum = c.ClaimNum "
            "WHERE c.Status <> 6 AND k.ClaimNum IS NULL",
        ),
        (
            "patient whose guarantor is missing",
            "SELECT COUNT(*) FROM patient p LEFT JOIN patient g ON g.PatNum = p.Guarantor WHERE g.PatNum IS NULL",
        ),
        (
            "guarantor who is not their own guarantor",
            "SELECT COUNT(*) FROM patient p JOIN patient g ON g.PatNum = p.Guarantor WHERE g.Guarantor <> g.PatNum",
        ),
        (
            "paysplit without payment",
            "SELECT COUNT(*) FROM paysplit s LEFT JOIN payment p ON p.PayNum = s.PayNum WHERE p.PayNum IS NULL",
        ),
        (
            "payment whose splits do not add up",
            "SELECT COUNT(*) FROM payment p WHERE ABS(p.PayAmt - "
            "(SELECT SUM(SplitAmt) FROM paysplit s WHERE s.PayNum = p.PayNum)) > 0.005",
        ),
        (
            "procedure on a missing appointment",
            "SELECT COUNT(*) FROM procedurelog p LEFT JOIN appointment a "
            "ON a.AptNum = p.AptNum WHERE p.AptNum <> 0 AND a.AptNum IS NULL",
        ),
        (
            "completed procedure after the end date",
            f"SELECT COUNT(*) FROM procedurelog WHERE ProcStatus = 2 AND ProcDate > '{END}'",
        ),
        (
            "money received after the end date",
            f"SELECT (SELECT COUNT(*) FROM paysplit WHERE DatePay > '{END}') + "
            f"(SELECT COUNT(*) FROM claimproc WHERE Status IN (1, 4) AND "
            f"DateCP > '{END}')",
        ),
        (
            "scheduled appointment in the past",
            f"SELECT COUNT(*) FROM appointment WHERE AptStatus = 1 AND AptDateTime <= '{END} 23:59:59'",
        ),
        (
            "completed appointment in the future",
            f"SELECT COUNT(*) FROM appointment WHERE AptStatus = 2 AND AptDateTime > '{END} 23:59:59'",
        ),
        ("appointment on a weekend", "SELECT COUNT(*) FROM appointment WHERE strftime('%w', AptDateTime) IN ('0','6')"),
        (
            "recall due date not previous + interval",
            "SELECT COUNT(*) FROM recall WHERE DateDue <> date(DatePrevious, '+' || ((RecallInterval >> 16) & 255) "
            "|| ' months') AND CAST(strftime('%d', DatePrevious) AS INT) <= 28",
        ),
        (
            "write-off on a patient without insurance",
            "SELECT COUNT(*) FROM claimproc c JOIN patient p ON "
            "p.PatNum = c.PatNum JOIN patient g ON g.PatNum = p.Guarantor "
            "WHERE g.HasIns <> 'I'",
        ),
    ],
)
def test_invariants_hold(db: sqlite3.Connection, what: str, sql: str) -> None:
    assert one(db, sql) == 0, what


def test_codes_are_real_cdt_codes_and_fees_are_plausible(db: sqlite3.Connection) -> None:
    codes = [r[0] for r in db.execute("SELECT ProcCode FROM procedurecode")]
    assert all(re.fullmatch(r"D\d{4}", c) for c in codes)
    assert {"D0120", "D0150", "D0274", "D1110", "D1120", "D4341", "D4910", "D2392", "D2740", "D3330"} <= set(codes)
    low, high = db.execute("SELECT MIN(ProcFee), MAX(ProcFee) FROM procedurelog").fetchone()
    assert low >= 30 and high <= 3000


def test_the_practice_tells_a_realistic_story(db: sqlite3.Connection) -> None:
    families = one(db, "SELECT COUNT(*) FROM patient WHERE PatNum = Guarantor")
    insured = one(db, "SELECT COUNT(*) FROM patient WHERE PatNum = Guarantor AND HasIns = 'I'")
    assert 0.55 < insured / families < 0.78  # about two thirds insured
    assert one(db, "SELECT COUNT(*) FROM patient WHERE PatNum = Guarantor AND BalOver90 > 0") >= 5
    assert one(db, "SELECT COUNT(*) FROM patient WHERE PatNum = Guarantor AND BalTotal < 0") >= 1  # credits
    assert one(db, "SELECT COUNT(*) FROM claimproc WHERE Status = 0") > 0  # insurance still outstanding
    assert one(db, "SELECT COUNT(*) FROM claimproc WHERE Status = 4") > 0  # supplemental payments
    assert one(db, "SELECT COUNT(*) FROM claimproc WHERE Status = 1 AND WriteOff > 0") > 0  # PPO write-offs
    lag = one(db, "SELECT AVG(julianday(DateCP) - julianday(ProcDate)) FROM claimproc WHERE Status = 1")
    assert 14 <= lag <= 60  # insurance pays weeks after the visit
    assert one(db, "SELECT COUNT(*) FROM appointment WHERE AptStatus = 5") > 0  # broken
    assert one(db, "SELECT COUNT(*) FROM appointment WHERE AptStatus = 1") > 0  # booked ahead
    assert one(db, "SELECT COUNT(*) FROM procedurelog WHERE ProcStatus = 1 AND AptNum = 0") > 0  # waiting TP
    assert one(db, f"SELECT COUNT(*) FROM recall WHERE DateDue < '{END}' AND DateScheduled = '0001-01-01'") > 0
    assert one(db, "SELECT COUNT(*) FROM recall WHERE DateScheduled > '0001-01-01'") > 0
    assert one(db, "SELECT COUNT(*) FROM adjustment WHERE AdjAmt < 0") > 0
    assert one(db, "SELECT COUNT(*) FROM adjustment WHERE AdjAmt > 0") > 0
    assert one(db, "SELECT COUNT(*) FROM procedurelog WHERE UnitQty > 1") > 0
    years = one(db, "SELECT COUNT(DISTINCT strftime('%Y', ProcDate)) FROM procedurelog WHERE ProcStatus = 2")
    assert years >= 2


def test_stored_aging_agrees_with_metrics_aging_for_every_family(
    demo_db: Path, db: sqlite3.Connection, demo_frames: dict[str, pd.DataFrame]
) -> None:
    """Two independent implementations: the generator's SQL and workbench.metrics."""
    stored = pd.read_sql(
        "SELECT PatNum AS guarantor_id, Bal_0_30, Bal_31_60, Bal_61_90, BalOver90, BalTotal, InsEst FROM patient "
        "WHERE PatNum = Guarantor AND (Bal_0_30 <> 0 OR Bal_31_60 <> 0 OR Bal_61_90 <> 0 OR BalOver90 <> 0 "
        "OR BalTotal <> 0 OR InsEst <> 0)",
        db,
    )
    ours = metrics.aging(demo_frames, as_of=DEMO_END)
    both = ours.merge(stored, on="guarantor_id", how="outer", indicator=True)
    assert (both["_merge"] == "both").all()
    pairs = {
        "bal_0_30": "Bal_0_30",
        "bal_31_60": "Bal_31_60",
        "bal_61_90": "Bal_61_90",
        "bal_over_90": "BalOver90",
        "balance": "BalTotal",
        "ins_est": "InsEst",
    }
    for ours_col, stored_col in pairs.items():
        assert (both[ours_col] - both[stored_col]).abs().max() < 0.005, ours_col
    assert len(ours) > 20
