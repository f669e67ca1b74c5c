"""The practice's headline numbers for a period, each defined in KPI_DEFINITION."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from workbench.metrics._frames import Frames, day, period_days, subset, table
from workbench.metrics.aging import aging, aging_summary
from workbench.metrics.production import production
from workbench.metrics.recall import hygiene_reappointment

__all__ = ["KPI_DEFINITION", "case_acceptance", "kpis"]

KPI_DEFINITION = """\
**Key figures.** New patients: patients whose first completed procedure falls in the period. Active
patients: patients with a completed procedure in the 18 months up to the end date. Visits: days a patient
had completed procedures. Production per visit = gross production ÷ visits. A/R over 90 % and collection %
as defined above; hygiene reappointment % as in the recall report. Case acceptance: of the treatment
planned in the period (procedures planned on a day before they were done, or still planned), the share by
fee that was completed or booked on a scheduled appointment within 30 days of being planned."""


def case_acceptance(data: Frames, start: date | str, end: date | str, within_days: int = 30) -> pd.DataFrame:
    """Treatment planned in the period, one row per procedure, with ``accepted`` (done or booked in time).

    Acceptance % by fee = ``result.loc[result.accepted, "fee"].sum() / result["fee"].sum() * 100``.
    """
    first, last = period_days(start, end)
    procs = table(data, "procedures")
    apts = table(data, "appointments")
    planned = procs[procs["date_planned"].between(first, last)]
    presented = planned[
        (planned["status"] == "planned")
        | ((planned["status"] == "completed") & (planned["date"] > planned["date_planned"]))
    ]
    deadline = presented["date_planned"] + pd.Timedelta(days=within_days)
    booked = apts.set_index("appointment_id")
    apt_status = presented["appointment_id"].map(booked["status"]).astype("object")
    apt_start = presented["appointment_id"].map(booked["start"])
    done_in_time = (presented["status"] == "completed") & (presented["date"] <= deadline)
    booked_in_time = (presented["status"] == "planned") & (apt_status == "scheduled").fillna(False)
    out = presented[["procedure_id", "patient_id", "provider_id", "code", "fee", "date_planned", "status"]].assign(
        appointment_start=apt_start, accepted=(done_in_time | booked_in_time).astype(bool)
    )
    return out.reset_index(drop=True)


def kpis(data: Frames, start: date | str, end: date | str) -> dict[str, float]:
    """New and active patients, visits, production per visit, A/R over 90 %, collection %, hygiene
    reappointment % and case acceptance % for the period (see KPI_DEFINITION)."""
    first, last = day(start, "start date"), day(end, "end date")
    procs = table(data, "procedures")
    done = subset(procs, (procs["status"] == "completed") & procs["date"].notna(), ["patient_id", "date"])
    first_seen = done.groupby("patient_id")["date"].min()
    patients = table(data, "patients")
    active_ids = patients.loc[patients["status"] == "patient", "patient_id"]
    recent = done[(done["date"] > last - pd.DateOffset(months=18)) & (done["date"] <= last)]
    in_period = done[(done["date"] >= first) & (done["date"] <= last)]
    visits = len(in_period[["patient_id", "date"]].drop_duplicates())
    totals = production(data, first, last).iloc[0]
    hygiene = hygiene_reappointment(data, first, last)
    plans = case_acceptance(data, first, last)
    planned_fees = float(plans["fee"].sum())
    return {
        "new_patients": float(((first_seen >= first) & (first_seen <= last)).sum()),
        "active_patients": float(recent.loc[recent["patient_id"].isin(active_ids), "patient_id"].nunique()),
        "visits": float(visits),
        "production_per_visit": round(float(totals["gross_production"]) / visits, 2) if visits else np.nan,
        "ar_over_90_pct": aging_summary(aging(data, last))["over_90_pct"],
        "collection_pct": float(totals["collection_pct"]),
        "hygiene_reappointment_pct": round(100 * float(hygiene["reappointed"].mean()), 2) if len(hygiene) else np.nan,
        "case_acceptance_pct": round(100 * float(plans.loc[plans["accepted"], "fee"].sum()) / planned_fees, 2)
        if planned_fees
        else np.nan,
    }
