"""Accounts receivable aging, by family (guarantor) or by patient, as of any date."""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from workbench.metrics._frames import Frames, day, table

__all__ = [
    "AGING_COLUMNS",
    "AGING_DEFINITION",
    "PAID_CLAIMPROC_STATUSES",
    "aging",
    "aging_summary",
    "largest_balances",
    "ledger",
    "patient_names",
]

PAID_CLAIMPROC_STATUSES = ("received", "supplemental", "cap_claim", "cap_complete")
BUCKETS = ("bal_over_90", "bal_61_90", "bal_31_60", "bal_0_30")  # oldest first
AGING_COLUMNS = ["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90", "balance", "ins_est", "patient_portion"]

AGING_DEFINITION = """\
**Aging** (Open Dental's family aging). Charges: completed procedures (fee) on their procedure date and
positive adjustments on their adjustment date. Credits: negative adjustments, patient payments on their
payment date, and insurance payments plus write-offs of received, supplemental and capitation claims on
their insurance payment date. Nothing dated after the as-of date counts. Charges fall into 0–30, 31–60,
61–90 and over-90 day buckets by age; all credits are applied to the oldest bucket first, so a family whose
credits exceed its charges shows a credit (negative) balance and empty buckets. Insurance estimate =
expected insurance payment + write-off on claims not yet received as of that date; patient portion =
balance − insurance estimate."""


def ledger(data: Frames) -> pd.DataFrame:
    """Every dated money movement per patient: amount > 0 is a charge, < 0 a credit."""
    procs = table(data, "procedures")
    adjs = table(data, "adjustments")
    pays = table(data, "patient_payments")
    ins = table(data, "insurance")
    done = procs[procs["status"] == "completed"]
    completed_ids = done["procedure_id"]
    paid = ins[
        ins["status"].isin(PAID_CLAIMPROC_STATUSES)
        & (ins["procedure_id"].isna() | ins["procedure_id"].isin(completed_ids))
    ]
    parts = [
        pd.DataFrame(
            {"patient_id": done["patient_id"], "date": done["date"], "amount": done["fee"], "kind": "procedure"}
        ),
        pd.DataFrame(
            {"patient_id": adjs["patient_id"], "date": adjs["date"], "amount": adjs["amount"], "kind": "adjustment"}
        ),
        pd.DataFrame(
            {
                "patient_id": pays["patient_id"],
                "date": pays["date"],
                "amount": -pays["amount"],
                "kind": "patient_payment",
            }
        ),
        pd.DataFrame(
            {
                "patient_id": paid["patient_id"],
                "date": paid["date_paid"],
                "amount": -(paid["ins_paid"] + paid["write_off"]),
                "kind": "insurance",
            }
        ),
    ]
    return pd.concat(parts, ignore_index=True)


