"""Outstanding insurance claims on hand-built claims, and on the demo practice against SQL over Open Dental's
own tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from workbench import metrics

from .conftest import DEMO_END, frames

AS_OF = "2026-10-31"


def _claim(cid: int, sent: str | None, status: str = "sent", received: str | None = None, **more: object) -> dict:
    return {
        "claim_id": cid,
        "patient_id": 1,
        "provider_id": 1,
        "carrier_id": more.pop("carrier", 1),
        "claim_type": more.pop("claim_type", "primary"),
        "status": status,
        "date_service": sent,
        "date_sent": sent,
        "date_received": received,
        "billed": 100.0 * cid,
        "ins_pay_est": 10.0 * cid,
        "ins_paid": 10.0 * cid if status == "received" else 0.0,
        **more,
    }


def _data(*claims: dict) -> dict[str, pd.DataFrame]:
    return frames(
        claims=list(claims),
        carriers=[{"carrier_id": 1, "name": "Delta Dental", "phone": "800-1"}, {"carrier_id": 2, "name": "Aetna"}],
        patients=[{"patient_id": 1, "guarantor_id": 1, "last_name": "Ames", "first_name": "Ada", "status": "patient"}],
        providers=[{"provider_id": 1, "abbr": "DOC1"}],
    )


# (claim, outstanding on 2026-10-31, days since sent)
CASES = [
    (_claim(1, "2026-10-01"), True, 30),  # 30 days: still 0-30
    (_claim(2, "2026-09-30"), True, 31),  # 31 days: 31-60
    (_claim(3, "2026-08-02"), True, 90),  # 90 days: 61-90
    (_claim(4, "2026-08-01"), True, 91),  # 91 days: over 90
    (_claim(5, "2026-09-01", "received", "2026-11-05"), True, 60),  # paid after the as-of date: waiting then
    (_claim(6, "2026-09-01", "received", "2026-10-20"), False, None),  # paid before
    (_claim(7, None, "waiting"), False, None),  # in the send queue: not sent
    (_claim(8, "2026-11-02"), False, None),  # sent after the as-of date
    (_claim(9, "2026-10-10", claim_type="preauth"), False, None),  # preauthorizations left out
    (_claim(10, "2026-10-10", "hold"), False, None),  # on hold: not sent
]


@pytest.mark.parametrize(("claim", "outstanding", "days"), CASES, ids=[str(c[0]["claim_id"]) for c in CASES])
def test_a_claim_is_outstanding_from_sent_until_received(claim: dict, outstanding: bool, days: int | None) -> None:
    rows = metrics.outstanding_claims(_data(claim), AS_OF)
    assert len(rows) == int(outstanding)
    if outstanding:
        assert rows["days"].iloc[0] == days
        assert rows["expected"].iloc[0] == claim["ins_pay_est"]
        assert rows["patient"].iloc[0] == "Ames, Ada" and rows["carrier"].iloc[0] == "Delta Dental"


def test_ages_buckets_carriers_and_the_follow_up_list() -> None:
    data = _data(*(c for c, _, _ in CASES), _claim(11, "2026-07-01", carrier=2))
    rows = metrics.outstanding_claims(data, AS_OF)
    assert rows["claim_id"].tolist() == [11, 4, 3, 5, 2, 1]  # oldest first
    by_age = metrics.claims_by_age(rows).set_index("age")
    assert by_age["claims"].to_dict() == {"0-30": 1, "31-60": 2, "61-90": 1, "Over 90": 2}
    assert by_age.loc["31-60", "expected"] == 20 + 50
    assert metrics.outstanding_claims(data, AS_OF, preauths=True)["claim_id"].isin([9]).any()
    carriers = metrics.claims_by_carrier(rows).set_index("carrier")
    assert carriers.loc["Aetna", "expected"] == 110 and carriers.loc["Aetna", "oldest_days"] == 122
    assert carriers.loc["Delta Dental", "expected_over_60"] == 30 + 40
    follow = metrics.follow_up_list(rows, 30)
    assert follow["claim_id"].tolist() == [11, 4, 3, 5, 2]
    empty = metrics.claims_by_age(metrics.outstanding_claims(_data(), AS_OF))
    assert empty["claims"].tolist() == [0, 0, 0, 0]  # every band, even with nothing outstanding


def test_days_to_payment_per_carrier_and_the_summary() -> None:
    data = _data(
        _claim(1, "2026-09-01", "received", "2026-09-21"),  # 20 days
        _claim(2, "2026-09-01", "received", "2026-10-11"),  # 40 days
        _claim(3, "2026-09-01", "received", "2026-10-31", carrier=2),  # 60 days
        _claim(4, "2026-06-01", "received", "2026-06-30"),  # received before the period
        _claim(5, "2026-08-01"),  # outstanding, 91 days
        _claim(6, "2026-10-20"),  # outstanding, 11 days
    )
    paid = metrics.days_to_payment(data, "2026-10-01", "2026-10-31")
    assert paid.set_index("carrier")["avg_days"].to_dict() == {"Aetna": 60.0, "Delta Dental": 40.0}
    paid = metrics.days_to_payment(data, "2026-09-01", "2026-10-31")
    assert paid.set_index("carrier").loc["Delta Dental", "avg_days"] == 30.0
    summary = metrics.claims_summary(metrics.outstanding_claims(data, AS_OF), paid)
    assert summary["claims_expected"] == 110 and summary["claims_over_60_pct"] == round(100 * 50 / 110, 2)
    assert summary["claim_days_to_pay"] == round((20 + 40 + 60) / 3, 1) and summary["claims_over_30"] == 1


def test_claims_context_names_the_carrier_to_call() -> None:
    data = _data(_claim(1, "2026-07-01", carrier=2), _claim(2, "2026-10-20"))
    context = metrics.claims_context(data, AS_OF)
    assert context.figures["claims_expected"] == 30
    assert any(line.startswith("Aetna holds 100 % of the $10") for line in context.findings)


def test_demo_claims_match_sql_over_open_dental_tables(demo_db: Path, demo_frames: dict) -> None:
    """Outstanding amounts by age band and carrier, and days to payment, against SQL over claim, insplan and
    carrier (Open Dental's own columns and letters)."""
    as_of = DEMO_END.isoformat()
    rows = metrics.outstanding_claims(demo_frames, as_of)
    with sqlite3.connect(demo_db) as conn:
        sql = pd.read_sql_query(
            "SELECT ca.CarrierName AS carrier, julianday(?) - julianday(c.DateSent) AS days, c.InsPayEst AS expected "
            "FROM claim c JOIN insplan ip ON ip.PlanNum = c.PlanNum JOIN carrier ca ON ca.CarrierNum = ip.CarrierNum "
            "WHERE c.ClaimType <> 'PreAuth' AND c.DateSent <> '0001-01-01' AND c.DateSent <= ? "
            "AND (c.ClaimStatus = 'S' OR (c.ClaimStatus = 'R' AND c.DateReceived > ?))",
            conn,
            params=[as_of, as_of, as_of],
        )
        paid_sql = pd.read_sql_query(
            "SELECT ca.CarrierName AS carrier, AVG(julianday(c.DateReceived) - julianday(c.DateSent)) AS avg_days "
            "FROM claim c JOIN insplan ip ON ip.PlanNum = c.PlanNum JOIN carrier ca ON ca.CarrierNum = ip.CarrierNum "
            "WHERE c.ClaimStatus = 'R' AND c.DateReceived BETWEEN '2026-01-01' AND ? GROUP BY 1",
            conn,
            params=[as_of],
        )
    assert len(rows) == len(sql) > 10
    assert rows["expected"].sum() == pytest.approx(sql["expected"].sum(), abs=0.005)
    bands = pd.cut(sql["days"], [-1, 30, 60, 90, float("inf")], labels=list(metrics.CLAIM_AGES))
    want = sql.groupby(bands, observed=False)["expected"].sum()
    got = metrics.claims_by_age(rows).set_index("age")["expected"]
    assert got.to_numpy() == pytest.approx(want.to_numpy(), abs=0.005)
    assert (got > 0).sum() >= 3  # the demo has claims in most bands (some carriers never pay)
    by_carrier = metrics.claims_by_carrier(rows).set_index("carrier")["expected"]
    assert by_carrier.sort_index().to_numpy() == pytest.approx(
        sql.groupby("carrier")["expected"].sum().sort_index().to_numpy(), abs=0.005
    )
    paid = metrics.days_to_payment(demo_frames, "2026-01-01", as_of).set_index("carrier")["avg_days"]
    assert paid.sort_index().to_numpy() == pytest.approx(
        paid_sql.set_index("carrier")["avg_days"].sort_index().to_numpy(), abs=0.05
    )
    assert paid.max() - paid.min() > 10  # carriers pay at different speeds
