"""Insurance claims waiting for payment (Open Dental's Outstanding Insurance Claims report) and how fast each
carrier pays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from workbench.metrics._frames import Frames, day, name_of_patient, period_days, provider_abbr, table
from workbench.metrics.attention import Context, Target, as_of_comparisons, build_context
from workbench.periods import trailing_months

__all__ = [
    "CLAIMS_DEFINITION",
    "CLAIM_AGES",
    "claims_by_age",
    "claims_by_carrier",
    "claims_context",
    "claims_summary",
    "days_to_payment",
    "follow_up_list",
    "outstanding_claims",
]

CLAIM_AGES = ("0-30", "31-60", "61-90", "Over 90")  # days since the claim was sent

CLAIMS_DEFINITION = """\
**Outstanding claims** (Open Dental's Outstanding Insurance Claims report): claims sent to the carrier on or
before the as-of date and not received by then (status Sent, or Received on a later date).
Preauthorizations are left out unless asked for. Claims not yet sent (unsent, on hold, waiting in the send
queue) are not outstanding. **Days** are counted from the date sent to the as-of date, in bands 0-30, 31-60,
61-90 and over 90. **Billed** is the claim's fee; **expected** is what insurance is estimated to pay on it
(the claim's InsPayEst), the amount the follow-up is for. **Days to payment**: for the claims received in a
period, the days from sent to received, averaged per carrier. The **follow-up list** holds every claim
outstanding more than 30 days, oldest first."""


def outstanding_claims(data: Frames, as_of: date | str, preauths: bool = False) -> pd.DataFrame:
    """One row per claim outstanding at ``as_of``, oldest first.

    Columns: claim_id, patient_id, patient, carrier, phone, provider_id, clinic_id, provider, claim_type,
    date_service, date_sent, days (since sent), age (one of CLAIM_AGES), billed, expected.
    """
    cutoff = day(as_of, "as-of date")
    claims = table(data, "claims")
    sent = claims["date_sent"].notna() & (claims["date_sent"] <= cutoff)
    waiting = (claims["status"] == "sent") | (
        (claims["status"] == "received") & (claims["date_received"] > cutoff)
    ).fillna(False)
    kept = claims[sent & waiting & (preauths | (claims["claim_type"] != "preauth")).fillna(True)]
    days = (cutoff - kept["date_sent"]).dt.days
    out = pd.DataFrame(
        {
            "claim_id": kept["claim_id"],
            "patient_id": kept["patient_id"],
            "patient": name_of_patient(data, kept["patient_id"]),
            **_carriers(data, kept["carrier_id"]),
            "provider_id": kept["provider_id"],
            "clinic_id": kept["clinic_id"],
            "provider": provider_abbr(data, kept["provider_id"]),
            "claim_type": kept["claim_type"].astype("string"),
            "date_service": kept["date_service"],
            "date_sent": kept["date_sent"],
            "days": days.astype("int64"),
            "age": _age(days),
            "billed": kept["billed"].fillna(0.0),
            "expected": kept["ins_pay_est"].fillna(0.0),
        }
    )
    return out.sort_values(["days", "claim_id"], ascending=[False, True]).reset_index(drop=True)


def _age(days: pd.Series) -> pd.Series:
    edges = [-1, 30, 60, 90, np.inf]  # 0-30 | 31-60 | 61-90 | over 90
    return pd.cut(days, edges, labels=list(CLAIM_AGES)).astype("string")


def _carriers(data: Frames, carrier_ids: pd.Series) -> dict[str, pd.Series]:
    carriers = table(data, "carriers").set_index("carrier_id")
    name = carriers["name"].reindex(carrier_ids).to_numpy()
    phone = carriers["phone"].reindex(carrier_ids).to_numpy()
    return {
        "carrier": pd.Series(name, index=carrier_ids.index, dtype="string").fillna("Carrier not known"),
        "phone": pd.Series(phone, index=carrier_ids.index, dtype="string"),
    }


def claims_by_age(rows: pd.DataFrame) -> pd.DataFrame:
    """Outstanding claims per age band (every band, in order): age, claims, billed, expected."""
    grouped = rows.groupby("age", observed=True).agg(
        claims=("claim_id", "size"), billed=("billed", "sum"), expected=("expected", "sum")
    )
    out = grouped.reindex(list(CLAIM_AGES), fill_value=0).rename_axis("age").reset_index()
    return out.astype({"claims": "int64"})


def claims_by_carrier(rows: pd.DataFrame) -> pd.DataFrame:
    """Outstanding claims per carrier, the largest amount expected first: carrier, phone, claims, expected,
    expected over 60 days, oldest (days)."""
    over_60 = rows["expected"].where(rows["days"] > 60, 0.0)
    out = (
        rows.assign(over_60=over_60)
        .groupby("carrier", dropna=False)
        .agg(
            phone=("phone", "first"),
            claims=("claim_id", "size"),
            expected=("expected", "sum"),
            expected_over_60=("over_60", "sum"),
            oldest_days=("days", "max"),
        )
        .reset_index()
    )
    return out.sort_values(["expected", "carrier"], ascending=[False, True]).reset_index(drop=True)


def days_to_payment(data: Frames, start: date | str, end: date | str) -> pd.DataFrame:
    """Claims received in the period, per carrier (slowest first): carrier, claims, paid, total_days, avg_days,
    median_days (days from sent to received)."""
    first, last = period_days(start, end)
    claims = table(data, "claims")
    got = claims[
        (claims["status"] == "received")
        & claims["date_received"].between(first, last)
        & claims["date_sent"].notna()
        & (claims["claim_type"] != "preauth").fillna(True)
    ]
    frame = pd.DataFrame(
        {
            "carrier": _carriers(data, got["carrier_id"])["carrier"],
            "days": (got["date_received"] - got["date_sent"]).dt.days,
            "paid": got["ins_paid"].fillna(0.0),
        }
    )
    out = (
        frame.groupby("carrier")
        .agg(
            claims=("days", "size"),
            paid=("paid", "sum"),
            total_days=("days", "sum"),
            avg_days=("days", "mean"),
            median_days=("days", "median"),
        )
        .reset_index()
    )
    out["avg_days"] = out["avg_days"].round(1)
    return out.sort_values(["avg_days", "carrier"], ascending=[False, True]).reset_index(drop=True)


def follow_up_list(rows: pd.DataFrame, older_than_days: int = 30) -> pd.DataFrame:
    """The claims outstanding more than ``older_than_days``, oldest first (every one of them)."""
    return rows[rows["days"] > older_than_days].reset_index(drop=True)


def claims_summary(rows: pd.DataFrame, paid: pd.DataFrame) -> dict[str, float]:
    """Headline figures: claims and the amount expected outstanding, the share of it over 60 days, and the
    average days to payment over the claims in ``paid`` (a ``days_to_payment`` frame)."""
    expected = float(rows["expected"].sum())
    over_60 = float(rows.loc[rows["days"] > 60, "expected"].sum())
    received = float(paid["claims"].sum())
    return {
        "claims_outstanding": float(len(rows)),
        "claims_expected": round(expected, 2),
        "claims_billed": round(float(rows["billed"].sum()), 2),
        "claims_over_60_pct": round(100 * over_60 / expected, 2) if expected else float("nan"),
        "claims_over_30": float((rows["days"] > 30).sum()),
        "claim_days_to_pay": round(float(paid["total_days"].sum()) / received, 1) if received else float("nan"),
    }


def claims_context(data: Frames, as_of: date | str, targets: Mapping[str, Target] | None = None) -> Context:
    """What is expected from insurance on outstanding claims, the share over 60 days and the days to payment
    (claims received in the last three months), now, at the end of last month and a year earlier, against
    the targets; the carrier holding the most over 60 days named."""
    cutoff = day(as_of, "as-of date").date()

    def at(when: dt.date) -> tuple[dict[str, float], pd.DataFrame]:
        rows = outstanding_claims(data, when)
        recent = trailing_months(when, 3)
        summary = claims_summary(rows, days_to_payment(data, recent.start, recent.end))
        figures = ("claims_expected", "claims_over_60_pct", "claim_days_to_pay", "claims_over_30")
        return {k: summary[k] for k in figures}, rows

    now, rows = at(cutoff)
    earlier = as_of_comparisons(cutoff, lambda when: at(when)[0])
    notes = []
    by_carrier = claims_by_carrier(rows)
    over_60 = float(by_carrier["expected_over_60"].sum())
    if over_60 > 0:
        top = by_carrier.sort_values("expected_over_60", ascending=False).iloc[0]
        call = f"; call {top['phone']}" if pd.notna(top["phone"]) and top["phone"] else ""
        notes.append(
            f"{top['carrier']} holds {100 * top['expected_over_60'] / over_60:.0f} % of the ${over_60:,.0f} "
            f"expected on claims over 60 days{call}."
        )
    return build_context(data, now, earlier, targets, notes)
