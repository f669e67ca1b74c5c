"""Hand-worked ledger cases: one TOML file per case in tests/cases/aging (transactions in, buckets out)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from workbench.metrics import aging
from workbench.metrics.aging import AGING_COLUMNS, aging_history

from .conftest import frames

CASES = sorted((Path(__file__).parent / "cases" / "aging").glob("*.toml"))


def load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def case_frames(case: dict[str, Any]) -> dict[str, pd.DataFrame]:
    people = case.get("patients") or [{"id": 1}]
    patients = [
        {
            "patient_id": p["id"],
            "guarantor_id": p.get("guarantor", p["id"]),
            "last_name": f"P{p['id']}",
            "status": "patient",
        }
        for p in people
    ]
    procedures = [
        {
            "procedure_id": r["id"],
            "patient_id": r["patient"],
            "date": r["date"],
            "fee": r["fee"],
            "status": r.get("status", "completed"),
        }
        for r in case.get("procedures", [])
    ]
    adjustments = [
        {
            "adjustment_id": r["id"],
            "patient_id": r["patient"],
            "date": r["date"],
            "amount": r["amount"],
            "procedure_id": r.get("procedure"),
        }
        for r in case.get("adjustments", [])
    ]
    payments = [
        {
            "split_id": r["id"],
            "patient_id": r["patient"],
            "date": r["date"],
            "amount": r["amount"],
            "procedure_id": r.get("procedure"),
        }
        for r in case.get("payments", [])
    ]
    insurance = [
        {
            "claimproc_id": r["id"],
            "patient_id": r["patient"],
            "procedure_id": r.get("procedure"),
            "status": r["status"],
            "ins_pay_est": r["ins_pay_est"],
            "ins_paid": r["ins_paid"],
            "write_off": r["write_off"],
            "date_paid": r.get("date_paid"),
            "proc_date": r.get("proc_date"),
        }
        for r in case.get("insurance", [])
    ]
    return frames(
        patients=patients,
        procedures=procedures,
        adjustments=adjustments,
        patient_payments=payments,
        insurance=insurance,
    )


def expected_frame(case: dict[str, Any]) -> pd.DataFrame:
    by_patient = case.get("by") == "patient"
    rows = []
    for row in case["expected"]:
        values = {c: float(row.get(c, 0.0)) for c in AGING_COLUMNS if c != "patient_portion"}
        values["patient_portion"] = values["balance"] - values["ins_est"]
        keys = {"patient_id": row["patient"]} if by_patient else {}
        rows.append({**keys, "guarantor_id": row["guarantor"], **values})
    keys = ["patient_id", "guarantor_id"] if by_patient else ["guarantor_id"]
    frame = pd.DataFrame(rows, columns=[*keys, *AGING_COLUMNS])
    for key in keys:
        frame[key] = frame[key].astype("Int64")
    return frame.sort_values(keys, ignore_index=True)


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = load(path)
    got = aging(
        case_frames(case),
        case["as_of"],
        by=case.get("by", "family"),
        proc_lifo=case.get("proc_lifo", False),
        min_age=case.get("min_age", 0),
    )
    pd.testing.assert_frame_equal(got, expected_frame(case), check_dtype=False)


@pytest.mark.parametrize(
    "path", [p for p in CASES if not load(p).get("proc_lifo") and not load(p).get("by")], ids=lambda p: p.stem
)
def test_history_agrees_with_aging_on_every_case(path: Path) -> None:
    case = load(path)
    data = case_frames(case)
    got = aging_history(data, [case["as_of"]], min_age=case.get("min_age", 0)).drop(columns="as_of")
    pd.testing.assert_frame_equal(got, aging(data, case["as_of"], min_age=case.get("min_age", 0)), check_dtype=False)
