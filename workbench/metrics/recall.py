"""Recall: who is due, overdue or scheduled for hygiene, and how often patients leave reappointed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

import numpy as np
import pandas as pd

from workbench.errors import UsageError
from workbench.metrics._frames import Frames, day, derived, full_name, period_days, table

__all__ = [
    "HYGIENE_CODES",
    "RECALL_DEFINITION",
    "RECALL_STATUSES",
    "hygiene_appointments",
    "hygiene_reappointment",
    "outreach_list",
    "overdue_by_age",
    "recall",
    "recall_effectiveness",
    "recall_rows",
    "recall_summary",
    "unscheduled_by_last_visit",
]

RECALL_STATUSES = ("overdue", "due", "scheduled", "not_due")

RECALL_DEFINITION = """\
**Recall** (Open Dental's recall list). Active patients (status Patient) whose recall is not disabled.
Scheduled: a hygiene appointment is booked on or after the as-of date (the recall's
scheduled date, or any scheduled hygiene appointment). Overdue: due before the as-of
date with nothing scheduled. Due: due within the next {window} days. Not due: due later.
A hygiene visit is an appointment with a hygiene procedure (D1110, D1120, D4341, D4342, D4346, D4910
unless configured otherwise). **Hygiene reappointment %**: of the completed hygiene visits in the period,
the share whose patient had another hygiene appointment booked (scheduled or since completed) after that visit.
**Recall effectiveness**: of the hygiene visits whose next recall came due in the period, the share whose
patient came back for hygiene no later than 60 days after the due date."""


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
    booked = _next_hygiene_appointment(data, cutoff)
    next_booked = pd.Series(booked.reindex(rows["patient_id"]).to_numpy(), index=rows.index)
    own = rows["date_scheduled"].where(rows["date_scheduled"] >= cutoff)
    rows = rows.assign(date_scheduled=own.fillna(next_booked))
    scheduled = rows["date_scheduled"].notna()
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


def _next_hygiene_appointment(data: Frames, cutoff: pd.Timestamp) -> pd.Series:
    """Per patient, the day of the first scheduled hygiene appointment on or after ``cutoff``."""
    apts = hygiene_appointments(data)
    ahead = apts[(apts["status"] == "scheduled") & (apts["start"] >= cutoff)]
    return ahead.groupby("patient_id")["start"].min().dt.normalize().astype("datetime64[ns]")


HYGIENE_CODES = ("D1110", "D1120", "D4341", "D4342", "D4346", "D4910")


def hygiene_appointments(data: Frames, hygiene_codes: Collection[str] = HYGIENE_CODES) -> pd.DataFrame:
    """Appointments that are hygiene visits: those with a procedure whose code is a hygiene code, and,
    where an appointment has no procedures attached, those the system flags as hygiene."""
    codes = tuple(sorted(hygiene_codes))
    return derived(data, f"hygiene appointments {codes}", lambda: _hygiene_appointments(data, codes))


def _hygiene_appointments(data: Frames, hygiene_codes: tuple[str, ...]) -> pd.DataFrame:
    apts = table(data, "appointments")
    procs = table(data, "procedures")
    attached = procs["appointment_id"].notna()
    with_codes = procs.loc[attached & procs["code"].isin(hygiene_codes), "appointment_id"]
    bare = ~apts["appointment_id"].isin(procs.loc[attached, "appointment_id"])
    flagged = apts["is_hygiene"].fillna(False).astype(bool)
    return apts[apts["appointment_id"].isin(with_codes) | (bare & flagged)]


def hygiene_reappointment(
    data: Frames, start: date | str, end: date | str, hygiene_codes: Collection[str] = HYGIENE_CODES
) -> pd.DataFrame:
    """Completed hygiene visits in the period and whether each patient left with a next one booked.

    Returns one row per visit: appointment_id, patient_id, hygienist_id, start, reappointed (bool).
    The percentage is ``result["reappointed"].mean() * 100``.
    """
    first, last = period_days(start, end)
    hyg = hygiene_appointments(data, hygiene_codes)
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


def outreach_list(table: pd.DataFrame, n: int | None = 25) -> pd.DataFrame:
    """The front desk's call list: overdue recalls with nothing scheduled, longest overdue first (the first
    ``n``; all of them with ``n=None``)."""
    overdue = table[table["status"] == "overdue"].sort_values(["days_overdue", "patient_id"], ascending=[False, True])
    overdue = overdue if n is None else overdue.head(n)
    return overdue.assign(patient=full_name(overdue))[
        ["patient_id", "patient", "phone", "recall_type", "date_previous", "date_due", "days_overdue"]
    ].reset_index(drop=True)


def recall_rows(table: pd.DataFrame, status: str) -> pd.DataFrame:
    """The patients behind one recall status of ``recall(...)`` (soonest due first): patient, phone,
    recall type, last visit, due and scheduled dates."""
    if status not in RECALL_STATUSES:
        raise UsageError(f"unknown recall status {status!r}; choose from {', '.join(RECALL_STATUSES)}")
    rows = table[table["status"] == status].sort_values("date_due")
    return rows.assign(patient=full_name(rows))[
        ["patient_id", "patient", "phone", "recall_type", "date_previous", "date_due", "date_scheduled"]
    ].reset_index(drop=True)


OVERDUE_BANDS = (
    (0, 90, "Under 3 months"),
    (90, 180, "3–6 months"),
    (180, 365, "6–12 months"),
    (365, 100_000, "Over 12 months"),
)


def overdue_by_age(table: pd.DataFrame) -> pd.DataFrame:
    """Overdue recalls counted by how long they are overdue (band, patients)."""
    overdue = table.loc[table["status"] == "overdue", "days_overdue"]
    return _count_bands(overdue, OVERDUE_BANDS, "overdue_for", right=True)  # days in (low, high]


def _count_bands(values: pd.Series, bands: Sequence[tuple[float, float, str]], name: str, right: bool) -> pd.DataFrame:
    """How many values fall in each of a run of adjoining bands (low, high, label); others are left out."""
    edges = [low for low, _, _ in bands] + [bands[-1][1]]
    labels = [label for _, _, label in bands]
    counts = pd.cut(values, edges, right=right, labels=labels).value_counts().reindex(labels, fill_value=0)
    return pd.DataFrame({name: labels, "patients": counts.astype(int).to_numpy()})


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


LAST_VISIT_BANDS = (
    (0, 6, "0–6 months"),
    (6, 9, "6–9 months"),
    (9, 12, "9–12 months"),
    (12, 18, "12–18 months"),
    (18, 36, "18–36 months"),
)


def unscheduled_by_last_visit(data: Frames, as_of: date | str) -> pd.DataFrame:
    """Active patients with nothing booked ahead, counted by months since their last completed visit.

    Columns: since_last_visit (the bands of LAST_VISIT_BANDS), patients. Patients last seen over 36
    months ago, or never, are left out (they are lapsed rather than due).
    """
    cutoff = day(as_of, "as-of date")
    patients = table(data, "patients")
    apts = table(data, "appointments")
    active = patients.loc[patients["status"] == "patient", "patient_id"]
    booked = apts.loc[(apts["status"] == "scheduled") & (apts["start"] >= cutoff), "patient_id"]
    seen = apts[(apts["status"] == "complete") & (apts["start"] < cutoff + pd.Timedelta(days=1))]
    last = seen.groupby("patient_id")["start"].max()
    waiting = last[last.index.isin(active) & ~last.index.isin(booked)]
    months = (cutoff - waiting).dt.days / (365.25 / 12)
    return _count_bands(months, LAST_VISIT_BANDS, "since_last_visit", right=False)  # months in [low, high)


def recall_effectiveness(
    data: Frames,
    start: date | str,
    end: date | str,
    grace_days: int = 60,
    hygiene_codes: Collection[str] = HYGIENE_CODES,
) -> pd.DataFrame:
    """Hygiene visits that came due in the period and whether the patient came back in time.

    For every completed hygiene visit, the next one is due ``interval_months`` later (the patient's
    recall interval, else 6). Rows: the visits whose next due date falls in the period, with
    ``returned`` True when the next completed hygiene visit came no later than due + ``grace_days``.
    Effectiveness % = ``result["returned"].mean() * 100``.
    """
    first, last = period_days(start, end)
    apts = hygiene_appointments(data, hygiene_codes)
    visits = apts[apts["status"] == "complete"]
    visits = visits[["patient_id", "start"]].sort_values(["patient_id", "start"])
    visits["next_visit"] = visits.groupby("patient_id")["start"].shift(-1)
    recalls = table(data, "recalls")
    interval = recalls.groupby("patient_id")["interval_months"].min()
    months = visits["patient_id"].map(interval).fillna(6).astype(int)
    visit_day = visits["start"].dt.normalize()
    visits["due"] = visit_day
    for m in months.unique():  # one vectorised calendar-month shift per interval in use
        mask = months == m
        visits.loc[mask, "due"] = visit_day[mask] + pd.DateOffset(months=int(m))
    came_due = visits[(visits["due"] >= first) & (visits["due"] <= last)].copy()
    came_due["returned"] = came_due["next_visit"].notna() & (
        came_due["next_visit"] <= came_due["due"] + pd.Timedelta(days=grace_days)
    )
    return came_due.rename(columns={"start": "visit"}).reset_index(drop=True)
