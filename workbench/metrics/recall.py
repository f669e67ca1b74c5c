"""Recall: who is due, overdue or scheduled for hygiene, and how often patients leave reappointed."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from workbench.errors import UsageError
from workbench.metrics._frames import Frames, day, table

__all__ = [
    "RECALL_DEFINITION",
    "RECALL_STATUSES",
    "hygiene_reappointment",
    "overdue_by_age",
    "recall",
    "recall_summary",
]

RECALL_STATUSES = ("overdue", "due", "scheduled", "not_due")

RECALL_DEFINITION = """\
**Recall** (Open Dental's recall list). Active patients (status Patient) whose recall is not disabled.
Scheduled: a hygiene appointment is booked on or after the as-of date. Overdue: due before the as-of
date with nothing scheduled. Due: due within the next {window} days. Not due: due later.
**Hygiene reappointment %**: of the completed hygiene visits in the period, the share whose patient
had another hygiene appointment booked (scheduled or since completed) after that visit."""


def recall(data: Frames, as_of: date | str, due_within_days: int = 30) -> pd.DataFrame:
    """One row per active recall with its status as of ``as_of``.

    Columns: patient_id, recall_type, date_due, date_previous, date_scheduled, status (one of
    RECALL_STATUSES), days_overdue, last_name, first_name, phone, hygienist_id.
    """
    cutoff = day(as_of, "as-of date")
    if due_within_days < 0:
        raise UsageError("due_within_days must not be negative")
    recalls = table(data, "recalls")
    patients = table(data, "patients")
    active = patients[patients["status"] == "patient"][
        ["patient_id", "last_name", "first_name", "phone", "hygienist_id"]
    ]
    rows = recalls[~recalls["disabled"].fillna(False).astype(bool) & recalls["date_due"].notna()]
    rows = rows.merge(active, on="patient_id", how="inner")
    scheduled = rows["date_scheduled"].notna() & (rows["date_scheduled"] >= cutoff)
    overdue = ~scheduled & (rows["date_due"] < cutoff)
    due = ~scheduled & ~overdue & (rows["date_due"] <= cutoff + pd.Timedelta(days=due_within_days))
    status = np.select([scheduled, overdue, due], ["scheduled", "overdue", "due"], "not_due")
    out = rows.assign(
        status=pd.Categorical(status, categories=list(RECALL_STATUSES)),
        days_overdue=np.where(overdue, (cutoff - rows["date_due"]).dt.days, 0),
    )
    columns = [
        "patient_id",
        "recall_type",
        "date_due",
        "date_previous",
        "date_scheduled",
        "status",
        "days_overdue",
        "last_name",
        "first_name",
        "phone",
        "hygienist_id",
    ]
    return out[columns].sort_values(["status", "date_due"], ignore_index=True)


def hygiene_reappointment(data: Frames, start: date | str, end: date | str) -> pd.DataFrame:
    """Completed hygiene visits in the period and whether each patient left with a next one booked.

    Returns one row per visit: appointment_id, patient_id, hygienist_id, start, reappointed (bool).
    The percentage is ``result["reappointed"].mean() * 100``.
    """
    first, last = day(start, "start date"), day(end, "end date")
    if first > last:
        raise UsageError(f"start date {first.date()} is after end date {last.date()}")
    apts = table(data, "appointments")
    hyg = apts[apts["is_hygiene"].fillna(False).astype(bool)]
    visits = hyg[(hyg["status"] == "complete") & (hyg["start"] >= first) & (hyg["start"] < last + pd.Timedelta(days=1))]
    booked = hyg[hyg["status"].isin(["scheduled", "complete"])][["patient_id", "start"]]
    latest = booked.groupby("patient_id")["start"].max().rename("latest")
    visits = visits.join(latest, on="patient_id")
    reappointed = visits["latest"] > visits["start"]
    return pd.DataFrame(
        {
            "appointment_id": visits["appointment_id"],
            "patient_id": visits["patient_id"],
            "hygienist_id": visits["hygienist_id"],
            "start": visits["start"],
            "reappointed": reappointed,
        }
    ).reset_index(drop=True)


OVERDUE_BANDS = (
    (0, 90, "Under 3 months"),
    (90, 180, "3–6 months"),
    (180, 365, "6–12 months"),
    (365, 100_000, "Over 12 months"),
)


def overdue_by_age(table: pd.DataFrame) -> pd.DataFrame:
    """Overdue recalls counted by how long they are overdue (band, patients)."""
    overdue = table[table["status"] == "overdue"]["days_overdue"]
    rows = [
        (label, int(((overdue > low) & (overdue <= high)).sum()) if low else int((overdue <= high).sum()))
        for low, high, label in OVERDUE_BANDS
    ]
    return pd.DataFrame(rows, columns=["overdue_for", "patients"])


def recall_summary(table: pd.DataFrame, reappointment: pd.DataFrame) -> dict[str, float]:
    """Counts per recall status, active recalls, and the hygiene reappointment percentage."""
    counts = table["status"].value_counts()
    visits = len(reappointment)
    return {
        **{status: float(counts.get(status, 0)) for status in RECALL_STATUSES},
        "active": float(len(table)),
        "hygiene_visits": float(visits),
        "reappointment_pct": round(100 * float(reappointment["reappointed"].mean()), 2) if visits else float("nan"),
    }
