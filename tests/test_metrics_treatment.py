"""Unscheduled treatment, remaining benefits and case acceptance by provider on hand-built rows, and on the demo
practice against SQL over Open Dental's own tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from workbench import metrics

from .conftest import DEMO_END, frames

AS_OF = "2026-10-31"


def _proc(pid: int, status: str = "planned", planned: str = "2026-09-01", **more: object) -> dict:
    return {
        "procedure_id": pid,
        "patient_id": more.pop("patient", 1),
        "provider_id": more.pop("provider", 1),
        "status": status,
        "date_planned": planned,
        "date": more.pop("date", planned),
        "fee": 100.0 * pid,
        "code": "D2740",
        "category": "Crowns",
        **more,
    }


APPOINTMENTS = [
    {"appointment_id": 1, "patient_id": 1, "start": "2026-11-10 09:00", "status": "scheduled"},  # ahead
    {"appointment_id": 2, "patient_id": 1, "start": "2026-10-10 09:00", "status": "broken"},
    {"appointment_id": 3, "patient_id": 1, "start": "2026-10-15 09:00", "status": "scheduled"},  # passed
    {"appointment_id": 4, "patient_id": 1, "start": "2026-12-01 09:00", "status": "planned"},  # not scheduled
    {"appointment_id": 5, "patient_id": 1, "start": "2026-11-20 09:00", "status": "complete"},  # done later
]

# (procedure, unscheduled on 2026-10-31)
CASES = [
    (_proc(1), True),  # planned, on no appointment
    (_proc(2, appointment_id=1), False),  # booked on a scheduled appointment ahead
    (_proc(3, appointment_id=2), True),  # on a broken appointment
    (_proc(4, appointment_id=3), True),  # on an appointment that has passed without it being done
    (_proc(5, appointment_id=4), True),  # on a planned (unscheduled) appointment
    (_proc(6, "completed", date="2026-11-20", appointment_id=5), False),  # done later: booked then
    (_proc(7, "completed", date="2026-11-20"), True),  # done later, walked in: waiting at the as-of date
    (_proc(8, "completed", date="2026-10-01"), False),  # done before
    (_proc(9, planned="2026-11-02"), False),  # planned after the as-of date
    (_proc(10, patient=2), False),  # an inactive patient
    (_proc(11, "planned_inactive"), False),  # Open Dental's TPi: set aside
    (_proc(12, "deleted"), False),
]


def _data(*procs: dict, **tables: list[dict]) -> dict[str, pd.DataFrame]:
    return frames(
        procedures=list(procs),
        appointments=APPOINTMENTS,
        patients=[
            {"patient_id": 1, "guarantor_id": 1, "last_name": "Ames", "first_name": "Ada", "status": "patient"},
            {"patient_id": 2, "guarantor_id": 2, "last_name": "Bell", "first_name": "Bo", "status": "inactive"},
        ],
        providers=[{"provider_id": 1, "abbr": "DOC1"}, {"provider_id": 2, "abbr": "DOC2"}],
        **tables,
    )


@pytest.mark.parametrize(("proc", "unscheduled"), CASES, ids=[str(c[0]["procedure_id"]) for c in CASES])
def test_what_counts_as_unscheduled(proc: dict, unscheduled: bool) -> None:
    rows = metrics.unscheduled_treatment(_data(proc), AS_OF)
    assert rows["procedure_id"].tolist() == ([proc["procedure_id"]] if unscheduled else [])


def test_per_patient_group_and_booked_value() -> None:
    data = _data(*(p for p, _ in CASES))
    planned = metrics.planned_treatment(data, AS_OF)
    assert set(planned.loc[planned["booked"], "procedure_id"]) == {2, 6}
    rows = metrics.unscheduled_treatment(data, AS_OF)
    patient = metrics.treatment_by_patient(rows, data, AS_OF).iloc[0]
    assert patient["value"] == 100 * (1 + 3 + 4 + 5 + 7) and patient["procedures"] == 5
    assert patient["patient"] == "Ames, Ada" and patient["next_appointment"] == pd.Timestamp("2026-11-10 09:00")
    assert metrics.treatment_by_group(rows, "category")["value"].tolist() == [2000.0]
    summary = metrics.treatment_summary(planned, metrics.acceptance_by_provider(data, "2026-01-01", "2026-09-30"))
    assert (
        summary["booked_value"] == 800 and summary["unscheduled_value"] == 2000 and summary["unscheduled_patients"] == 1
    )


# (renew month, claimprocs: (status, proc date, ins_paid, ins_pay_est), annual max, used)
BENEFIT_CASES = [
    (1, [("received", "2026-03-01", 300.0, 0.0), ("not_received", "2026-10-01", 0.0, 200.0)], 1500.0, 500.0),
    (1, [("received", "2025-12-31", 300.0, 0.0)], 1500.0, 0.0),  # last benefit year
    (7, [("received", "2026-06-30", 300.0, 0.0), ("received", "2026-07-01", 100.0, 0.0)], 1000.0, 100.0),
    (1, [("estimate", "2026-05-01", 0.0, 900.0), ("preauth", "2026-05-01", 0.0, 900.0)], 1500.0, 0.0),
    (1, [("received", "2026-11-02", 300.0, 0.0)], 1500.0, 0.0),  # after the as-of date
    (1, [("supplemental", "2026-02-01", 50.0, 0.0), ("received", "2026-02-01", 1600.0, 0.0)], 1500.0, 1650.0),
]


@pytest.mark.parametrize(("renew", "lines", "annual_max", "used"), BENEFIT_CASES)
def test_remaining_benefits_in_the_plans_benefit_year(renew: int, lines: list, annual_max: float, used: float) -> None:
    data = frames(
        insurance_plans=[{"plan_id": 1, "carrier_id": 1, "annual_max": annual_max, "renew_month": renew}],
        patient_plans=[{"patient_plan_id": 1, "patient_id": 1, "plan_id": 1, "ordinal": 1}],
        claims=[{"claim_id": 1, "patient_id": 1, "plan_id": 1}, {"claim_id": 2, "patient_id": 1, "plan_id": 2}],
        insurance=[
            {
                "claimproc_id": i,
                "patient_id": 1,
                "claim_id": 1,
                "status": s,
                "proc_date": d,
                "ins_paid": p,
                "ins_pay_est": e,
            }
            for i, (s, d, p, e) in enumerate(lines, start=1)
        ]
        + [
            {
                "claimproc_id": 99,
                "patient_id": 1,
                "claim_id": 2,
                "status": "received",
                "proc_date": "2026-05-01",
                "ins_paid": 700.0,
            }
        ],  # another plan's claim
    )
    got = metrics.remaining_benefits(data, AS_OF).iloc[0]
    assert got["used"] == used and got["remaining"] == max(annual_max - used, 0)


def test_acceptance_by_provider_adds_up_to_the_practice() -> None:
    procs = [
        _proc(1, "completed", planned="2026-09-01", date="2026-09-10"),  # accepted
        _proc(2, planned="2026-09-01"),  # waiting
        _proc(3, "completed", planned="2026-09-01", date="2026-09-15", provider=2),  # accepted
    ]
    table = metrics.acceptance_by_provider(_data(*procs), "2026-09-01", "2026-09-30").set_index("provider")
    assert table.loc["DOC1", "acceptance_pct"] == round(100 * 100 / 300, 2)
    assert table.loc["DOC2", "acceptance_pct"] == 100
    assert table.loc["All providers", "presented"] == 600 and table.loc["All providers", "accepted"] == 400


def test_demo_treatment_matches_sql_over_open_dental_tables(demo_db: Path, demo_frames: dict) -> None:
    """Unscheduled value per provider, and one patient's remaining benefits, against SQL over procedurelog,
    appointment, patient, patplan, inssub, benefit, claim and claimproc."""
    as_of = DEMO_END.isoformat()
    rows = metrics.unscheduled_treatment(demo_frames, as_of)
    with sqlite3.connect(demo_db) as conn:
        sql = pd.read_sql_query(
            "SELECT pr.Abbr AS provider, SUM(pl.ProcFee * (pl.UnitQty + pl.BaseUnits)) AS value, COUNT(*) AS n "
            "FROM procedurelog pl JOIN patient p ON p.PatNum = pl.PatNum JOIN provider pr ON pr.ProvNum = pl.ProvNum "
            "LEFT JOIN appointment a ON a.AptNum = pl.AptNum "
            "WHERE p.PatStatus = 0 AND pl.DateTP <= :d "
            "AND (pl.ProcStatus = 1 OR (pl.ProcStatus = 2 AND pl.ProcDate > :d)) "
            "AND NOT COALESCE(a.AptStatus IN (1, 2, 4) AND a.AptDateTime > :d || ' 23:59:59', 0) GROUP BY 1",
            conn,
            params={"d": as_of},
        )
        used = pd.read_sql_query(
            "SELECT pp.PatNum AS patient_id, b.MonetaryAmt AS annual_max, SUM(CASE WHEN cp.Status IN (1, 4) "
            "THEN cp.InsPayAmt WHEN cp.Status = 0 THEN cp.InsPayEst ELSE 0 END) AS used "
            "FROM patplan pp JOIN inssub s ON s.InsSubNum = pp.InsSubNum JOIN insplan ip ON ip.PlanNum = s.PlanNum "
            "JOIN benefit b ON b.PlanNum = ip.PlanNum AND b.BenefitType = 5 AND b.CovCatNum = 0 "
            "JOIN claimproc cp ON cp.PatNum = pp.PatNum JOIN claim c ON c.ClaimNum = cp.ClaimNum "
            "AND c.PlanNum = s.PlanNum WHERE ip.MonthRenew = 0 AND cp.ProcDate BETWEEN :y AND :d "
            "GROUP BY 1, 2",
            conn,
            params={"d": as_of, "y": f"{DEMO_END.year}-01-01"},
        )
    got = metrics.treatment_by_group(rows, "provider").set_index("provider")
    want = sql.set_index("provider")
    assert got["value"].sort_index().to_numpy() == pytest.approx(want["value"].sort_index().to_numpy(), abs=0.005)
    assert got["procedures"].sort_index().tolist() == want["n"].sort_index().tolist()
    assert rows["fee"].sum() > 1000
    benefits = metrics.remaining_benefits(demo_frames, as_of).set_index("patient_id")
    assert len(used) > 20
    for _, row in used.head(40).iterrows():
        mine = benefits.loc[row["patient_id"]]
        assert mine["used"] == pytest.approx(row["used"], abs=0.005)
        assert mine["remaining"] == pytest.approx(max(row["annual_max"] - row["used"], 0), abs=0.005)
