"""Production and income for a period, optionally grouped (day, month, provider, clinic, category, code)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from workbench.errors import UsageError
from workbench.metrics._frames import Frames, day, derived, period_days, provider_names, table
from workbench.metrics.aging import PAID_CLAIMPROC_STATUSES, patient_names

__all__ = [
    "GROUPS",
    "PRODUCTION_COLUMNS",
    "PRODUCTION_DEFINITION",
    "completed_procedures",
    "production",
    "scheduled_production",
]

GROUPS = ("day", "month", "provider", "clinic", "category", "code")
MEASURES = [
    "gross_production",
    "adjustments",
    "collection_adjustments",
    "write_offs",
    "patient_income",
    "insurance_income",
]
MEASURE = pd.CategoricalDtype(MEASURES)
PRODUCTION_COLUMNS = [
    "gross_production",
    "adjustments",
    "collection_adjustments",
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
date (or by procedure date when chosen). Adjustment types named as collection adjustments are shown apart
and left out of production. Net production = gross production + adjustments − write-offs.
Patient income: patient payments by payment date. Insurance income: insurance payments by payment date.
Collection % = total income ÷ net production. Each line is attributed to the provider and clinic on the
procedure, adjustment, payment split or claim line itself (or, when chosen, to the patient's primary
provider). Scheduled production: fees of planned procedures on appointments booked in the period."""


