"""Accounts receivable aging, by family (guarantor) or by patient, as of any date."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from workbench.errors import UsageError
from workbench.metrics._frames import NS_PER_DAY, Frames, day, derived, full_name, table

__all__ = [
    "AGING_COLUMNS",
    "AGING_DEFINITION",
    "PAID_CLAIMPROC_STATUSES",
    "PROC_LIFO_DEFINITION",
    "AgingScope",
    "aging",
    "aging_history",
    "aging_summary",
    "aging_trend",
    "families_in_bucket",
    "family_balances",
    "largest_balances",
    "ledger",
    "patient_names",
]

LEDGER_KINDS = ["procedure", "adjustment", "patient_payment", "insurance"]
LEDGER_KIND = pd.CategoricalDtype(LEDGER_KINDS)
PAID_CLAIMPROC_STATUSES = ("received", "supplemental", "cap_claim", "cap_complete")
BUCKETS = ("bal_over_90", "bal_61_90", "bal_31_60", "bal_0_30")  # oldest first
AGING_COLUMNS = ["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90", "balance", "ins_est", "patient_portion"]

AGING_DEFINITION = """\
**Aging** (Open Dental's family aging). Charges: completed procedures (fee) on their procedure date and
positive adjustments on their adjustment date. Credits: negative adjustments, patient payments on their
payment date, and insurance payments plus write-offs of received, supplemental and capitation claims on
their insurance payment date. Nothing dated after the as-of date counts. Charges fall into 0–30, 31–60,
61–90 and over-90 day buckets by age; all credits are applied to the oldest bucket first, so a family whose
credits exceed its charges shows a credit (negative) balance and empty buckets. A family is aged in its
guarantor's clinic (production counts each procedure in its own clinic). Insurance estimate = expected
insurance payment + write-off on claims not yet received as of that date, for claim lines on completed
procedures (or on none): an estimate on planned treatment is not owed. Patient portion = balance −
insurance estimate."""

PROC_LIFO_DEFINITION = """\
**Adjustments aged with their procedure** (Open Dental's AgingProcLifo preference, off unless the office
turns it on): adjustments attached to a procedure are summed per patient, procedure and day; a sum that
reduces the balance is dated on the procedure's date and taken off that procedure's bucket (a bucket taken
below zero passes the rest on as a credit to the oldest balance), a sum that adds is a charge on its own
day. Payments and insurance are not attached this way: they are credits to the oldest balance, as always."""


def ledger(data: Frames) -> pd.DataFrame:
    """Every dated money movement per patient: amount > 0 is a charge, < 0 a credit.

    Columns: patient_id, date, amount, kind, provider_id, procedure_id (the procedure a line is attached
    to; for a procedure, itself). Built once per connected practice (a report ages it several times).
    """
    return derived(data, "ledger", lambda: _ledger(data))


def _ledger(data: Frames) -> pd.DataFrame:
    frames = []
    for rows, keep, dates, amounts, kind in _ledger_parts(data):
        pick = slice(None) if keep is None else keep
        frames.append(
            pd.DataFrame(  # arrays, not series: no index to carry along
                {
                    "patient_id": rows["patient_id"].array[pick],
                    "date": dates.array[pick],
                    "amount": amounts.array[pick],
                    "kind": pd.Categorical.from_codes(
                        np.full(len(rows) if keep is None else int(keep.sum()), LEDGER_KINDS.index(kind)),
                        dtype=LEDGER_KIND,
                    ),
                    "provider_id": rows["provider_id"].array[pick],
                    "procedure_id": rows["procedure_id"].array[pick],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _ledger_parts(data: Frames) -> list[tuple[pd.DataFrame, np.ndarray | None, pd.Series, pd.Series, str]]:
    """The ledger's lines of each kind, in the ledger's order: (the table they are rows of, which rows (None:
    all), their dates, their amounts, the kind). Nothing is copied: each user takes only the columns it needs."""
    procs = table(data, "procedures")
    ins = table(data, "insurance")
    done = (procs["status"] == "completed").to_numpy(dtype=bool, na_value=False)
    paid = ins["status"].isin(PAID_CLAIMPROC_STATUSES).to_numpy(dtype=bool, na_value=False) & _owed_lines(data)
    adjs, pays = table(data, "adjustments"), table(data, "patient_payments")
    return [
        (procs, done, procs["date"], procs["fee"], "procedure"),
        (adjs, None, adjs["date"], adjs["amount"], "adjustment"),
        (pays, None, pays["date"], -pays["amount"], "patient_payment"),
        (ins, paid, ins["date_paid"], -(ins["ins_paid"] + ins["write_off"]), "insurance"),
    ]


@dataclass(frozen=True)
class AgingScope:
    """Which transactions and families an aging looks at (Open Dental's aging report filters).

    ``providers``: only transactions of these providers; ``clinics`` and ``billing_types``: only
    families whose guarantor is in these clinics or has these billing types. None means all.
    ``exclude_statuses``: leave out families whose guarantor has one of these statuses (Open Dental's
    "exclude inactive" and "exclude archived": ``("inactive", "archived")``). ``exclude_bad_address``:
    leave out families whose guarantor has no ZIP code on file (where the system says).
    """

    providers: Collection[int] | None = None
    clinics: Collection[int] | None = None
    billing_types: Collection[str] | None = None
    exclude_statuses: Collection[str] = ()
    exclude_bad_address: bool = False

    def families(self, patients: pd.DataFrame) -> pd.DataFrame:
        """patient_id -> guarantor_id for the patients of the families in scope."""
        guarantors = patients.set_index("patient_id")
        keep = pd.Series(True, index=patients.index)
        if self.clinics is not None:
            clinic = patients["guarantor_id"].map(guarantors["clinic_id"])
            keep &= clinic.isin(list(self.clinics))
        if self.billing_types is not None:
            billing = patients["guarantor_id"].map(guarantors["billing_type"])
            keep &= billing.isin(list(self.billing_types))
        if self.exclude_statuses:
            status = patients["guarantor_id"].map(guarantors["status"]).astype("string")
            keep &= ~status.isin(list(self.exclude_statuses)).fillna(False)
        if self.exclude_bad_address:
            keep &= patients["guarantor_id"].map(guarantors["has_zip"]).astype("boolean").fillna(True).astype(bool)
        return patients.loc[keep, ["patient_id", "guarantor_id"]]

    def transactions(self, rows: pd.DataFrame) -> pd.DataFrame:
        if self.providers is None:
            return rows
        return rows[rows["provider_id"].isin(list(self.providers))]


def aging(
    data: Frames,
    as_of: date | str,
    by: Literal["family", "patient"] = "family",
    *,
    proc_lifo: bool = False,
    min_age: Literal[0, 30, 60, 90] = 0,
    scope: AgingScope | None = None,
    balances: Literal["all", "owing", "credit"] = "all",
    insured_only: bool = False,
) -> pd.DataFrame:
    """Aged balances as of ``as_of``: one row per guarantor (or patient) with anything outstanding.

    Columns: guarantor_id (and patient_id when ``by="patient"``), bal_0_30, bal_31_60, bal_61_90,
    bal_over_90, balance, ins_est, patient_portion. ``proc_lifo``: Open Dental's AgingProcLifo, adjustments
    attached to a procedure aged with it (see PROC_LIFO_DEFINITION). ``min_age``: only accounts with a
    balance older than 30, 60 or 90 days. ``balances``: every account (Open Dental's "include negative
    balances"), only those owing, or only credit balances ("only negative balances"). ``insured_only``: only
    accounts with an insurance estimate. ``scope``: providers, clinics, billing types, guarantor statuses
    left out. See AGING_DEFINITION.
    """
    cutoff = day(as_of, "as-of date")
    if min_age not in (0, 30, 60, 90):
        raise UsageError(f"min_age must be 0, 30, 60 or 90, got {min_age!r}")
    if by not in ("family", "patient"):
        raise UsageError(f"aging by must be 'family' or 'patient', got {by!r}")
    if balances not in ("all", "owing", "credit"):
        raise UsageError(f"balances must be 'all', 'owing' or 'credit', got {balances!r}")
    scope = scope or AgingScope()
    if proc_lifo:
        result = _aging_proc_lifo(data, cutoff, by, scope, min_age)
    else:
        result = _balances(data, by, scope).at([cutoff], min_age)[0]
    if balances != "all":
        result = result[result["balance"] >= 0.005 if balances == "owing" else result["balance"] <= -0.005]
    if insured_only:
        result = result[result["ins_est"].abs() >= 0.005]
    return result.reset_index(drop=True)


def _aging_proc_lifo(data: Frames, cutoff: pd.Timestamp, by: str, scope: AgingScope, min_age: int) -> pd.DataFrame:
    """Aging with adjustments attached to a procedure summed and aged with it (PROC_LIFO_DEFINITION)."""
    families = scope.families(table(data, "patients"))
    keys = ["guarantor_id"] if by == "family" else ["patient_id", "guarantor_id"]
    moves = scope.transactions(ledger(data))
    moves = moves[moves["date"].notna() & (moves["date"] <= cutoff)]
    moves = _sum_by_procedure_and_day(moves.assign(instant=False), table(data, "procedures"))
    moves = moves.merge(families, on="patient_id", how="inner")
    age = (cutoff - moves["date"]).dt.days.to_numpy()
    sums = _bucket_sums(moves, age, keys)
    pending = scope.transactions(_pending_insurance(data, cutoff)).merge(families, on="patient_id", how="inner")
    est = pending.groupby(keys)["ins_est"].sum()
    return _finish(sums.join(est, how="outer").fillna(0.0), keys, min_age)


def _bucket_sums(moves: pd.DataFrame, age: np.ndarray, keys: list[str]) -> pd.DataFrame:
    """Charges summed per bucket by age, credits applied oldest first, per group of ``keys``. Rows marked
    ``instant`` count in their bucket with their sign; a bucket they take below zero passes the rest on
    to the credits."""
    amount = moves["amount"].to_numpy()
    instant = moves["instant"].to_numpy(bool) if "instant" in moves else np.zeros(len(moves), bool)
    charge = np.where((amount > 0) | instant, amount, 0.0)
    sums = (
        pd.DataFrame(
            {
                **{k: moves[k].to_numpy() for k in keys},
                "bal_over_90": np.where(age > 90, charge, 0.0),
                "bal_61_90": np.where((age > 60) & (age <= 90), charge, 0.0),
                "bal_31_60": np.where((age > 30) & (age <= 60), charge, 0.0),
                "bal_0_30": np.where(age <= 30, charge, 0.0),
                "credits": np.where((amount < 0) & ~instant, -amount, 0.0),
                "balance": amount,
            }
        )
        .groupby(keys)
        .sum()
    )
    credits = sums.pop("credits").to_numpy()
    for bucket in BUCKETS:
        below = np.minimum(sums[bucket].to_numpy(), 0.0)
        credits = credits - below
        sums[bucket] = sums[bucket].to_numpy() - below
    _apply_credits(sums, credits)
    return sums


def _apply_credits(sums: pd.DataFrame, credits: np.ndarray) -> None:
    """Take ``credits`` off the oldest bucket first, in place."""
    remaining = credits
    for bucket in BUCKETS:
        owed = sums[bucket].to_numpy()
        sums[bucket] = np.maximum(owed - remaining, 0.0)
        remaining = np.maximum(remaining - owed, 0.0)


def _finish(result: pd.DataFrame, keys: list[str], min_age: int) -> pd.DataFrame:
    result["patient_portion"] = result["balance"] - result["ins_est"]
    result = result[AGING_COLUMNS].round(2)
    keep = (result.abs() >= 0.005).any(axis=1)
    if min_age:
        older = [b for b, edge in (("bal_31_60", 30), ("bal_61_90", 60), ("bal_over_90", 90)) if edge >= min_age]
        keep &= result[older].sum(axis=1) >= 0.005
    result = result[keep].reset_index()
    for key in keys:
        result[key] = result[key].astype("Int64")
    return result[[*keys, *AGING_COLUMNS]].sort_values(keys, ignore_index=True)


def _sum_by_procedure_and_day(moves: pd.DataFrame, procedures: pd.DataFrame) -> pd.DataFrame:
    """Open Dental's AgingProcLifo: adjustments attached to a procedure summed per patient, procedure and
    day, as ``instant`` rows; a sum below zero is dated on the procedure's date (PROC_LIFO_DEFINITION)."""
    when = procedures.set_index("procedure_id")["date"]
    attached = (moves["kind"] == "adjustment") & moves["procedure_id"].isin(when.index)
    if not attached.any():
        return moves
    keys = ["patient_id", "procedure_id", "date"]
    rows = moves[attached]
    sums = rows.groupby(keys, as_index=False).agg(amount=("amount", "sum"), provider_id=("provider_id", "first"))
    sums["date"] = sums["date"].where(sums["amount"] >= 0, sums["procedure_id"].map(when))
    sums = sums.assign(kind="adjustment", instant=True)
    return pd.concat([moves[~attached], sums[moves.columns]], ignore_index=True)


def _owed_lines(data: Frames) -> np.ndarray:
    """Which claim lines can be owed: those on a completed procedure, or on none (not on planned work)."""
    ins = table(data, "insurance")
    procs = table(data, "procedures")
    done = procs["procedure_id"].array[(procs["status"] == "completed").to_numpy(dtype=bool, na_value=False)]
    return (ins["procedure_id"].isna() | ins["procedure_id"].isin(done)).to_numpy(dtype=bool, na_value=False)


def _estimating(data: Frames) -> pd.DataFrame:
    """Claim lines whose estimate can be owed (``_owed_lines``)."""
    columns = ["patient_id", "provider_id", "status", "proc_date", "date_paid", "ins_pay_est", "write_off"]
    return table(data, "insurance")[columns][_owed_lines(data)]


def _pending_insurance(data: Frames, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Insurance outstanding at ``cutoff`` per claim line: not received then (patient_id, provider_id, ins_est)."""
    ins = _estimating(data)
    pending = (ins["status"] == "not_received") | (
        (ins["status"] == "received") & (ins["date_paid"].isna() | (ins["date_paid"] > cutoff))
    )
    lines = ins[pending & (ins["proc_date"] <= cutoff)]
    return pd.DataFrame(
        {
            "patient_id": lines["patient_id"],
            "provider_id": lines["provider_id"],
            "ins_est": lines["ins_pay_est"] + lines["write_off"],
        }
    )


def aging_history(
    data: Frames, dates: Sequence[date | str], *, min_age: Literal[0, 30, 60, 90] = 0, scope: AgingScope | None = None
) -> pd.DataFrame:
    """Family aging as of each of ``dates`` in one pass over the ledger (not one pass per date).

    Returns the rows ``aging(data, d)`` would return for each date d, with an ``as_of`` column first.
    Credits are applied oldest first (``proc_lifo=False``).
    """
    cutoffs = sorted({day(d, "as-of date") for d in dates})
    if not cutoffs:
        return pd.DataFrame(columns=["as_of", "guarantor_id", *AGING_COLUMNS])
    aged = _balances(data, "family", scope or AgingScope()).at(cutoffs, min_age)
    result = pd.concat(
        [rows.assign(as_of=cutoff) for cutoff, rows in zip(cutoffs, aged, strict=True)], ignore_index=True
    )
    return result[["as_of", "guarantor_id", *AGING_COLUMNS]]


def _balances(data: Frames, by: str, scope: AgingScope) -> _Balances:
    """The running balances of ``data``'s accounts in ``scope``, made once per connected practice."""
    return derived(data, f"balances {by} {scope!r}", lambda: _Balances(data, by, scope))


class _Balances:
    """Every account's ledger lines and insurance estimate events as (account, day, amount) arrays (family or
    patient accounts, in one scope), taken from the tables once: the aging as of any days is then one counting
    pass over them, with no frame built. Credits are applied oldest first (``proc_lifo=False``)."""

    def __init__(self, data: Frames, by: str, scope: AgingScope) -> None:
        families = scope.families(table(data, "patients"))
        owner = "guarantor_id" if by == "family" else "patient_id"
        ids = np.unique(families[owner].dropna().to_numpy(int))  # every account in scope (empty ones drop out)
        if by == "family":
            self.index = pd.Index(ids, name="guarantor_id")
            self.keys = ["guarantor_id"]
        else:
            guarantor = families.set_index("patient_id")["guarantor_id"].reindex(ids).to_numpy()
            self.index = pd.MultiIndex.from_arrays([ids, guarantor], names=["patient_id", "guarantor_id"])
            self.keys = ["patient_id", "guarantor_id"]
        accounts = _Accounts(families["patient_id"], families[owner], ids)
        moves = [accounts.lines(*part[:4], scope.providers) for part in _ledger_parts(data)]
        account, days, amount = (np.concatenate(column) for column in zip(*moves, strict=True))
        charges, credits = np.where(amount > 0, amount, 0.0), np.where(amount < 0, -amount, 0.0)
        self.money = _Cumulative(len(ids), account, days, charges, credits)
        estimates = [accounts.lines(*part, scope.providers) for part in _estimate_parts(data)]
        self.estimates = _Cumulative(len(ids), *(np.concatenate(column) for column in zip(*estimates, strict=True)))

    def at(self, cutoffs: Sequence[pd.Timestamp], min_age: int = 0) -> list[pd.DataFrame]:
        """The aging table as of each of ``cutoffs``: the rows ``aging`` returns (before its balance filters)."""
        lags = (0, 31, 61, 91)
        charged, credited = self.money.at([c - pd.Timedelta(days=lag) for c in cutoffs for lag in lags])
        paid = credited[:: len(lags)]  # as of each cutoff (lag 0)
        (estimated,) = self.estimates.at(cutoffs)
        tables = []
        for i in range(len(cutoffs)):
            upto = dict(zip(lags, charged[i * len(lags) : (i + 1) * len(lags)], strict=True))
            sums = pd.DataFrame(
                {
                    "bal_0_30": upto[0] - upto[31],
                    "bal_31_60": upto[31] - upto[61],
                    "bal_61_90": upto[61] - upto[91],
                    "bal_over_90": upto[91],
                    "balance": upto[0] - paid[i],
                    "ins_est": estimated[i],
                },
                index=self.index,
            )
            _apply_credits(sums, paid[i])
            tables.append(_finish(sums, self.keys, min_age))
        return tables


def aging_trend(history: pd.DataFrame) -> pd.DataFrame:
    """Totals per as-of date of an ``aging_history``: A/R, each bucket, over-90 share, insurance estimate."""
    owing = history.assign(owing=history["balance"].clip(lower=0))
    totals = owing.groupby("as_of")[[*BUCKETS[::-1], "balance", "ins_est", "owing"]].sum()
    totals["over_90_pct"] = (100 * totals["bal_over_90"] / totals["owing"].where(totals["owing"] > 0)).round(2)
    return totals.drop(columns="owing").round(2).reset_index()


def _estimate_parts(data: Frames) -> list[tuple[pd.DataFrame, np.ndarray, pd.Series, pd.Series]]:
    """Insurance estimates as events, as (claim lines, which, dates, amounts): +estimate on the procedure date,
    −estimate when received."""
    ins = table(data, "insurance")
    owed = _owed_lines(data)
    waiting = owed & (ins["status"] == "not_received").to_numpy(dtype=bool, na_value=False)
    received = owed & (ins["status"] == "received").to_numpy(dtype=bool, na_value=False)
    estimate = ins["ins_pay_est"] + ins["write_off"]
    # a line received before its procedure date was never outstanding; one with no payment date still is
    paid, done = ins["date_paid"], ins["proc_date"]
    paid_on = paid.where(paid.isna() | (paid > done), done)
    return [
        (ins, waiting, done, estimate),
        (ins, received, done, estimate),
        (ins, received, paid_on, -estimate),
    ]


class _Accounts:
    """Which account each patient's lines go to: a position in the accounts' ids, or none (out of scope)."""

    def __init__(self, patients: pd.Series, owners: pd.Series, ids: np.ndarray) -> None:
        patient = patients.to_numpy(dtype="int64", na_value=-1)
        owner = owners.to_numpy(dtype="int64", na_value=-1)
        position = np.searchsorted(ids, owner)
        known = position < len(ids)
        known[known] = ids[position[known]] == owner[known]
        known &= patient >= 0
        patient, position = patient[known], position[known]
        if len(patient) and patient.max() >= 16 * len(patient) + 1_000_000:  # ids too sparse for a table
            order = np.argsort(patient)
            self.patients, self.positions = patient[order], position[order]
            self.table = None
        else:  # a table indexed by patient id, -1 where none (the last entry: any id past the end)
            self.table = np.full(int(patient.max(initial=-1)) + 2, -1)
            self.table[patient] = position

    def of(self, patient_ids: pd.Series) -> np.ndarray:
        """Each line's account position, -1 for a patient outside the accounts."""
        wanted = patient_ids.to_numpy(dtype="int64", na_value=-1)
        if self.table is not None:
            past = len(self.table) - 1
            return self.table[np.where((wanted >= 0) & (wanted < past), wanted, past)]
        at = np.searchsorted(self.patients, wanted).clip(max=len(self.patients) - 1)
        return np.where(self.patients[at] == wanted, self.positions[at], -1)

    def lines(
        self,
        rows: pd.DataFrame,
        keep: np.ndarray | None,
        dates: pd.Series,
        amounts: pd.Series,
        providers: Collection[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(account position, day, amount) of the dated lines of ``rows`` where ``keep`` (None: all) that are in
        the accounts (and of ``providers``)."""
        account = self.of(rows["patient_id"])
        times = dates.to_numpy("datetime64[ns]").view(np.int64)
        inside = (account >= 0) & (times != np.iinfo(np.int64).min)  # the smallest is NaT: undated
        if keep is not None:
            inside &= keep
        if providers is not None:
            inside &= rows["provider_id"].isin(list(providers)).to_numpy(dtype=bool, na_value=False)
        days = (times[inside] // NS_PER_DAY).view("datetime64[D]")
        return account[inside], days, amounts.to_numpy(dtype=float, na_value=np.nan)[inside]


class _Cumulative:
    """Dated amounts per account (one or more columns of them): the sums of every account up to any days, for
    many days in one pass over the rows (each row counted once, in the span between two of the days)."""

    def __init__(self, size: int, account: np.ndarray, days: np.ndarray, *amounts: np.ndarray) -> None:
        self.size, self.account, self.days, self.amounts = size, account, days, amounts

    def at(self, cutoffs: Sequence[pd.Timestamp]) -> list[np.ndarray]:
        """Per column, a matrix whose row i holds each account's sum of the amounts dated on or before
        ``cutoffs[i]``."""
        targets = np.array([np.datetime64(c.date(), "D") for c in cutoffs], dtype="datetime64[D]")
        edges = np.unique(targets)
        spans = len(edges) + 1  # span j: after edges[j - 1], up to edges[j]; the last: after every edge
        cell = self.account * spans + np.searchsorted(edges, self.days, side="left")
        rows = np.searchsorted(edges, targets)
        sums = [  # float even where no row is (bincount then gives integers)
            np.bincount(cell, weights=amount, minlength=self.size * spans).astype(float, copy=False)
            for amount in self.amounts
        ]
        return [column.reshape(self.size, spans)[:, :-1].cumsum(axis=1).T[rows] for column in sums]


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


def family_balances(data: Frames, aged: pd.DataFrame, as_of: date | str) -> pd.DataFrame:
    """Every row of a family aging with the guarantor's name and the family's last payment date, largest
    balance first: guarantor_id, guarantor, the four buckets, balance, ins_est, patient_portion, last_payment
    (Open Dental's Aging of A/R list)."""
    cutoff = day(as_of, "as-of date")
    patients = patient_names(data)
    pays = table(data, "patient_payments")
    pays = pays[pays["date"] <= cutoff].merge(patients[["patient_id", "guarantor_id"]], on="patient_id")
    last_paid = pays.groupby("guarantor_id")["date"].max().rename("last_payment")
    rows = aged.sort_values(["balance", "guarantor_id"], ascending=[False, True]).join(last_paid, on="guarantor_id")
    names = patients.set_index("patient_id")["name"]
    rows.insert(1, "guarantor", rows["guarantor_id"].map(names))
    return rows[["guarantor_id", "guarantor", *AGING_COLUMNS, "last_payment"]].reset_index(drop=True)


def largest_balances(data: Frames, aged: pd.DataFrame, as_of: date | str, n: int = 15) -> pd.DataFrame:
    """The ``n`` largest family balances with the guarantor's name and the family's last payment date."""
    return family_balances(data, aged, as_of).head(n)[
        ["guarantor_id", "guarantor", "balance", "bal_over_90", "ins_est", "patient_portion", "last_payment"]
    ]


def families_in_bucket(data: Frames, aged: pd.DataFrame, bucket: str) -> pd.DataFrame:
    """The families behind one bucket of an aging table (``bal_0_30`` ... ``bal_over_90``), largest first:
    guarantor_id, guarantor, amount (in that bucket), balance; the amounts add up to the bucket's total."""
    if bucket not in BUCKETS:
        raise UsageError(f"unknown aging bucket {bucket!r}; choose from {', '.join(BUCKETS)}")
    rows = aged[aged[bucket].abs() >= 0.005]
    names = patient_names(data).set_index("patient_id")["name"]
    out = pd.DataFrame(
        {
            "guarantor_id": rows["guarantor_id"],
            "guarantor": rows["guarantor_id"].map(names),
            "amount": rows[bucket].astype(float),
            "balance": rows["balance"].astype(float),
        }
    )
    return out.sort_values("amount", ascending=False, ignore_index=True)


def patient_names(data: Frames) -> pd.DataFrame:
    """patient_id, guarantor_id and "Last, First" of every patient."""
    patients = table(data, "patients")
    name = full_name(patients)
    return pd.DataFrame({"patient_id": patients["patient_id"], "guarantor_id": patients["guarantor_id"], "name": name})
