"""Aging on small hand-built ledgers whose answers were worked out by hand (as of 2026-10-31)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.errors import UsageError
from workbench.metrics import AgingScope, aging, aging_summary, largest_balances, ledger

from .conftest import frames

AS_OF = "2026-10-31"
PATIENT = {"patient_id": 1, "guarantor_id": 1, "last_name": "Doe", "first_name": "Jan", "status": "patient"}


def proc(pid: int, day: str, fee: float, patient: int = 1, status: str = "completed") -> dict[str, object]:
    return {"procedure_id": pid, "patient_id": patient, "date": day, "fee": fee, "status": status}


def pay(sid: int, day: str, amount: float, patient: int = 1) -> dict[str, object]:
    return {"split_id": sid, "patient_id": patient, "date": day, "amount": amount}


def row(result: pd.DataFrame, guarantor: int = 1) -> dict[str, float]:
    found = result[result["guarantor_id"] == guarantor]
    assert len(found) == 1, result
    return {k: float(v) for k, v in found.iloc[0].drop("guarantor_id").items()}


def test_credits_pay_off_the_oldest_bucket_first() -> None:
    data = frames(
        patients=[PATIENT],
        procedures=[proc(1, "2026-10-20", 100), proc(2, "2026-09-15", 200), proc(3, "2026-07-01", 300)],
        patient_payments=[pay(1, "2026-10-25", 350)],
    )
    assert row(aging(data, AS_OF)) == {
        "bal_0_30": 100,
        "bal_31_60": 150,
        "bal_61_90": 0,
        "bal_over_90": 0,
        "balance": 250,
        "ins_est": 0,
        "patient_portion": 250,
    }


def test_credit_larger_than_charges_is_a_negative_balance_with_empty_buckets() -> None:
    data = frames(
        patients=[PATIENT], procedures=[proc(1, "2026-10-01", 100)], patient_payments=[pay(1, "2026-10-02", 150)]
    )
    assert row(aging(data, AS_OF)) == {
        "bal_0_30": 0,
        "bal_31_60": 0,
        "bal_61_90": 0,
        "bal_over_90": 0,
        "balance": -50,
        "ins_est": 0,
        "patient_portion": -50,
    }


def test_rows_dated_after_the_as_of_date_do_not_count() -> None:
    data = frames(
        patients=[PATIENT],
        procedures=[proc(1, "2026-10-30", 80), proc(2, "2026-11-05", 500)],
        patient_payments=[pay(1, "2026-11-01", 80)],
    )
    assert row(aging(data, AS_OF))["balance"] == 80
    assert row(aging(data, "2026-11-05"))["balance"] == 500


@pytest.mark.parametrize(
    ("day", "bucket"),
    [
        ("2026-10-31", "bal_0_30"),  # age 0
        ("2026-10-01", "bal_0_30"),  # age 30: still 0-30
        ("2026-09-30", "bal_31_60"),  # age 31
        ("2026-09-01", "bal_31_60"),  # age 60
        ("2026-08-31", "bal_61_90"),  # age 61
        ("2026-08-02", "bal_61_90"),  # age 90
        ("2026-08-01", "bal_over_90"),  # age 91
    ],
)
def test_bucket_edges(day: str, bucket: str) -> None:
    data = frames(patients=[PATIENT], procedures=[proc(1, day, 70)])
    result = row(aging(data, AS_OF))
    assert result[bucket] == 70
    assert sum(result[b] for b in ("bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90")) == 70


def test_insurance_payments_write_offs_and_estimates() -> None:
    data = frames(
        patients=[PATIENT],
        procedures=[
            proc(1, "2026-10-01", 1000),
            proc(2, "2026-10-25", 500),
            proc(3, "2026-10-28", 300),
            proc(4, "2026-10-29", 999, status="planned"),
        ],
        insurance=[
            # paid 600 + write-off 200 on proc 1: credits 800
            {
                "claimproc_id": 1,
                "procedure_id": 1,
                "patient_id": 1,
                "status": "received",
                "ins_pay_est": 600,
                "ins_paid": 600,
                "write_off": 200,
                "date_paid": "2026-10-20",
                "proc_date": "2026-10-01",
            },
            # claim on proc 2 not received yet: estimate 300 + write-off 100
            {
                "claimproc_id": 2,
                "procedure_id": 2,
                "patient_id": 1,
                "status": "not_received",
                "ins_pay_est": 300,
                "ins_paid": 0,
                "write_off": 100,
                "proc_date": "2026-10-25",
            },
            # received on 11-10: outstanding as of 10-31 (est 200 + write-off 50), no credit yet
            {
                "claimproc_id": 3,
                "procedure_id": 3,
                "patient_id": 1,
                "status": "received",
                "ins_pay_est": 200,
                "ins_paid": 210,
                "write_off": 50,
                "date_paid": "2026-11-10",
                "proc_date": "2026-10-28",
            },
            # an estimate on planned treatment never counts
            {
                "claimproc_id": 4,
                "procedure_id": 4,
                "patient_id": 1,
                "status": "estimate",
                "ins_pay_est": 999,
                "ins_paid": 0,
                "write_off": 0,
                "proc_date": "2026-10-29",
            },
        ],
    )
    result = row(aging(data, AS_OF))
    assert result["balance"] == 1000 + 500 + 300 - 800
    assert result["ins_est"] == 400 + 250
    assert result["patient_portion"] == 1000 - 650
    later = row(aging(data, "2026-11-15"))
    assert later["ins_est"] == 400 and later["balance"] == 1800 - 800 - 260


def test_payment_on_a_procedure_that_is_not_completed_is_not_a_credit() -> None:
    data = frames(
        patients=[PATIENT],
        procedures=[proc(1, "2026-10-01", 100), proc(2, "2026-10-02", 300, status="deleted")],
        insurance=[
            {
                "claimproc_id": 1,
                "procedure_id": 2,
                "patient_id": 1,
                "status": "received",
                "ins_paid": 200,
                "write_off": 0,
                "ins_pay_est": 200,
                "date_paid": "2026-10-10",
                "proc_date": "2026-10-02",
            }
        ],
    )
    assert row(aging(data, AS_OF))["balance"] == 100


def test_adjustments_positive_charge_negative_credit() -> None:
    data = frames(
        patients=[PATIENT],
        adjustments=[
            {"adjustment_id": 1, "patient_id": 1, "date": "2026-06-01", "amount": 50.0},
            {"adjustment_id": 2, "patient_id": 1, "date": "2026-10-30", "amount": -20.0},
        ],
    )
    result = row(aging(data, AS_OF))
    assert result["bal_over_90"] == 30 and result["balance"] == 30 and result["bal_0_30"] == 0


def test_family_rolls_up_to_the_guarantor_and_by_patient_splits_it() -> None:
    kid = {**PATIENT, "patient_id": 2, "first_name": "Kit"}
    data = frames(
        patients=[PATIENT, kid],
        procedures=[proc(1, "2026-10-10", 100), proc(2, "2026-07-10", 40, patient=2)],
        patient_payments=[pay(1, "2026-10-11", 30, patient=2)],
    )
    family = aging(data, AS_OF)
    assert len(family) == 1
    assert row(family) == {
        "bal_0_30": 100,
        "bal_31_60": 0,
        "bal_61_90": 0,
        "bal_over_90": 10,
        "balance": 110,
        "ins_est": 0,
        "patient_portion": 110,
    }
    per_patient = aging(data, AS_OF, by="patient").set_index("patient_id")
    assert per_patient.loc[1, "balance"] == 100 and per_patient.loc[2, "balance"] == 10
    assert (per_patient["guarantor_id"] == 1).all()


def test_settled_families_are_left_out_and_ledger_signs_are_right() -> None:
    data = frames(
        patients=[PATIENT], procedures=[proc(1, "2026-10-01", 100)], patient_payments=[pay(1, "2026-10-01", 100)]
    )
    assert aging(data, AS_OF).empty
    moves = ledger(data).set_index("kind")["amount"]
    assert moves["procedure"] == 100 and moves["patient_payment"] == -100


def test_summary_and_largest_balances() -> None:
    other = {**PATIENT, "patient_id": 2, "guarantor_id": 2, "last_name": "Roe", "first_name": "Al"}
    data = frames(
        patients=[PATIENT, other],
        procedures=[proc(1, "2026-05-01", 300), proc(2, "2026-10-01", 100, patient=2)],
        patient_payments=[pay(1, "2026-09-01", 100), pay(2, "2026-10-02", 150, patient=2)],
    )
    table = aging(data, AS_OF)
    summary = aging_summary(table)
    assert summary["total"] == 150 and summary["bal_over_90"] == 200
    assert summary["over_90_pct"] == 100.0 and summary["families_owing"] == 1 and summary["credit_balances"] == -50
    top = largest_balances(data, table, AS_OF, n=1)
    assert top.loc[0, "guarantor"] == "Doe, Jan" and top.loc[0, "last_payment"] == pd.Timestamp("2026-09-01")


def test_bad_as_of_date_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="bad as-of date"):
        aging(frames(), "31/10/2026")


def test_scope_filters_providers_clinics_and_billing_types() -> None:
    from workbench.metrics import AgingScope

    data = frames(
        patients=[
            {**PATIENT, "clinic_id": 1, "billing_type": "Standard"},
            {**PATIENT, "patient_id": 2, "guarantor_id": 2, "clinic_id": 2, "billing_type": "Collections"},
        ],
        procedures=[
            {**proc(1, "2026-10-01", 100), "provider_id": 7},
            {**proc(2, "2026-10-01", 40), "provider_id": 8},
            {**proc(3, "2026-10-01", 60, patient=2), "provider_id": 7},
        ],
        patient_payments=[{**pay(1, "2026-10-02", 30), "provider_id": 8}],
    )
    everything = aging(data, AS_OF).set_index("guarantor_id")["balance"].to_dict()
    assert everything == {1: 110, 2: 60}
    doc7 = aging(data, AS_OF, scope=AgingScope(providers=[7])).set_index("guarantor_id")["balance"].to_dict()
    assert doc7 == {1: 100, 2: 60}  # provider 8's charge and payment are left out
    clinic2 = aging(data, AS_OF, scope=AgingScope(clinics=[2]))
    assert clinic2["guarantor_id"].tolist() == [2]
    collections = aging(data, AS_OF, scope=AgingScope(billing_types=["Collections"]))
    assert collections["guarantor_id"].tolist() == [2]


def _report_options_practice() -> dict:
    """Four families: 1 owes (an insurance estimate pending), 2 is in credit, 3's guarantor is inactive,
    4's guarantor archived (both owe)."""
    return frames(
        patients=[
            {"patient_id": 1, "guarantor_id": 1, "status": "patient"},
            {"patient_id": 2, "guarantor_id": 2, "status": "patient"},
            {"patient_id": 3, "guarantor_id": 3, "status": "inactive"},
            {"patient_id": 4, "guarantor_id": 4, "status": "archived", "has_zip": False},
            {"patient_id": 5, "guarantor_id": 3, "status": "patient", "has_zip": False},
        ],
        procedures=[
            {"procedure_id": 1, "patient_id": 1, "date": "2026-10-01", "fee": 200.0, "status": "completed"},
            {"procedure_id": 2, "patient_id": 5, "date": "2026-09-01", "fee": 80.0, "status": "completed"},
            {"procedure_id": 3, "patient_id": 4, "date": "2026-05-01", "fee": 60.0, "status": "completed"},
        ],
        patient_payments=[{"split_id": 1, "patient_id": 2, "date": "2026-10-05", "amount": 25.0}],
        insurance=[
            {
                "claimproc_id": 1,
                "patient_id": 1,
                "procedure_id": 1,
                "status": "not_received",
                "ins_pay_est": 120.0,
                "ins_paid": 0.0,
                "write_off": 0.0,
                "proc_date": "2026-10-01",
            },
        ],
    )


