"""Production and income for a period, optionally grouped (day, month, provider, clinic, category, code)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

import pandas as pd

from workbench.errors import UsageError
from workbench.metrics._frames import Frames, day, table
from workbench.metrics.aging import PAID_CLAIMPROC_STATUSES

__all__ = ["GROUPS", "PRODUCTION_COLUMNS", "PRODUCTION_DEFINITION", "production"]

GROUPS = ("day", "month", "provider", "clinic", "category", "code")
PRODUCTION_COLUMNS = [
    "gross_production",
    "adjustments",
    "write_offs",
    "net_production",
    "patient_income",
    "insurance_income",
    "total_income",
    "collection_pct",
]

PRODUCTION_DEFINITION = """\
**Production & income** (Open Dental's Production and Income report). Gross production: fees of
procedures completed in the period, by procedure date. Adjustments: all adjustments by adjustment date.
Write-offs: insurance write-offs of received, supplemental and capitation claims, by insurance payment
date (or by procedure date when chosen). Net production = gross production + adjustments − write-offs.
Patient income: patient payments by payment date. Insurance income: insurance payments by payment date.
Collection % = total income ÷ net production. Each line is attributed to the provider and clinic on the
procedure, adjustment, payment split or claim line itself."""


def production(
    data: Frames,
    start: date | str,
    end: date | str,
    by: str | Sequence[str] | None = None,
    write_offs: Literal["payment_date", "procedure_date"] = "payment_date",
) -> pd.DataFrame:
    """Production and income from ``start`` through ``end`` (inclusive).

    Without ``by`` one row; with ``by`` (any of GROUPS) one row per group. Columns: gross_production,
    adjustments, write_offs, net_production, patient_income, insurance_income, total_income,
    collection_pct (NaN where net production is zero). See ``PRODUCTION_DEFINITION``.
    """
    first, last = day(start, "start date"), day(end, "end date")
    if first > last:
        raise UsageError(f"start date {first.date()} is after end date {last.date()}")
    groups = [by] if isinstance(by, str) else list(by or [])
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise UsageError(f"cannot group production by {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    if write_offs not in ("payment_date", "procedure_date"):
        raise UsageError(f"write_offs must be 'payment_date' or 'procedure_date', got {write_offs!r}")

    procs = table(data, "procedures")
    ins = table(data, "insurance")
    paid = ins[ins["status"].isin(PAID_CLAIMPROC_STATUSES)]
    done = procs[procs["status"] == "completed"]
    wo_date = paid["date_paid"] if write_offs == "payment_date" else paid["proc_date"]
    lines = [
        _lines(done, done["date"], done["fee"], "gross_production"),
        _lines(table(data, "adjustments"), None, None, "adjustments"),
        _lines(paid, wo_date, paid["write_off"], "write_offs"),
        _lines(table(data, "patient_payments"), None, None, "patient_income"),
        _lines(paid, paid["date_paid"], paid["ins_paid"], "insurance_income"),
    ]
    moves = pd.concat(lines, ignore_index=True)
    moves = moves[(moves["date"] >= first) & (moves["date"] <= last)]
    moves = _add_group_columns(moves, groups, procs, table(data, "providers"))

    keys = [_group_column(g) for g in groups]
    if keys:
        result = moves.pivot_table(
            index=keys, columns="measure", values="amount", aggfunc="sum", fill_value=0.0, observed=True, dropna=False
        )
    else:
        result = moves.groupby("measure")["amount"].sum().to_frame().T
    result = result.reindex(
        columns=["gross_production", "adjustments", "write_offs", "patient_income", "insurance_income"], fill_value=0.0
    )
    if result.empty and not keys:
        result.loc[0] = 0.0
    result = result.astype(float)
    result["net_production"] = result["gross_production"] + result["adjustments"] - result["write_offs"]
    result["total_income"] = result["patient_income"] + result["insurance_income"]
    net = result["net_production"].where(result["net_production"].abs() >= 0.005)
    result["collection_pct"] = 100 * result["total_income"] / net
    result = result[PRODUCTION_COLUMNS].round(2)
    result.columns.name = None
    return result.reset_index() if keys else result.reset_index(drop=True)


def _lines(frame: pd.DataFrame, dates: pd.Series | None, amounts: pd.Series | None, measure: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": frame["date"] if dates is None else dates,
            "amount": frame["amount"] if amounts is None else amounts,
            "provider_id": frame["provider_id"],
            "clinic_id": frame["clinic_id"],
            "procedure_id": frame["procedure_id"],
            "measure": measure,
        }
    )


def _group_column(group: str) -> str:
    return {"provider": "provider", "clinic": "clinic_id"}.get(group, group)


def _add_group_columns(
    moves: pd.DataFrame, groups: list[str], procs: pd.DataFrame, providers: pd.DataFrame
) -> pd.DataFrame:
    if "day" in groups:
        moves = moves.assign(day=moves["date"].dt.normalize())
    if "month" in groups:
        moves = moves.assign(month=moves["date"].dt.to_period("M").dt.to_timestamp())
    if "provider" in groups:
        abbr = providers.set_index("provider_id")["abbr"]
        moves = moves.assign(provider=moves["provider_id"].map(abbr).fillna("(none)").astype(str))
    if "clinic" in groups:
        moves = moves.assign(clinic_id=moves["clinic_id"].fillna(0))
    for group in ("category", "code"):
        if group in groups:
            lookup = procs.set_index("procedure_id")[group]
            moves = moves.assign(
                **{group: moves["procedure_id"].map(lookup).fillna("(not on a procedure)").astype(str)}
            )
    return moves