def production(
    data: Frames,
    start: date | str,
    end: date | str,
    by: str | Sequence[str] | None = None,
    write_offs: Literal["payment_date", "procedure_date"] = "payment_date",
    attribution: Literal["treating", "primary"] = "treating",
    collection_adjustments: Collection[str] = (),
    providers: Collection[int] | None = None,
    clinics: Collection[int] | None = None,
) -> pd.DataFrame:
    """Production and income from ``start`` through ``end`` (inclusive).

    Without ``by`` one row; with ``by`` (any of GROUPS) one row per group (by provider: the abbreviation
    and ``provider_name``, "Name (ABBR)"). Columns: gross_production,
    adjustments, collection_adjustments, write_offs, net_production, patient_income, insurance_income,
    total_income, collection_pct (NaN where net production is zero).

    ``attribution``: credit each line to the provider on it ("treating") or to the patient's primary
    provider ("primary"). ``collection_adjustments``: adjustment type names that are collection
    adjustments (reported apart, not part of net production); every other adjustment is production.
    ``providers`` / ``clinics``: only lines of these providers (after attribution) or clinics.
    See ``PRODUCTION_DEFINITION``.
    """
    first, last = period_days(start, end)
    groups = [by] if isinstance(by, str) else list(by or [])
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise UsageError(f"cannot group production by {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    if write_offs not in ("payment_date", "procedure_date"):
        raise UsageError(f"write_offs must be 'payment_date' or 'procedure_date', got {write_offs!r}")
    if attribution not in ("treating", "primary"):
        raise UsageError(f"attribution must be 'treating' or 'primary', got {attribution!r}")

    moves = _dated_lines(data, write_offs, collection_adjustments).between(first, last)
    procs = table(data, "procedures")
    if attribution == "primary":
        primary = table(data, "patients").set_index("patient_id")["primary_provider_id"]
        moves = moves.assign(provider_id=moves["patient_id"].map(primary))
    if providers is not None:
        moves = moves[moves["provider_id"].isin(list(providers))]
    if clinics is not None:
        moves = moves[moves["clinic_id"].isin(list(clinics))]
    moves = _add_group_columns(moves, groups, procs, table(data, "providers"))

    keys = [_group_column(g) for g in groups]
    if keys:
        result = moves.pivot_table(
            index=keys, columns="measure", values="amount", aggfunc="sum", fill_value=0.0, observed=True, dropna=False
        )
    else:
        result = moves.groupby("measure")["amount"].sum().to_frame().T
    result = result.reindex(columns=MEASURES, fill_value=0.0)
    if result.empty and not keys:
        result.loc[0] = 0.0
    result = result.astype(float)
    result["net_production"] = result["gross_production"] + result["adjustments"] - result["write_offs"]
    result["total_income"] = result["patient_income"] + result["insurance_income"]
    net = result["net_production"].where(result["net_production"].abs() >= 0.005)
    result["collection_pct"] = 100 * result["total_income"] / net
    result = result[PRODUCTION_COLUMNS].round(2)
    result.columns.name = None
    if not keys:
        return result.reset_index(drop=True)
    result = result.reset_index()
    if "provider" in keys:
        result.insert(keys.index("provider") + 1, "provider_name", provider_names(data, result["provider"]))
    return result


def completed_procedures(
    data: Frames,
    start: date | str,
    end: date | str,
    providers: Collection[int] | None = None,
    clinics: Collection[int] | None = None,
) -> pd.DataFrame:
    """The procedures behind gross production from ``start`` through ``end`` (the provider on each line):
    date, patient, code, description, provider, fee; their fees add up to ``production(...)``'s gross."""
    first, last = day(start, "start date"), day(end, "end date")
    procs = table(data, "procedures")
    done = procs[(procs["status"] == "completed") & (procs["date"] >= first) & (procs["date"] <= last)]
    if providers is not None:
        done = done[done["provider_id"].isin(list(providers))]
    if clinics is not None:
        done = done[done["clinic_id"].isin(list(clinics))]
    names = patient_names(data).set_index("patient_id")["name"]
    abbr = table(data, "providers").set_index("provider_id")["abbr"]
    out = pd.DataFrame(
        {
            "date": done["date"],
            "patient": done["patient_id"].map(names),
            "code": done["code"],
            "description": done["description"],
            "provider": done["provider_id"].map(abbr),
            "fee": done["fee"].astype(float),
        }
    )
    return out.sort_values(["date", "patient"], ignore_index=True)


def _dated_lines(data: Frames, write_offs: str, collection_adjustments: Collection[str]) -> _DatedLines:
    """Every line of every measure, made once per connected practice: a report asks for many periods."""
    kinds = tuple(sorted(collection_adjustments))
    return derived(data, f"production lines {write_offs} {kinds}", lambda: _DatedLines(data, write_offs, kinds))


class _DatedLines:
    """The lines of every measure (date, amount, patient, provider, clinic, procedure, measure), kept as the
    columns they come from: a period's lines are picked from each by day, and only they are copied."""

    def __init__(self, data: Frames, write_offs: str, collection_adjustments: Collection[str]) -> None:
        procs = table(data, "procedures")
        ins = table(data, "insurance")
        adjs = table(data, "adjustments")
        paid = ins["status"].isin(PAID_CLAIMPROC_STATUSES)
        is_collection = adjs["type"].isin(list(collection_adjustments))
        wo_date = ins["date_paid"] if write_offs == "payment_date" else ins["proc_date"]
        self.parts = [
            _Lines(procs, "gross_production", amounts=procs["fee"], keep=procs["status"] == "completed"),
            _Lines(adjs, "adjustments", keep=~is_collection),
            _Lines(adjs, "collection_adjustments", keep=is_collection),
            _Lines(ins, "write_offs", wo_date, ins["write_off"], paid),
            _Lines(table(data, "patient_payments"), "patient_income"),
            _Lines(ins, "insurance_income", ins["date_paid"], ins["ins_paid"], paid),
        ]

    def between(self, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
        """The lines dated from ``first`` through ``last`` (days)."""
        begin, end = first.normalize().value, (last.normalize() + pd.Timedelta(days=1)).value
        return pd.concat([part.between(begin, end) for part in self.parts], ignore_index=True)


class _Lines:
    """One measure's dated lines: the rows of ``frame`` where ``keep``, on ``dates`` (else its date), of
    ``amounts`` (else its amount). Nothing is copied until a period asks for its rows."""

    def __init__(
        self,
        frame: pd.DataFrame,
        measure: str,
        dates: pd.Series | None = None,
        amounts: pd.Series | None = None,
        keep: pd.Series | None = None,
    ) -> None:
        when = frame["date"] if dates is None else dates
        self.times = when.to_numpy("datetime64[ns]").view(np.int64)  # NaT is the smallest: never in a period
        self.keep = None if keep is None else keep.to_numpy(dtype=bool, na_value=False)
        self.columns = {
            "date": when.array,
            "amount": (frame["amount"] if amounts is None else amounts).array,
            **{c: frame[c].array for c in ("patient_id", "provider_id", "clinic_id", "procedure_id")},
        }
        self.code = MEASURES.index(measure)

    def between(self, begin: int, end: int) -> pd.DataFrame:
        """The lines from ``begin`` (included) to ``end`` (excluded), in nanoseconds since 1970."""
        inside = (self.times >= begin) & (self.times < end)
        rows = np.flatnonzero(inside if self.keep is None else inside & self.keep)
        return pd.DataFrame(  # arrays, not series: no index to carry along
            {
                **{name: values.take(rows) for name, values in self.columns.items()},
                "measure": pd.Categorical.from_codes(np.full(len(rows), self.code), dtype=MEASURE),
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


def scheduled_production(
    data: Frames, start: date | str, end: date | str, by: Literal["day", "provider"] | None = None
) -> pd.DataFrame:
    """Production booked ahead: planned procedures on scheduled appointments starting in the period.

    Columns: (day or provider,) appointments, scheduled_production.
    """
    first, last = period_days(start, end)
    apts = table(data, "appointments")
    booked = apts[
        (apts["status"] == "scheduled") & (apts["start"] >= first) & (apts["start"] < last + pd.Timedelta(days=1))
    ]
    procs = table(data, "procedures")
    planned = procs[(procs["status"] == "planned") & procs["appointment_id"].isin(booked["appointment_id"])]
    lines = planned.merge(booked[["appointment_id", "start"]], on="appointment_id")
    if by == "day":
        lines = lines.assign(day=lines["start"].dt.normalize())
    elif by == "provider":
        abbr = table(data, "providers").set_index("provider_id")["abbr"]
        lines = lines.assign(provider=lines["provider_id"].map(abbr).fillna("(none)").astype(str))
    elif by is not None:
        raise UsageError(f"cannot group scheduled production by {by!r}; choose day or provider")
    if by is None:
        return pd.DataFrame(
            {
                "appointments": [lines["appointment_id"].nunique()],
                "scheduled_production": [round(float(lines["fee"].sum()), 2)],
            }
        )
    grouped = lines.groupby(by).agg(appointments=("appointment_id", "nunique"), scheduled_production=("fee", "sum"))
    grouped = grouped.round(2).reset_index()
    if by == "provider":
        grouped.insert(1, "provider_name", provider_names(data, grouped["provider"]))
    return grouped
