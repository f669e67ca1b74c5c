"""Unscheduled treatment (Open Dental's Treatment Finder, Dentrix's Treatment Manager): treatment diagnosed and
not booked, what the patient's insurance has left for the year, and case acceptance by provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from datetime import date

import pandas as pd

from workbench.metrics._frames import Frames, day, name_of_patient, provider_abbr, subset, table
from workbench.metrics.aging import PAID_CLAIMPROC_STATUSES
from workbench.metrics.attention import Context, Target, as_of_comparisons, build_context
from workbench.metrics.kpis import case_acceptance
from workbench.periods import Period, trailing_months

__all__ = [
    "BOOKED_STATUSES",
    "TREATMENT_DEFINITION",
    "acceptance_by_provider",
    "acceptance_period",
    "next_appointments",
    "planned_treatment",
    "remaining_benefits",
    "treatment_by_group",
    "treatment_by_patient",
    "treatment_context",
    "treatment_summary",
    "unscheduled_treatment",
]

BOOKED_STATUSES = ("scheduled", "asap", "complete")  # an appointment in one of these after the as-of date holds it

TREATMENT_DEFINITION = """\
**Unscheduled treatment** (Open Dental's Treatment Finder): treatment-planned procedures of active patients
(status Patient), planned on or before the as-of date, not done by then, and not on an appointment booked
after it (scheduled, ASAP, or since completed). Procedures on a planned-but-unscheduled appointment, a broken
one or an appointment that has passed still count. For an as-of date in the past, a procedure done later on
an appointment counts as booked (when an appointment was made is not recorded). **Value** is the procedure's
fee. **Remaining benefits**: the primary plan's individual annual maximum less what insurance paid (received
claims) or is estimated to pay (claims not yet received) on the patient's procedures dated in the current
benefit year (from the plan's renewal month) up to the as-of date; blank where the plan has no maximum on
file. **Next appointment**: the patient's first scheduled appointment after the as-of date.
**Case acceptance**: of the treatment planned in the twelve months that end 30 days before the as-of date
(procedures planned on a day before they were done, or still planned), the share by fee that was completed or
booked on a scheduled appointment within 30 days of being planned; per provider by the procedure's provider."""


def unscheduled_treatment(
    data: Frames, as_of: date | str, patient_statuses: Collection[str] = ("patient",)
) -> pd.DataFrame:
    """One row per unscheduled planned procedure at ``as_of``: procedure_id, patient_id, provider_id,
    clinic_id, code, description, category, date_planned, fee, provider."""
    rows = planned_treatment(data, as_of, patient_statuses)
    return rows[~rows["booked"]].drop(columns="booked").reset_index(drop=True)


def planned_treatment(
    data: Frames, as_of: date | str, patient_statuses: Collection[str] = ("patient",)
) -> pd.DataFrame:
    """Every procedure planned and not done at ``as_of`` (as ``unscheduled_treatment`` has them), with
    ``booked``: on an appointment booked after the as-of date."""
    cutoff = day(as_of, "as-of date")
    procs = table(data, "procedures")
    planned_on = procs["date_planned"].fillna(procs["date"])
    open_then = (procs["status"] == "planned") | ((procs["status"] == "completed") & (procs["date"] > cutoff))
    columns = ["procedure_id", "patient_id", "provider_id", "clinic_id", "code", "description", "category"]
    rows = subset(procs, open_then & (planned_on <= cutoff), [*columns, "appointment_id", "fee"])
    rows = rows.assign(date_planned=planned_on[rows.index])
    apts = table(data, "appointments").set_index("appointment_id")
    status = rows["appointment_id"].map(apts["status"]).astype("object")
    start = rows["appointment_id"].map(apts["start"])
    booked = status.isin(BOOKED_STATUSES) & (start >= cutoff + pd.Timedelta(days=1)).fillna(False)
    patients = table(data, "patients")
    active = patients.loc[patients["status"].isin(list(patient_statuses)), "patient_id"]
    keep = rows["patient_id"].isin(active)
    rows, booked = rows[keep], booked[keep]
    out = rows[[*columns, "date_planned", "fee"]]
    out = out.assign(
        provider=provider_abbr(data, rows["provider_id"]),
        category=rows["category"].fillna("Uncategorized"),
        booked=booked.to_numpy(dtype=bool),
    )
    return out.reset_index(drop=True)


def next_appointments(data: Frames, as_of: date | str) -> pd.Series:
    """Each patient's first scheduled appointment after ``as_of`` (patient_id -> start)."""
    cutoff = day(as_of, "as-of date")
    apts = table(data, "appointments")
    ahead = apts[(apts["status"] == "scheduled") & (apts["start"] >= cutoff + pd.Timedelta(days=1))]
    return ahead.groupby("patient_id")["start"].min()


def remaining_benefits(data: Frames, as_of: date | str) -> pd.DataFrame:
    """Per patient with a primary plan: patient_id, plan_id, carrier_id, annual_max, benefit_year_start,
    used, remaining (null where the plan has no annual maximum on file)."""
    cutoff = day(as_of, "as-of date")
    plans = table(data, "insurance_plans").set_index("plan_id")
    primary = table(data, "patient_plans")
    primary = primary[(primary["ordinal"] == 1) & primary["plan_id"].notna()].drop_duplicates("patient_id")
    renew = primary["plan_id"].map(plans["renew_month"]).fillna(1).astype("int64").clip(1, 12)
    this_year = pd.to_datetime(pd.DataFrame({"year": cutoff.year, "month": renew, "day": 1}))
    year_start = this_year.where(this_year <= cutoff, this_year - pd.DateOffset(years=1))
    out = pd.DataFrame(
        {
            "patient_id": primary["patient_id"],
            "plan_id": primary["plan_id"],
            "carrier_id": primary["plan_id"].map(plans["carrier_id"]),
            "annual_max": primary["plan_id"].map(plans["annual_max"]).astype("float64"),
            "benefit_year_start": year_start,
        }
    )
    ins = table(data, "insurance")
    earliest = year_start.min() if len(year_start) else cutoff  # no benefit year starts before it
    window = (ins["proc_date"] >= earliest) & (ins["proc_date"] <= cutoff)
    lines = subset(ins, window, ["patient_id", "claim_id", "status", "ins_paid", "ins_pay_est", "proc_date"])
    claim_plan = table(data, "claims").set_index("claim_id")["plan_id"]
    lines = lines.assign(plan_id=lines["claim_id"].map(claim_plan))
    paid = lines["status"].isin(PAID_CLAIMPROC_STATUSES)  # paid as the ledger counts it; estimated while waiting
    estimated = lines["ins_pay_est"].where(lines["status"] == "not_received", 0.0)
    lines = lines.assign(amount=lines["ins_paid"].where(paid, estimated).fillna(0.0))
    merged = lines.merge(out[["patient_id", "plan_id", "benefit_year_start"]], on=["patient_id", "plan_id"])
    merged = merged[merged["proc_date"] >= merged["benefit_year_start"]]  # lines are up to the as-of date
    used = merged.groupby("patient_id")["amount"].sum()
    out["used"] = out["patient_id"].map(used).fillna(0.0).round(2)
    out["remaining"] = (out["annual_max"] - out["used"]).clip(lower=0).round(2)
    return out.reset_index(drop=True)


def treatment_by_patient(rows: pd.DataFrame, data: Frames, as_of: date | str) -> pd.DataFrame:
    """Unscheduled treatment per patient, the largest value first: patient_id, patient, phone, procedures,
    value, oldest_planned, remaining_benefits, next_appointment."""
    patients = table(data, "patients").set_index("patient_id")
    per = (
        rows.groupby("patient_id")
        .agg(procedures=("procedure_id", "size"), value=("fee", "sum"), oldest_planned=("date_planned", "min"))
        .reset_index()
    )
    benefits = remaining_benefits(data, as_of).set_index("patient_id")["remaining"]
    out = pd.DataFrame(
        {
            "patient_id": per["patient_id"],
            "patient": name_of_patient(data, per["patient_id"]).to_numpy(),
            "phone": patients["phone"].reindex(per["patient_id"]).to_numpy(),
            "procedures": per["procedures"],
            "value": per["value"].round(2),
            "oldest_planned": per["oldest_planned"],
            "remaining_benefits": per["patient_id"].map(benefits).astype("float64"),
            "next_appointment": per["patient_id"].map(next_appointments(data, as_of)),
        }
    )
    return out.sort_values(["value", "patient_id"], ascending=[False, True]).reset_index(drop=True)


def treatment_by_group(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """Unscheduled treatment per ``by`` (``provider`` or ``category``), the largest value first: the group,
    patients, procedures, value."""
    out = (
        rows.groupby(by, dropna=False)
        .agg(patients=("patient_id", "nunique"), procedures=("procedure_id", "size"), value=("fee", "sum"))
        .reset_index()
    )
    out["value"] = out["value"].round(2)
    return out.sort_values(["value", by], ascending=[False, True]).reset_index(drop=True)


def acceptance_by_provider(data: Frames, start: date | str, end: date | str) -> pd.DataFrame:
    """Case acceptance per provider for treatment planned in the period: provider, presented, accepted (fees),
    procedures, acceptance_pct; the whole practice last, as "All providers"."""
    plans = case_acceptance(data, start, end)
    plans = plans.assign(
        provider=provider_abbr(data, plans["provider_id"]).fillna("No provider"),
        accepted_fee=plans["fee"].where(plans["accepted"], 0.0),
    )
    rows = [
        (name, group["fee"].sum(), group["accepted_fee"].sum(), len(group))
        for name, group in [*plans.groupby("provider"), ("All providers", plans)]
    ]
    out = pd.DataFrame(rows, columns=["provider", "presented", "accepted", "procedures"])
    out["acceptance_pct"] = (100 * out["accepted"] / out["presented"].where(out["presented"] > 0)).round(2)
    return out


def treatment_summary(plans: pd.DataFrame, acceptance: pd.DataFrame) -> dict[str, float]:
    """Headline figures from ``planned_treatment`` rows: unscheduled value, patients and procedures, the
    treatment booked ahead, and the practice's case acceptance."""
    practice = acceptance[acceptance["provider"] == "All providers"]
    rows = plans[~plans["booked"]]
    return {
        "booked_value": round(float(plans.loc[plans["booked"], "fee"].sum()), 2),
        "unscheduled_value": round(float(rows["fee"].sum()), 2),
        "unscheduled_patients": float(rows["patient_id"].nunique()),
        "unscheduled_procedures": float(len(rows)),
        "case_acceptance_pct": float(practice["acceptance_pct"].iloc[0]) if len(practice) else float("nan"),
    }


def acceptance_period(as_of: date | str) -> Period:
    """The twelve months of planning whose case acceptance is known at ``as_of``: they end 30 days before it,
    so that every plan had its 30 days to be accepted."""
    return trailing_months(day(as_of, "as-of date").date() - dt.timedelta(days=30), 12)


def treatment_context(data: Frames, as_of: date | str, targets: Mapping[str, Target] | None = None) -> Context:
    """Unscheduled treatment (value, patients) and case acceptance, now, at the end of last month and a year
    earlier, against the targets; the insurance benefits those patients still have this year named."""
    cutoff = day(as_of, "as-of date").date()

    def at(when: dt.date) -> tuple[dict[str, float], pd.DataFrame]:
        rows = planned_treatment(data, when)
        period = acceptance_period(when)
        summary = treatment_summary(rows, acceptance_by_provider(data, period.start, period.end))
        figures = ("unscheduled_value", "unscheduled_patients", "booked_value", "case_acceptance_pct")
        return {k: summary[k] for k in figures}, rows[~rows["booked"]]

    now, rows = at(cutoff)
    earlier = as_of_comparisons(cutoff, lambda when: at(when)[0])
    notes = []
    benefits = remaining_benefits(data, cutoff)
    waiting = benefits[benefits["patient_id"].isin(rows["patient_id"]) & (benefits["remaining"] > 0)]
    if len(waiting):
        notes.append(
            f"{len(waiting):,} patients with unscheduled treatment still have ${waiting['remaining'].sum():,.0f} "
            f"of insurance benefits this benefit year."
        )
    return build_context(data, now, earlier, targets, notes)