def aging(data: Frames, as_of: date | str, by: Literal["family", "patient"] = "family") -> pd.DataFrame:
    """Aged balances as of ``as_of``: one row per guarantor (or patient) with anything outstanding.

    Columns: guarantor_id (and patient_id when ``by="patient"``), bal_0_30, bal_31_60, bal_61_90,
    bal_over_90, balance, ins_est, patient_portion. See ``AGING_DEFINITION``.
    """
    cutoff = day(as_of, "as-of date")
    patients = table(data, "patients")[["patient_id", "guarantor_id"]]
    keys = ["guarantor_id"] if by == "family" else ["patient_id", "guarantor_id"]

    moves = ledger(data)
    moves = moves[moves["date"].notna() & (moves["date"] <= cutoff)]
    moves = moves.merge(patients, on="patient_id", how="left")
    amount = moves["amount"].to_numpy()
    age = (cutoff - moves["date"]).dt.days.to_numpy()
    charge = np.where(amount > 0, amount, 0.0)
    sums = (
        pd.DataFrame(
            {
                **{k: moves[k] for k in keys},
                "bal_over_90": np.where(age > 90, charge, 0.0),
                "bal_61_90": np.where((age > 60) & (age <= 90), charge, 0.0),
                "bal_31_60": np.where((age > 30) & (age <= 60), charge, 0.0),
                "bal_0_30": np.where(age <= 30, charge, 0.0),
                "credits": np.where(amount < 0, -amount, 0.0),
                "balance": amount,
            }
        )
        .groupby(keys, dropna=False)
        .sum()
    )

    remaining = sums.pop("credits").to_numpy()
    for bucket in BUCKETS:  # credits pay off the oldest charges first
        owed = sums[bucket].to_numpy()
        sums[bucket] = np.maximum(owed - remaining, 0.0)
        remaining = np.maximum(remaining - owed, 0.0)

    pending = _insurance_estimate(data, cutoff).merge(patients, on="patient_id", how="left")
    est = pending.groupby(keys, dropna=False)["ins_est"].sum()
    result = sums.join(est, how="outer").fillna(0.0)
    result["patient_portion"] = result["balance"] - result["ins_est"]
    result = result[AGING_COLUMNS].round(2)
    nonzero = (result.abs() >= 0.005).any(axis=1)
    result = result[nonzero].reset_index()
    for key in keys:
        result[key] = result[key].astype("Int64")
    return result[[*keys, *AGING_COLUMNS]].sort_values(keys, ignore_index=True)


def _insurance_estimate(data: Frames, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Insurance outstanding at ``cutoff``: claims not received then, per patient."""
    ins = table(data, "insurance")
    pending = (ins["status"] == "not_received") | (
        (ins["status"] == "received") & (ins["date_paid"].isna() | (ins["date_paid"] > cutoff))
    )
    rows = ins[pending & (ins["proc_date"] <= cutoff)]
    return pd.DataFrame({"patient_id": rows["patient_id"], "ins_est": rows["ins_pay_est"] + rows["write_off"]})


def aging_summary(table: pd.DataFrame) -> dict[str, float]:
    """Headline figures of an aging table: totals per bucket, over-90 share, families owing, credits."""
    owing = table[table["balance"] > 0]
    positive = float(owing["balance"].sum())
    over_90 = float(table["bal_over_90"].sum())
    return {
        "total": round(float(table["balance"].sum()), 2),
        **{c: round(float(table[c].sum()), 2) for c in ("bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90")},
        "over_90_pct": round(100 * over_90 / positive, 2) if positive else float("nan"),
        "ins_est": round(float(table["ins_est"].sum()), 2),
        "patient_portion": round(float(table["patient_portion"].sum()), 2),
        "families_owing": float(len(owing)),
        "credit_balances": round(float(table.loc[table["balance"] < 0, "balance"].sum()), 2),
    }


def largest_balances(data: Frames, aged: pd.DataFrame, as_of: date | str, n: int = 15) -> pd.DataFrame:
    """The ``n`` largest family balances with the guarantor's name and the family's last payment date."""
    cutoff = day(as_of, "as-of date")
    patients = patient_names(data)
    pays = table(data, "patient_payments")
    pays = pays[pays["date"] <= cutoff].merge(patients[["patient_id", "guarantor_id"]], on="patient_id")
    last_paid = pays.groupby("guarantor_id")["date"].max().rename("last_payment")
    top = aged.nlargest(n, "balance").join(last_paid, on="guarantor_id")
    names = patients.set_index("patient_id")["name"]
    top.insert(1, "guarantor", top["guarantor_id"].map(names))
    return top[
        ["guarantor_id", "guarantor", "balance", "bal_over_90", "ins_est", "patient_portion", "last_payment"]
    ].reset_index(drop=True)


def patient_names(data: Frames) -> pd.DataFrame:
    """patient_id, guarantor_id and "Last, First" of every patient."""
    patients = table(data, "patients")
    name = patients["last_name"].fillna("") + ", " + patients["first_name"].fillna("")
    return pd.DataFrame(
        {"patient_id": patients["patient_id"], "guarantor_id": patients["guarantor_id"], "name": name.str.strip(", ")}
    )
