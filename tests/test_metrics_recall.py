"""Recall status and hygiene reappointment on hand-built patients (as of 2026-10-31)."""

from __future__ import annotations

import pandas as pd

from workbench.metrics import hygiene_reappointment, overdue_by_age, recall, recall_summary
from workbench.metrics.recall import outreach_list

from .conftest import frames


def _patient(pid: int, status: str = "patient") -> dict[str, object]:
    return {"patient_id": pid, "guarantor_id": pid, "last_name": f"P{pid}", "first_name": "X", "status": status}


def _recall(pid: int, due: str, scheduled: str | None = None, disabled: bool = False) -> dict[str, object]:
    return {
        "recall_id": pid,
        "patient_id": pid,
        "recall_type": "Prophy",
        "date_due": due,
        "date_scheduled": scheduled,
        "disabled": disabled,
        "interval_months": 6,
    }


def test_recall_statuses() -> None:
    data = frames(
        patients=[_patient(i) for i in (1, 2, 3, 4, 6, 7)] + [_patient(5, "inactive")],
        recalls=[
            _recall(1, "2026-09-01"),
            _recall(2, "2026-09-01", "2026-11-05"),
            _recall(3, "2026-11-15"),
            _recall(4, "2027-02-01"),
            _recall(5, "2026-01-01"),
            _recall(6, "2026-01-01", disabled=True),
            _recall(7, "2026-09-15", "2026-10-01"),
        ],
    )
    got = recall(data, "2026-10-31").set_index("patient_id")
    assert got["status"].to_dict() == {1: "overdue", 7: "overdue", 3: "due", 2: "scheduled", 4: "not_due"}
    assert got.loc[1, "days_overdue"] == 60 and got.loc[7, "days_overdue"] == 46 and got.loc[3, "days_overdue"] == 0
    bands = overdue_by_age(got.reset_index()).set_index("overdue_for")["patients"]
    assert bands["Under 3 months"] == 2 and bands.sum() == 2


def test_hygiene_reappointment() -> None:
    def apt(aid: int, pid: int, start: str, status: str, hygiene: bool = True) -> dict[str, object]:
        return {"appointment_id": aid, "patient_id": pid, "start": start, "status": status, "is_hygiene": hygiene}

    data = frames(
        appointments=[
            apt(1, 1, "2026-03-01 09:00", "complete"),
            apt(2, 1, "2026-09-01 09:00", "complete"),  # reappointed
            apt(3, 2, "2026-06-01 10:00", "complete"),
            apt(4, 2, "2026-12-01 10:00", "broken"),  # broken doesn't count
            apt(5, 3, "2026-07-01 10:00", "complete"),
            apt(6, 3, "2027-01-05 10:00", "scheduled"),  # booked ahead
            apt(7, 4, "2026-07-01 10:00", "complete", hygiene=False),  # not a hygiene visit
            apt(8, 5, "2025-07-01 10:00", "complete"),  # before the period
        ]
    )
    visits = hygiene_reappointment(data, "2026-01-01", "2026-10-31").set_index("appointment_id")
    assert visits["reappointed"].to_dict() == {1: True, 2: False, 3: False, 5: True}
    summary = recall_summary(recall(data, "2026-10-31"), visits)
    assert summary["reappointment_pct"] == 50.0 and summary["hygiene_visits"] == 4 and summary["active"] == 0


def test_recall_on_demo_counts_every_active_recall_once(demo_frames: dict[str, pd.DataFrame]) -> None:
    got = recall(demo_frames, "2026-10-31")
    assert got["patient_id"].is_unique
    patients = demo_frames["patients"].set_index("patient_id")["status"]
    assert (got["patient_id"].map(patients) == "patient").all()
    assert set(got["status"]) == {"overdue", "due", "scheduled", "not_due"}


def test_hygiene_visits_are_recognised_by_their_procedure_codes() -> None:
    def apt(aid: int, start: str, status: str, hygiene: bool) -> dict[str, object]:
        return {"appointment_id": aid, "patient_id": 1, "start": start, "status": status, "is_hygiene": hygiene}

    data = frames(
        appointments=[apt(1, "2026-03-01 09:00", "complete", False), apt(2, "2026-09-01 09:00", "scheduled", False)],
        procedures=[
            {"procedure_id": 1, "patient_id": 1, "appointment_id": 1, "code": "D4910", "status": "completed"},
            {"procedure_id": 2, "patient_id": 1, "appointment_id": 2, "code": "D1110", "status": "planned"},
        ],
    )
    by_code = hygiene_reappointment(data, "2026-01-01", "2026-06-30")
    assert by_code["reappointed"].tolist() == [True]  # D4910 visit, D1110 booked next
    perio_only = hygiene_reappointment(data, "2026-01-01", "2026-06-30", hygiene_codes=["D4910"])
    assert perio_only["reappointed"].tolist() == [False]  # the D1110 visit is not hygiene under this setting


def test_outreach_list_puts_the_longest_overdue_first() -> None:
    table = pd.DataFrame(
        {
            "patient_id": [1, 2, 3],
            "status": ["overdue", "scheduled", "overdue"],
            "days_overdue": [10, 0, 400],
            "last_name": ["Ash", "Birch", "Cedar"],
            "first_name": ["Al", "Bo", "Cy"],
            "phone": ["1", "2", "3"],
            "recall_type": ["Prophy"] * 3,
            "date_previous": pd.NaT,
            "date_due": pd.NaT,
        }
    )
    got = outreach_list(table, n=5)
    assert got["patient"].tolist() == ["Cedar, Cy", "Ash, Al"]
