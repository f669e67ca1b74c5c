"""Production & income on a hand-built October (worked out by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.errors import UsageError
from workbench.metrics import production

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
