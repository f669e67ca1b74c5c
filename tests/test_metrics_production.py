"""Production & income on a hand-built October (worked out by hand)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from workbench.errors import UsageError
from workbench.metrics import production, scheduled_production

from .conftest import frames


@pytest.fixture(scope="module")
def october() -> dict[str, pd.DataFrame]:
    def p(
        pid: int,
        day: str,
        fee: float,
        prov: int,
        status: str = "completed",
        code: str = "D2392",
        category: str = "Fillings",
    ) -> dict[str, object]:
        return {
            "procedure_id": pid,
            "patient_id": 1,
            "provider_id": prov,
            "date": day,
            "fee": fee,
            "status": status,
            "code": code,
            "category": category,
        }

    def claim(
        cid: int, pid: int, prov: int, paid: float, wo: float, day: str, proc_day: str, status: str = "received"
    ) -> dict[str, object]:
        return {
            "claimproc_id": cid,
            "procedure_id": pid,
            "patient_id": 1,
            "provider_id": prov,
            "status": status,
            "ins_paid": paid,
            "ins_pay_est": paid,
            "write_off": wo,
            "date_paid": day,
            "proc_date": proc_day,
        }

    return frames(
        providers=[{"provider_id": 1, "abbr": "DOC"}, {"provider_id": 2, "abbr": "HYG"}],
        procedures=[
            p(1, "2026-10-05", 100, 1),
            p(2, "2026-10-20", 200, 2, code="D1110", category="Cleanings"),
            p(3, "2026-09-30", 400, 1),
            p(4, "2026-10-10", 999, 1, status="planned"),
        ],
        adjustments=[
            {
                "adjustment_id": 1,
                "patient_id": 1,
                "provider_id": 1,
                "date": "2026-10-06",
                "amount": -10,
                "procedure_id": 1,
            },
            {"adjustment_id": 2, "patient_id": 1, "provider_id": 1, "date": "2026-11-01", "amount": 5},
        ],
        insurance=[
            claim(1, 3, 1, 120, 30, "2026-10-15", "2026-09-30"),
            claim(2, 2, 2, 50, 20, "2026-11-02", "2026-10-20"),
            claim(3, 1, 1, 0, 40, None, "2026-10-05", status="not_received"),
        ],  # type: ignore[arg-type]
        patient_payments=[
            {"split_id": 1, "patient_id": 1, "provider_id": 2, "date": "2026-10-10", "amount": 60, "procedure_id": 2},
            {"split_id": 2, "patient_id": 1, "provider_id": 1, "date": "2026-09-29", "amount": 25},
        ],
    )


def test_totals_for_the_month(october: dict[str, pd.DataFrame]) -> None:
    got = production(october, "2026-10-01", "2026-10-31").iloc[0].to_dict()
    assert got == {
        "gross_production": 300,
        "adjustments": -10,
        "collection_adjustments": 0,
        "write_offs": 30,
        "net_production": 260,
        "patient_income": 60,
        "insurance_income": 120,
        "total_income": 180,
        "collection_pct": 69.23,
    }


def test_write_offs_by_procedure_date(october: dict[str, pd.DataFrame]) -> None:
    got = production(october, "2026-10-01", "2026-10-31", write_offs="procedure_date").iloc[0]
    assert got["write_offs"] == 20 and got["net_production"] == 270
    assert got["insurance_income"] == 120  # income stays by payment date


def test_grouped_by_provider_adds_up_to_the_total(october: dict[str, pd.DataFrame]) -> None:
    by = production(october, "2026-10-01", "2026-10-31", by="provider").set_index("provider")
    assert by.loc["DOC", "gross_production"] == 100 and by.loc["HYG", "gross_production"] == 200
    assert by.loc["DOC", "net_production"] == 100 - 10 - 30
    assert by.loc["HYG", "patient_income"] == 60 and by.loc["DOC", "insurance_income"] == 120
    total = production(october, "2026-10-01", "2026-10-31").iloc[0]
    for column in ("gross_production", "net_production", "total_income"):
        assert by[column].sum() == total[column]


def test_grouped_by_month_and_category(october: dict[str, pd.DataFrame]) -> None:
    months = production(october, "2026-09-01", "2026-11-30", by="month").set_index("month")
    assert months.loc[pd.Timestamp("2026-09-01"), "gross_production"] == 400
    assert months.loc[pd.Timestamp("2026-11-01"), "adjustments"] == 5
    assert months.loc[pd.Timestamp("2026-11-01"), "write_offs"] == 20
    cats = production(october, "2026-10-01", "2026-10-31", by="category").set_index("category")
    assert cats.loc["Cleanings", "gross_production"] == 200 and cats.loc["Fillings", "adjustments"] == -10


def test_empty_period_is_zero_and_collection_pct_undefined(october: dict[str, pd.DataFrame]) -> None:
    got = production(october, "2020-01-01", "2020-01-31").iloc[0]
    assert got["gross_production"] == 0 and pd.isna(got["collection_pct"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2026-11-01", "end": "2026-10-01"}, "after end date"),
        ({"start": "2026-10-01", "end": "soon"}, "bad end date"),
        ({"start": "2026-10-01", "end": "2026-10-31", "by": "weather"}, "cannot group production by weather"),
    ],
)
def test_bad_arguments(october: dict[str, pd.DataFrame], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        production(october, **kwargs)


def test_attribution_to_the_patients_primary_provider() -> None:
    data = frames(
        providers=[{"provider_id": 1, "abbr": "DOC"}, {"provider_id": 2, "abbr": "HYG"}],
        patients=[{"patient_id": 1, "guarantor_id": 1, "primary_provider_id": 1, "status": "patient"}],
        procedures=[
            {
                "procedure_id": 1,
                "patient_id": 1,
                "provider_id": 2,
                "date": "2026-10-05",
                "fee": 110,
                "status": "completed",
            }
        ],
        patient_payments=[{"split_id": 1, "patient_id": 1, "provider_id": 2, "date": "2026-10-05", "amount": 40}],
    )
    treating = production(data, "2026-10-01", "2026-10-31", by="provider").set_index("provider")
    primary = production(data, "2026-10-01", "2026-10-31", by="provider", attribution="primary").set_index("provider")
    assert treating.index.tolist() == ["HYG"] and primary.index.tolist() == ["DOC"]
    assert primary.loc["DOC", "gross_production"] == 110 and primary.loc["DOC", "patient_income"] == 40


def test_collection_adjustment_types_are_kept_out_of_production() -> None:
    data = frames(
        procedures=[{"procedure_id": 1, "patient_id": 1, "date": "2026-10-05", "fee": 500, "status": "completed"}],
        adjustments=[
            {"adjustment_id": 1, "patient_id": 1, "date": "2026-10-06", "amount": -50, "type": "Senior Discount"},
            {"adjustment_id": 2, "patient_id": 1, "date": "2026-10-07", "amount": -120, "type": "Bad Debt Write-off"},
        ],
    )
    default = production(data, "2026-10-01", "2026-10-31").iloc[0]
    assert default["adjustments"] == -170 and default["net_production"] == 330
    split = production(data, "2026-10-01", "2026-10-31", collection_adjustments=["Bad Debt Write-off"]).iloc[0]
    assert split["adjustments"] == -50 and split["collection_adjustments"] == -120 and split["net_production"] == 450


def test_scheduled_production_counts_planned_work_on_booked_appointments() -> None:
    data = frames(
        providers=[{"provider_id": 1, "abbr": "DOC"}],
        appointments=[
            {"appointment_id": 1, "patient_id": 1, "start": "2026-11-03 09:00", "status": "scheduled"},
            {"appointment_id": 2, "patient_id": 1, "start": "2026-11-04 09:00", "status": "broken"},
            {"appointment_id": 3, "patient_id": 1, "start": "2026-12-10 09:00", "status": "scheduled"},
        ],
        procedures=[
            {
                "procedure_id": 1,
                "patient_id": 1,
                "provider_id": 1,
                "appointment_id": 1,
                "fee": 1350,
                "status": "planned",
            },
            {
                "procedure_id": 2,
                "patient_id": 1,
                "provider_id": 1,
                "appointment_id": 1,
                "fee": 325,
                "status": "planned",
            },
            {
                "procedure_id": 3,
                "patient_id": 1,
                "provider_id": 1,
                "appointment_id": 2,
                "fee": 999,
                "status": "planned",
            },
            {
                "procedure_id": 4,
                "patient_id": 1,
                "provider_id": 1,
                "appointment_id": 3,
                "fee": 110,
                "status": "planned",
            },
            {
                "procedure_id": 5,
                "patient_id": 1,
                "provider_id": 1,
                "appointment_id": 1,
                "fee": 50,
                "status": "completed",
            },
        ],
    )
    november = scheduled_production(data, "2026-11-01", "2026-11-30").iloc[0]
    assert november["scheduled_production"] == 1675 and november["appointments"] == 1
    by_day = scheduled_production(data, "2026-11-01", "2026-12-31", by="day").set_index("day")
    assert by_day["scheduled_production"].to_dict() == {
        pd.Timestamp("2026-11-03"): 1675,
        pd.Timestamp("2026-12-10"): 110,
    }


def test_demo_production_equals_independent_sql_sums(demo_db: Path, demo_frames: dict[str, pd.DataFrame]) -> None:
    start, end = "2026-01-01", "2026-10-31"
    with sqlite3.connect(demo_db) as conn:

        def one(sql: str) -> float:
            return round(conn.execute(sql, (start, end)).fetchone()[0] or 0.0, 2)

        expected = {
            "gross_production": one(
                "SELECT SUM(ProcFee * (UnitQty + BaseUnits)) FROM procedurelog "
                "WHERE ProcStatus = 2 AND ProcDate BETWEEN ? AND ?"
            ),
            "adjustments": one("SELECT SUM(AdjAmt) FROM adjustment WHERE AdjDate BETWEEN ? AND ?"),
            "write_offs": one(
                "SELECT SUM(WriteOff) FROM claimproc WHERE Status IN (1, 4, 5, 7) AND DateCP BETWEEN ? AND ?"
            ),
            "patient_income": one("SELECT SUM(SplitAmt) FROM paysplit WHERE DatePay BETWEEN ? AND ?"),
            "insurance_income": one(
                "SELECT SUM(InsPayAmt) FROM claimproc WHERE Status IN (1, 4, 5, 7) AND DateCP BETWEEN ? AND ?"
            ),
        }
    got = production(demo_frames, start, end).iloc[0]
    for column, value in expected.items():
        assert abs(got[column] - value) < 0.005, column
    assert expected["gross_production"] > 100_000
    months = production(demo_frames, start, end, by="month")
    assert abs(months["net_production"].sum() - got["net_production"]) < 0.01


def test_providers_are_named_for_people(demo_frames: dict) -> None:
    by_provider = production(demo_frames, "2026-01-01", "2026-10-31", by="provider")
    providers = demo_frames["providers"].set_index("abbr")["name"]
    assert list(by_provider.columns[:2]) == ["provider", "provider_name"]
    for abbr, name in zip(by_provider["provider"], by_provider["provider_name"], strict=True):
        assert name == f"{providers[abbr]} ({abbr})"
