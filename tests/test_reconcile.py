"""Our aging beside Open Dental's stored aging."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench.errors import SourceError
from workbench.metrics.reconcile import CAUSES, reconcile_aging
from workbench.reconcile import reconcile_stored_aging

from .conftest import DEMO_END


def _row(g: int, b0: float = 0, b31: float = 0, b61: float = 0, b90: float = 0, ins: float = 0) -> dict[str, float]:
    return {
        "guarantor_id": g,
        "bal_0_30": b0,
        "bal_31_60": b31,
        "bal_61_90": b61,
        "bal_over_90": b90,
        "balance": b0 + b31 + b61 + b90,
        "ins_est": ins,
    }


def test_each_kind_of_difference_gets_its_cause() -> None:
    ours = pd.DataFrame([_row(1, 100), _row(2, 50), _row(3, 0, 80), _row(4, 10, ins=5), _row(5, 70)])
    stored = pd.DataFrame([_row(1, 100), _row(2, 60), _row(3, 80), _row(4, 10, ins=7), _row(6, 1)])
    got = reconcile_aging(ours, stored).set_index("guarantor_id")
    assert got["cause"].to_dict() == {
        1: CAUSES["match"],
        2: CAUSES["balance"],
        3: CAUSES["buckets"],
        4: CAUSES["ins_est"],
        5: CAUSES["only_ours"],
        6: CAUSES["only_stored"],
    }
    assert got.loc[2, "balance_diff"] == -10 and got.loc[3, "bucket_diff"] == 80 and got.loc[4, "ins_est_diff"] == -2
    assert got["matches"].tolist() == [True, False, False, False, False, False]


def test_demo_stored_aging_matches_to_the_cent_for_every_family(demo_url: str, tmp_path: Path) -> None:
    result = reconcile_stored_aging(workbench.connect(demo_url, cache_dir=tmp_path))
    assert result.as_of == DEMO_END and not result.proc_lifo
    assert len(result.table) > 20
    assert result.table["matches"].all(), result.table[~result.table["matches"]]


def test_a_payment_entered_after_aging_ran_is_flagged(demo_db: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    with sqlite3.connect(copy) as conn:
        guarantor = conn.execute(
            "SELECT PatNum FROM patient WHERE PatNum = Guarantor AND BalTotal > 50 ORDER BY PatNum LIMIT 1"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO paysplit (SplitNum, SplitAmt, PatNum, PayNum, ProvNum, DatePay, ProcNum, ClinicNum) "
            "VALUES (999999, 25.0, ?, 999999, 1, ?, 0, 1)",
            (guarantor, DEMO_END.isoformat()),
        )
    table = reconcile_stored_aging(workbench.connect(f"opendental+sqlite://{copy}", cache_dir=tmp_path)).table
    flagged = table[~table["matches"]]
    assert flagged["guarantor_id"].tolist() == [guarantor]
    assert flagged["balance_diff"].iloc[0] == -25.0 and flagged["cause"].iloc[0] == CAUSES["balance"]


def test_stored_aging_filters_by_clinic(demo_url: str) -> None:
    source = workbench.sources.open_source(demo_url)
    everyone = source.stored_aging()
    assert len(source.stored_aging(clinic_id=1)) == len(everyone)
    assert source.stored_aging(clinic_id=99).empty


def test_a_source_without_stored_aging_is_a_clear_error(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = workbench.connect(demo_url, cache_dir=tmp_path)
    monkeypatch.delattr(type(practice.source), "stored_aging")
    with pytest.raises(SourceError, match="keeps no stored aging"):
        reconcile_stored_aging(practice)