@pytest.mark.parametrize(
    ("options", "families"),
    [
        ({}, [1, 2, 3, 4]),
        ({"balances": "owing"}, [1, 3, 4]),
        ({"balances": "credit"}, [2]),
        ({"insured_only": True}, [1]),
        ({"scope": AgingScope(exclude_statuses=("inactive", "archived"))}, [1, 2]),
        ({"scope": AgingScope(exclude_statuses=("archived",)), "balances": "owing"}, [1, 3]),
        ({"scope": AgingScope(exclude_bad_address=True)}, [1, 2, 3]),  # 5 has no ZIP, but 3 is the guarantor
    ],
    ids=["all", "owing", "credit", "insured", "no-inactive-archived", "owing-no-archived", "no-bad-address"],
)
def test_the_aging_reports_options_choose_families(options: dict, families: list[int]) -> None:
    got = aging(_report_options_practice(), "2026-10-31", **options)
    assert got["guarantor_id"].tolist() == families
    every = aging(_report_options_practice(), "2026-10-31").set_index("guarantor_id")
    pd.testing.assert_frame_equal(got.set_index("guarantor_id"), every.loc[families])  # chosen, not changed


def test_a_bad_balances_option_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="balances must be 'all', 'owing' or 'credit'"):
        aging(_report_options_practice(), "2026-10-31", balances="negative")  # type: ignore[arg-type]


