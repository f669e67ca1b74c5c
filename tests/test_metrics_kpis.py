"""Key figures, case acceptance and recall follow-up on hand-built patients."""

from __future__ import annotations

import math

import pandas as pd

from workbench.metrics import case_acceptance, kpis, recall, recall_effectiveness, unscheduled_by_last_visit

from .conftest import frames


def _apt(aid: int, pid: int, start: str, status: str = "complete", hygiene: bool = True) -> dict[str, object]:
    return {"appointment_id": aid, "patient_id": pid, "start": start, "status": status, "is_hygiene": hygiene}


def test_case_acceptance_counts_what_was_done_or_booked_within_30_days() -> None:
    def proc(pid: int, planned: str, status: str, day: str | None, fee: float, apt: int | None = None) -> dict:
        return {
            "procedure_id": pid,
            "patient_id": 1,
            "date_planned": planned,
            "status": status,
            "date": day,
            "fee": fee,
            "appointment_id": apt,
            "code": "D2392",
        }

    data = frames(
        appointments=[_apt(1, 1, "2026-10-20 09:00", "scheduled", False), _apt(2, 1, "2026-10-21 09:00", "broken")],
        procedures=[
            proc(1, "2026-09-01", "completed", "2026-09-20", 250),  # done in 19 days: accepted
            proc(2, "2026-09-01", "completed", "2026-10-15", 1350),  # done after 44 days: not in time
            proc(3, "2026-09-10", "planned", "2026-09-10", 325, apt=1),  # booked: accepted
            proc(4, "2026-09-10", "planned", "2026-09-10", 195, apt=2),  # only a broken appointment
            proc(5, "2026-09-10", "planned", "2026-09-10", 900),  # waiting
            proc(6, "2026-09-12", "completed", "2026-09-12", 65),  # same-day work is not a case presented
            proc(7, "2026-08-01", "planned", "2026-08-01", 5000),  # planned before the period
        ],
    )
    got = case_acceptance(data, "2026-09-01", "2026-09-30").set_index("procedure_id")
    assert got["accepted"].to_dict() == {1: True, 2: False, 3: True, 4: False, 5: False}
    accepted = got.loc[got["accepted"], "fee"].sum() / got["fee"].sum()
    assert round(100 * accepted, 2) == round(100 * 575 / 3020, 2)


def test_kpis_on_a_small_practice() -> None:
    patients = [{"patient_id": i, "guarantor_id": i, "status": "patient"} for i in (1, 2, 3)]
    patients.append({"patient_id": 4, "guarantor_id": 4, "status": "inactive"})

    def done(pid: int, patient: int, day: str, fee: float) -> dict:
        return {
            "procedure_id": pid,
            "patient_id": patient,
            "date": day,
            "fee": fee,
            "status": "completed",
            "date_planned": day,
        }

    data = frames(
        patients=patients,
        procedures=[
            done(1, 1, "2024-01-10", 100),  # patient 1: seen before, not in the last 18 months
            done(2, 2, "2025-12-01", 100),  # patient 2: first seen before the period, active
            done(3, 2, "2026-10-05", 200),
            done(4, 2, "2026-10-05", 50),  # same visit
            done(5, 3, "2026-10-20", 150),  # patient 3: new in the period
            done(6, 4, "2026-10-21", 100),  # inactive patient: new, but not counted active
        ],
        patient_payments=[{"split_id": 1, "patient_id": 2, "date": "2026-10-05", "amount": 250}],
        appointments=[
            _apt(1, 2, "2026-10-05 09:00"),
            _apt(2, 2, "2027-04-05 09:00", "scheduled"),
            _apt(3, 3, "2026-10-20 09:00"),
        ],
    )
    got = kpis(data, "2026-10-01", "2026-10-31")
    assert got["new_patients"] == 2 and got["active_patients"] == 2 and got["visits"] == 3
    assert got["production_per_visit"] == round(500 / 3, 2)
    assert got["collection_pct"] == 50.0 and got["hygiene_reappointment_pct"] == 50.0
    # owing: family 1 100 (over 90), family 2 350 - 250 = 100, family 3 150, family 4 100
    assert got["ar_over_90_pct"] == round(100 * 100 / 450, 2) and math.isnan(got["case_acceptance_pct"])


def test_recall_is_scheduled_when_a_hygiene_appointment_is_booked() -> None:
    data = frames(
        patients=[{"patient_id": 1, "guarantor_id": 1, "status": "patient"}],
        recalls=[{"recall_id": 1, "patient_id": 1, "date_due": "2026-09-01", "disabled": False}],
        appointments=[_apt(1, 1, "2026-11-12 10:00", "scheduled")],
    )
    row = recall(data, "2026-10-31").iloc[0]
    assert row["status"] == "scheduled" and row["date_scheduled"] == pd.Timestamp("2026-11-12")


def test_unscheduled_patients_by_months_since_last_visit() -> None:
    patients = [{"patient_id": i, "guarantor_id": i, "status": "patient"} for i in range(1, 7)]
    data = frames(
        patients=patients,
        appointments=[
            _apt(1, 1, "2026-09-01 09:00"),  # 2 months
            _apt(2, 2, "2026-02-15 09:00"),  # 8.5 months
            _apt(3, 3, "2025-07-01 09:00"),  # 16 months
            _apt(4, 4, "2026-09-01 09:00"),
            _apt(5, 4, "2027-03-01 09:00", "scheduled"),  # booked: not counted
            _apt(6, 5, "2022-01-01 09:00"),  # lapsed over 36 months
            _apt(7, 6, "2026-10-01 09:00", "broken"),  # never completed a visit
        ],
    )
    got = unscheduled_by_last_visit(data, "2026-10-31").set_index("since_last_visit")["patients"]
    assert got.to_dict() == {"0–6 months": 1, "6–9 months": 1, "9–12 months": 0, "12–18 months": 1, "18–36 months": 0}


def test_recall_effectiveness_checks_the_return_within_the_grace_period() -> None:
    data = frames(
        recalls=[{"recall_id": 1, "patient_id": 2, "interval_months": 3, "disabled": False}],
        appointments=[
            _apt(1, 1, "2026-01-10 09:00"),
            _apt(2, 1, "2026-08-01 09:00"),  # due 07-10, back 08-01: in time
            _apt(3, 2, "2026-03-05 09:00"),
            _apt(4, 2, "2026-09-20 09:00"),  # 3-month recall due 06-05: late
            _apt(5, 3, "2026-02-01 09:00"),  # due 08-01, never came back
            _apt(6, 4, "2025-01-01 09:00"),  # due 2025-07-01, before the period
        ],
    )
    got = recall_effectiveness(data, "2026-06-01", "2026-08-31").set_index("patient_id")
    assert got["returned"].to_dict() == {1: True, 2: False, 3: False}
    assert got.loc[2, "due"] == pd.Timestamp("2026-06-05")
