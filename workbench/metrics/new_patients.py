"""New patients (Open Dental's New Patients report) and where they came from (its Referral Analysis): how
many came, from which source, how many came back, and what they produced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from workbench.metrics._frames import Frames, name_of_patient, period_days, table
from workbench.metrics.attention import Context, Target, build_context, period_comparisons

__all__ = [
    "NEW_PATIENTS_DEFINITION",
    "NO_SOURCE",
    "new_patients",
    "new_patients_by_month",
    "new_patients_by_source",
    "new_patients_context",
    "new_patients_summary",
]

NO_SOURCE = "No source recorded"

NEW_PATIENTS_DEFINITION = """\
**New patients**: patients whose first completed procedure falls in the period (as in the key figures).
**Source**: the referral source attached to the patient as "referred from" (Open Dental's RefFrom), the first
one in the patient's order; "No source recorded" where there is none. **Came back**: the patient had
completed procedures on a later day than the first visit, up to the end of the period (patients new in its
last weeks have had little time to come back). **Production**: the gross production (completed procedure
fees) of those patients from their first visit to the end of the period. **New patients per dentist per
month**: new patients ÷ dentists who produced in the period (providers who are not hygienists) ÷ months in
the period."""


def new_patients(data: Frames, start: date | str, end: date | str) -> pd.DataFrame:
    """One row per new patient of the period: patient_id, patient, first_visit, source, source_kind,
    came_back (bool), second_visit, production."""
    first, last = period_days(start, end)
    procs = table(data, "procedures")
    done = procs[(procs["status"] == "completed") & procs["date"].notna() & (procs["date"] <= last)]
    first_seen = done.groupby("patient_id")["date"].min()
    new = first_seen[(first_seen >= first)].rename("first_visit").reset_index()
    mine = done[done["patient_id"].isin(new["patient_id"])]
    later = mine[mine["date"] > mine["patient_id"].map(first_seen)]
    second = later.groupby("patient_id")["date"].min()
    produced = mine.groupby("patient_id")["fee"].sum()
    source, kind = _sources(data, new["patient_id"])
    out = pd.DataFrame(
        {
            "patient_id": new["patient_id"],
            "patient": name_of_patient(data, new["patient_id"]).to_numpy(),
            "first_visit": new["first_visit"],
            "source": source,
            "source_kind": kind,
            "came_back": new["patient_id"].isin(second.index).to_numpy(),
            "second_visit": second.reindex(new["patient_id"]).to_numpy(),
            "production": produced.reindex(new["patient_id"]).fillna(0.0).round(2).to_numpy(),
        }
    )
    return out.sort_values(["first_visit", "patient_id"]).reset_index(drop=True)


def _sources(data: Frames, patient_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's referred-from source (the first by order, then date) and its kind."""
    refs = table(data, "patient_referrals")
    refs = refs[refs["direction"] == "from"].sort_values(["patient_id", "order", "date", "patient_referral_id"])
    first_ref = refs.drop_duplicates("patient_id").set_index("patient_id")["referral_source_id"]
    sources = table(data, "referral_sources").set_index("referral_source_id")
    source_id = patient_ids.map(first_ref)
    name = source_id.map(sources["name"]).astype("object")
    kind = source_id.map(sources["kind"]).astype("object")
    return name.fillna(NO_SOURCE).to_numpy(), kind.fillna("none").to_numpy()


def new_patients_by_source(rows: pd.DataFrame, patients_together: bool = False) -> pd.DataFrame:
    """Per source, the most new patients first ("No source recorded" last): source, kind, new_patients,
    came_back, came_back_pct, production, production_per_patient. ``patients_together``: the patients who
    referred friends as one source, "Existing patients (N referrers)"."""
    if patients_together:
        referrers = rows.loc[rows["source_kind"] == "patient", "source"].nunique()
        label = f"Existing patients ({referrers} referrer{'s' * (referrers != 1)})"
        rows = rows.assign(source=rows["source"].where(rows["source_kind"] != "patient", label))
    out = (
        rows.groupby(["source", "source_kind"])
        .agg(new_patients=("patient_id", "size"), came_back=("came_back", "sum"), production=("production", "sum"))
        .reset_index()
        .rename(columns={"source_kind": "kind"})
    )
    out["came_back"] = out["came_back"].astype("int64")
    out["came_back_pct"] = (100 * out["came_back"] / out["new_patients"]).round(2)
    out["production"] = out["production"].round(2)
    out["production_per_patient"] = (out["production"] / out["new_patients"]).round(2)
    out = out.assign(unknown=out["source"] == NO_SOURCE)
    out = out.sort_values(["unknown", "new_patients", "source"], ascending=[True, False, True])
    return out.drop(columns="unknown").reset_index(drop=True)


def new_patients_by_month(rows: pd.DataFrame, start: date | str, end: date | str) -> pd.DataFrame:
    """New patients per calendar month of the period (every month, none left out) by source kind: month,
    doctor, patient, other, none, total."""
    first, last = period_days(start, end)
    months = pd.period_range(first, last, freq="M")
    counts = (
        rows.assign(month=rows["first_visit"].dt.to_period("M"))
        .pivot_table(index="month", columns="source_kind", values="patient_id", aggfunc="size", fill_value=0)
        .reindex(index=months, columns=["doctor", "patient", "other", "none"], fill_value=0)
    )
    counts["total"] = counts.sum(axis=1)
    out = counts.rename_axis(index="month", columns=None).reset_index()
    out["month"] = out["month"].dt.to_timestamp()
    return out.astype({c: "int64" for c in ["doctor", "patient", "other", "none", "total"]})


def new_patients_summary(rows: pd.DataFrame, data: Frames, start: date | str, end: date | str) -> dict[str, float]:
    """Headline figures: new patients, the share who came back, their production, the share with a source on
    file, and new patients per dentist per month."""
    first, last = period_days(start, end)
    procs = table(data, "procedures")
    worked = procs[(procs["status"] == "completed") & procs["date"].between(first, last)]["provider_id"]
    providers = table(data, "providers")
    dentists = providers.loc[~providers["is_hygienist"].fillna(False).astype(bool), "provider_id"]
    n_dentists = int(worked[worked.isin(dentists)].nunique())
    months = (last - first).days / (365.25 / 12) if last > first else 1 / 30
    n = len(rows)
    return {
        "new_patients": float(n),
        "new_patient_return_pct": round(100 * float(rows["came_back"].mean()), 2) if n else float("nan"),
        "new_patient_production": round(float(rows["production"].sum()), 2),
        "new_patient_source_pct": round(100 * float((rows["source"] != NO_SOURCE).mean()), 2) if n else float("nan"),
        "new_patients_per_dentist_month": round(n / n_dentists / months, 2) if n_dentists else float("nan"),
    }


def new_patients_context(
    data: Frames, start: date | str, end: date | str, targets: Mapping[str, Target] | None = None
) -> Context:
    """New patients, the share who came back, their production and new patients per dentist per month for the
    period, against the previous period of the same length and the same period a year earlier, and the
    targets; the leading source and the share with no source on file named."""
    first_day, last_day = (d.date() for d in period_days(start, end))

    def at(a: dt.date, b: dt.date) -> tuple[dict[str, float], pd.DataFrame]:
        rows = new_patients(data, a, b)
        summary = new_patients_summary(rows, data, a, b)
        figures = ("new_patients", "new_patient_return_pct", "new_patient_production", "new_patients_per_dentist_month")
        return {k: summary[k] for k in figures}, rows

    now, rows = at(first_day, last_day)
    earlier = period_comparisons(first_day, last_day, lambda a, b: at(a, b)[0])
    notes = []
    sources = new_patients_by_source(rows, patients_together=True)
    named = sources[sources["source"] != NO_SOURCE]
    if len(named):
        top = named.iloc[0]
        notes.append(
            f"{top['source']} brought {top['new_patients']:,} of {len(rows):,} new patients; "
            f"{top['came_back_pct']:.0f} % of them came back."
        )
    unknown = int(sources.loc[sources["source"] == NO_SOURCE, "new_patients"].sum())
    if len(rows) and unknown / len(rows) > 0.1:
        who, have = ("new patient", "has") if unknown == 1 else ("new patients", "have")
        notes.append(f"{unknown:,} {who} ({100 * unknown / len(rows):.0f} %) {have} no referral source on file.")
    return build_context(data, now, earlier, targets, notes)