@pytest.mark.parametrize("proc_lifo", [False, True])
def test_last_payment_is_the_latest_payment_in_both_modes(proc_lifo: bool) -> None:
    """Open Dental's LedgersTests_ComputeAgingProcLifo_DateLastPay: payments 50 and 2 days ago, adjustments
    on a procedure between them; the family's last payment is the one 2 days ago, whatever the mode."""
    data = frames(
        patients=[PATIENT],
        procedures=[proc(1, "2026-07-28", 1000.0), proc(2, "2026-08-07", 100.0)],
        patient_payments=[pay(1, "2026-09-11", 50.0), pay(2, "2026-10-29", 50.0)],
        adjustments=[
            {"adjustment_id": 1, "patient_id": 1, "date": "2026-09-21", "amount": 4.0, "procedure_id": 2},
            {"adjustment_id": 2, "patient_id": 1, "date": "2026-09-21", "amount": 6.0, "procedure_id": 2},
        ],
    )
    table = aging(data, AS_OF, proc_lifo=proc_lifo)
    top = largest_balances(data, table, AS_OF)
    assert top.loc[0, "last_payment"] == pd.Timestamp("2026-10-29")
    assert top.loc[0, "balance"] == 1010.0


def test_bad_addresses_are_left_out_on_the_demo_practice(demo_frames: dict) -> None:
    """The demo keeps a few guarantors without a ZIP code (read from Open Dental's patient.Zip)."""
    patients = demo_frames["patients"]
    no_zip = set(patients.loc[patients["has_zip"].eq(False) & (patients["patient_id"] == patients["guarantor_id"]),
                              "guarantor_id"])  # fmt: skip
    every = aging(demo_frames, AS_OF)
    kept = aging(demo_frames, AS_OF, scope=AgingScope(exclude_bad_address=True))
    assert no_zip & set(every["guarantor_id"])  # some of them owe, so the option matters
    assert set(kept["guarantor_id"]) == set(every["guarantor_id"]) - no_zip


def test_large_sparse_patient_ids_age_as_small_ones(demo_frames: dict) -> None:
    """Some systems number patients with 64-bit ids: the same practice with every patient id moved far up
    (no table indexed by id fits) ages to the same families and amounts, by family and by patient."""
    shift = 4_000_000_000_000
    moved = {
        name: frame.assign(**{c: frame[c] + shift for c in ("patient_id", "guarantor_id") if c in frame})
        for name, frame in demo_frames.items()
    }
    for by in ("family", "patient"):
        small = aging(demo_frames, AS_OF, by=by, scope=AgingScope(providers=[1, 2]))
        large = aging(moved, AS_OF, by=by, scope=AgingScope(providers=[1, 2]))
        keys = [c for c in ("patient_id", "guarantor_id") if c in large]
        pd.testing.assert_frame_equal(large.assign(**{c: large[c] - shift for c in keys}), small)
        assert len(small) > 10
