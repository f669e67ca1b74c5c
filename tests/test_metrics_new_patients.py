"""New patients and referral sources on hand-built rows, and on the demo practice against SQL over Open
Dental's own tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from workbench import metrics

from .conftest import DEMO_END, frames


def _done(pid: int, patient: int, day: str, fee: float = 100.0, provider: int = 1) -> dict:
    return {
        "procedure_id": pid,
        "patient_id": patient,
        "provider_id": provider,
        "date": day,
        "fee": fee,
        "status": "completed",
    }


def _data() -> dict[str, pd.DataFrame]:
    patients = [{"patient_id": i, "guarantor_id": i, "last_name": f"P{i}", "status": "patient"} for i in range(1, 6)]
    return frames(
        patients=patients,
        providers=[
            {"provider_id": 1, "abbr": "DOC1", "is_hygienist": False},
            {"provider_id": 2, "abbr": "HYG1", "is_hygienist": True},
        ],
        procedures=[
            _done(1, 1, "2025-12-15"),  # patient 1 first came before the period: not new
            _done(2, 1, "2026-09-05"),
            _done(3, 2, "2026-09-01", 200.0),  # new, came back in October
            _done(4, 2, "2026-10-01", 50.0, provider=2),
            _done(5, 2, "2026-12-01", 70.0),  # after the period: not counted
            _done(6, 3, "2026-09-20", 300.0),  # new, once
            _done(7, 3, "2026-09-20", 25.0),  # the same day: not a second visit
            _done(8, 4, "2026-10-30", 80.0),  # new, no source on file
            {"procedure_id": 9, "patient_id": 5, "date": "2026-09-10", "status": "planned", "fee": 999.0},
        ],
        referral_sources=[
            {"referral_source_id": 1, "name": "Google Search", "kind": "other"},
            {"referral_source_id": 2, "name": "Dr. Lind", "kind": "doctor"},
            {"referral_source_id": 3, "name": "P1", "kind": "patient", "patient_id": 1},
        ],
        patient_referrals=[
            {"patient_referral_id": 1, "patient_id": 2, "referral_source_id": 3, "direction": "from", "order": 2},
            {"patient_referral_id": 2, "patient_id": 2, "referral_source_id": 1, "direction": "from", "order": 1},
            {"patient_referral_id": 3, "patient_id": 3, "referral_source_id": 2, "direction": "to", "order": 1},
            {"patient_referral_id": 4, "patient_id": 3, "referral_source_id": 3, "direction": "from", "order": 2},
        ],
    )


def test_new_patients_their_source_return_and_production() -> None:
    rows = metrics.new_patients(_data(), "2026-09-01", "2026-10-31").set_index("patient_id")
    assert rows.index.tolist() == [2, 3, 4]
    assert rows["source"].to_dict() == {2: "Google Search", 3: "P1", 4: metrics.NO_SOURCE}  # first by order; RefTo not
    assert rows["came_back"].to_dict() == {2: True, 3: False, 4: False}
    assert rows.loc[2, "second_visit"] == pd.Timestamp("2026-10-01")
    assert rows["production"].to_dict() == {2: 250.0, 3: 325.0, 4: 80.0}


def test_by_source_month_and_summary() -> None:
    data = _data()
    rows = metrics.new_patients(data, "2026-09-01", "2026-10-31")
    by_source = metrics.new_patients_by_source(rows)
    assert by_source["source"].tolist() == ["Google Search", "P1", metrics.NO_SOURCE]  # no source last
    together = metrics.new_patients_by_source(rows, patients_together=True)
    assert "Existing patients (1 referrer)" in together["source"].tolist()
    monthly = metrics.new_patients_by_month(rows, "2026-08-01", "2026-10-31")
    assert monthly["total"].tolist() == [0, 2, 1] and monthly["patient"].tolist() == [0, 1, 0]
    summary = metrics.new_patients_summary(rows, data, "2026-09-01", "2026-10-31")
    assert summary["new_patients"] == 3 and summary["new_patient_return_pct"] == round(100 / 3, 2)
    months = 60 / (365.25 / 12)  # Sep 1 - Oct 31; one dentist produced (the hygienist is not counted)
    assert summary["new_patients_per_dentist_month"] == round(3 / 1 / months, 2)
    context = metrics.new_patients_context(data, "2026-09-01", "2026-10-31")
    assert any("brought 1 of 3 new patients" in line for line in context.findings)
    assert any(line.startswith("New patients per dentist per month is 1.5, against") for line in context.findings)
    assert any("no referral source on file" in line for line in context.findings)


def test_demo_new_patients_by_source_match_sql_over_open_dental_tables(demo_db: Path, demo_frames: dict) -> None:
    start, end = "2026-01-01", DEMO_END.isoformat()
    rows = metrics.new_patients(demo_frames, start, end)
    with sqlite3.connect(demo_db) as conn:
        sql = pd.read_sql_query(
            "WITH first AS (SELECT PatNum, MIN(ProcDate) AS d FROM procedurelog WHERE ProcStatus = 2 "
            "AND ProcDate <= :e GROUP BY PatNum), "
            "src AS (SELECT ra.PatNum, ra.ReferralNum, ROW_NUMBER() OVER (PARTITION BY ra.PatNum "
            "ORDER BY ra.ItemOrder, ra.RefDate, ra.RefAttachNum) AS k FROM refattach ra WHERE ra.RefType = 1) "
            "SELECT COALESCE(CASE WHEN r.NotPerson = 1 THEN r.LName ELSE TRIM(r.FName || ' ' || r.LName) "
            "|| CASE WHEN r.Title <> '' THEN ', ' || r.Title ELSE '' END END, 'No source recorded') AS source, "
            "COUNT(*) AS n FROM first f LEFT JOIN src ON src.PatNum = f.PatNum AND src.k = 1 "
            "LEFT JOIN referral r ON r.ReferralNum = src.ReferralNum WHERE f.d >= :s GROUP BY 1",
            conn,
            params={"s": start, "e": end},
        )
    got = metrics.new_patients_by_source(rows).set_index("source")["new_patients"].sort_index()
    want = sql.set_index("source")["n"].sort_index()
    assert got.to_dict() == want.to_dict()
    assert len(rows) > 20 and want.drop(metrics.NO_SOURCE, errors="ignore").sum() > 0.7 * len(rows)
