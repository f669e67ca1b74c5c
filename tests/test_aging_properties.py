"""Properties of aging that hold for any ledger (hypothesis generates the ledgers)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.metrics import aging
from workbench.metrics.aging import PAID_CLAIMPROC_STATUSES, aging_history, ledger
from workbench.model import CLAIMPROC_STATUSES

from .conftest import frames

START = date(2026, 1, 1)
BUCKETS = ["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90"]
days = st.integers(min_value=0, max_value=300).map(lambda n: (START + timedelta(days=n)).isoformat())
cents = st.integers(min_value=-50_000, max_value=200_000).map(lambda c: c / 100)
positive_cents = st.integers(min_value=0, max_value=200_000).map(lambda c: c / 100)


@st.composite
def ledgers(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    n_patients = draw(st.integers(1, 5))
    guarantors = [1] + [draw(st.sampled_from(range(1, i + 2))) for i in range(1, n_patients)]
    patients = [
        {"patient_id": i + 1, "guarantor_id": g if g <= i + 1 else i + 1, "status": "patient"}
        for i, g in enumerate(guarantors)
    ]
    for p in patients:  # a guarantor must be their own guarantor
        g = next(q for q in patients if q["patient_id"] == p["guarantor_id"])
        if g["guarantor_id"] != g["patient_id"]:
            p["guarantor_id"] = p["patient_id"]
    ids = st.integers(1, n_patients)
    procs = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "patient_id": ids,
                    "date": days,
                    "fee": positive_cents,
                    "status": st.sampled_from(["completed", "completed", "completed", "planned", "deleted"]),
                }
            ),
            max_size=8,
        )
    )
    for i, p in enumerate(procs):
        p["procedure_id"] = i + 1
    proc_ids = st.one_of(st.none(), st.integers(1, max(len(procs), 1)))
    pays = draw(
        st.lists(
            st.fixed_dictionaries({"patient_id": ids, "date": days, "amount": cents, "procedure_id": proc_ids}),
            max_size=6,
        )
    )
    adjs = draw(
        st.lists(
            st.fixed_dictionaries({"patient_id": ids, "date": days, "amount": cents, "procedure_id": proc_ids}),
            max_size=4,
        )
    )
    ins = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "patient_id": ids,
                    "procedure_id": proc_ids,
                    "status": st.sampled_from(CLAIMPROC_STATUSES),
                    "ins_pay_est": positive_cents,
                    "ins_paid": positive_cents,
                    "write_off": positive_cents,
                    "date_paid": st.one_of(st.none(), days),
                    "proc_date": days,
                }
            ),
            max_size=6,
        )
    )
    return frames(patients=patients, procedures=procs, patient_payments=pays, adjustments=adjs, insurance=ins)


def _expected_balance(data: dict[str, pd.DataFrame], as_of: str) -> pd.Series:
    """Charges minus credits up to the as-of date, per guarantor, computed the long way round."""
    cutoff = pd.Timestamp(as_of)
    owner = data["patients"].set_index("patient_id")["guarantor_id"]
    total: dict[int, float] = {}

    def add(patient: Any, amount: float) -> None:
        total[int(owner[patient])] = total.get(int(owner[patient]), 0.0) + amount

    procs = data["procedures"]
    done = set(procs.loc[procs["status"] == "completed", "procedure_id"])
    for r in procs.itertuples():
        if r.status == "completed" and r.date <= cutoff:
            add(r.patient_id, r.fee)
    for r in data["adjustments"].itertuples():
        if r.date <= cutoff:
            add(r.patient_id, r.amount)
    for r in data["patient_payments"].itertuples():
        if r.date <= cutoff:
            add(r.patient_id, -r.amount)
    for r in data["insurance"].itertuples():
        attached_ok = pd.isna(r.procedure_id) or r.procedure_id in done
        if r.status in PAID_CLAIMPROC_STATUSES and attached_ok and pd.notna(r.date_paid) and r.date_paid <= cutoff:
            add(r.patient_id, -(r.ins_paid + r.write_off))
    return pd.Series(total, dtype=float).round(2)


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(data=ledgers(), as_of=days, lifo=st.booleans())
def test_buckets_are_never_negative_and_add_up(data: dict[str, pd.DataFrame], as_of: str, lifo: bool) -> None:
    got = aging(data, as_of, proc_lifo=lifo)
    assert (got[BUCKETS] >= 0).all().all()
    owing = got[got["balance"] > 0]
    assert ((owing[BUCKETS].sum(axis=1) - owing["balance"]).abs() < 0.011).all()
    credit = got[got["balance"] <= 0]
    assert (credit[BUCKETS] == 0).all().all()


@FAST
@given(data=ledgers(), as_of=days, lifo=st.booleans())
def test_balance_is_charges_minus_credits_up_to_the_as_of_date(
    data: dict[str, pd.DataFrame], as_of: str, lifo: bool
) -> None:
    got = aging(data, as_of, proc_lifo=lifo).set_index("guarantor_id")["balance"]
    expected = _expected_balance(data, as_of)
    expected = expected[expected.abs() >= 0.005]
    for guarantor, balance in expected.items():
        assert abs(got.get(guarantor, 0.0) - balance) < 0.011
    assert set(got[got.abs() >= 0.005].index) <= set(expected.index) | set(
        aging(data, as_of).query("ins_est != 0")["guarantor_id"]
    )


@FAST
@given(data=ledgers(), later=ledgers(), as_of=days)
def test_rows_after_the_as_of_date_change_nothing(
    data: dict[str, pd.DataFrame], later: dict[str, pd.DataFrame], as_of: str
) -> None:
    cutoff = pd.Timestamp(as_of)
    shifted = {}
    for name in ("procedures", "adjustments", "patient_payments", "insurance"):
        rows = later[name].copy()
        offset = 10_000 + len(data[name])
        key = rows.columns[0]
        rows[key] = rows[key] + offset
        for col in ("date", "date_paid", "proc_date"):
            if col in rows:
                rows[col] = cutoff + pd.Timedelta(days=1) + (rows[col] - pd.Timestamp(START))
        if "procedure_id" in rows and name != "procedures":
            rows["procedure_id"] = rows["procedure_id"] + 10_000 + len(data["procedures"])
        rows = rows[rows["patient_id"].isin(data["patients"]["patient_id"])]
        shifted[name] = pd.concat([data[name], rows], ignore_index=True)
    grown = {**data, **shifted}
    pd.testing.assert_frame_equal(aging(grown, as_of), aging(data, as_of))


@FAST
@given(data=ledgers(), as_of=days)
def test_family_balance_is_the_sum_of_its_patients(data: dict[str, pd.DataFrame], as_of: str) -> None:
    family = aging(data, as_of).set_index("guarantor_id")
    patients = aging(data, as_of, by="patient").groupby("guarantor_id")[["balance", "ins_est"]].sum()
    joined = family[["balance", "ins_est"]].join(patients.add_suffix("_sum"), how="outer").fillna(0.0)
    assert ((joined["balance"] - joined["balance_sum"]).abs() < 0.011).all()
    assert ((joined["ins_est"] - joined["ins_est_sum"]).abs() < 0.011).all()


@FAST
@given(data=ledgers(), dates=st.lists(days, min_size=1, max_size=4))
def test_history_equals_aging_at_every_date(data: dict[str, pd.DataFrame], dates: list[str]) -> None:
    history = aging_history(data, dates)
    for d in set(dates):
        one = history[history["as_of"] == pd.Timestamp(d)].drop(columns="as_of").reset_index(drop=True)
        pd.testing.assert_frame_equal(one, aging(data, d), check_dtype=False)


@FAST
@given(data=ledgers())
def test_ledger_signs(data: dict[str, pd.DataFrame]) -> None:
    moves = ledger(data)
    assert (moves.loc[moves["kind"] == "procedure", "amount"] >= 0).all()
