"""The canonical model: every source maps its system's tables to these frames.

Semantics follow Open Dental (DESIGN.md §4). Identifiers are nullable integers, money is float64 in
the practice's currency, dates are ``datetime64[ns]`` with missing dates as ``NaT``, enums are
categoricals with a fixed set of snake_case names. A column a system cannot supply stays null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from workbench.errors import SchemaError

__all__ = [
    "ADJUSTMENT_KINDS",
    "APPOINTMENT_STATUSES",
    "CLAIMPROC_STATUSES",
    "CLAIM_STATUSES",
    "CLAIM_TYPES",
    "PATIENT_STATUSES",
    "PROCEDURE_STATUSES",
    "REFERRAL_DIRECTIONS",
    "REFERRAL_KINDS",
    "SCHEMA_VERSION",
    "TABLES",
    "FrameProvider",
    "TableSpec",
    "conform",
    "empty_frame",
    "to_datetime",
    "to_text",
    "validate",
]

# 2: procedures.date_planned; 3: cache manifest with change files and watermarks; 4: has_zip;
# 5: claims, carriers, insurance plans, patient plans, referral sources and patient referrals
SCHEMA_VERSION = 5

PATIENT_STATUSES = ("patient", "nonpatient", "inactive", "archived", "deleted", "deceased", "prospective")
PROCEDURE_STATUSES = (
    "planned",
    "completed",
    "existing_current",
    "existing_other",
    "referred",
    "deleted",
    "condition",
    "planned_inactive",
)
APPOINTMENT_STATUSES = (
    "none",
    "scheduled",
    "complete",
    "unscheduled",
    "asap",
    "broken",
    "planned",
    "pt_note",
    "pt_note_completed",
)
CLAIMPROC_STATUSES = (
    "not_received",
    "received",
    "preauth",
    "adjustment",
    "supplemental",
    "cap_claim",
    "estimate",
    "cap_complete",
    "cap_estimate",
    "ins_hist",
)
ADJUSTMENT_KINDS = ("production", "collection")
# Open Dental's claim.ClaimStatus letters U, H, W, S, R, I (P, "probably sent", is no longer written)
CLAIM_STATUSES = ("unsent", "hold", "waiting", "probably_sent", "sent", "received", "hold_in_process")
CLAIM_TYPES = ("primary", "secondary", "preauth", "other", "capitation", "medical")
REFERRAL_DIRECTIONS = ("to", "from", "custom")  # refattach.RefType 0, 1, 2
REFERRAL_KINDS = ("doctor", "patient", "other")

Dtype = np.dtype[Any] | ExtensionDtype
ID: Dtype = pd.Int64Dtype()
TEXT: Dtype = pd.StringDtype()
DATE: Dtype = np.dtype("datetime64[ns]")
MONEY: Dtype = np.dtype("float64")
FLAG: Dtype = pd.BooleanDtype()
COUNT: Dtype = pd.Int64Dtype()


def _enum(values: tuple[str, ...]) -> Dtype:
    return pd.CategoricalDtype(categories=list(values), ordered=False)


@dataclass(frozen=True)
class TableSpec:
    """Columns (name -> dtype) of one canonical table; the first column is its key."""

    name: str
    columns: Mapping[str, Dtype] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return next(iter(self.columns))


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "providers",
            {
                "provider_id": ID,
                "abbr": TEXT,
                "name": TEXT,
                "is_hygienist": FLAG,
                "hidden": FLAG,
            },
        ),
        TableSpec("clinics", {"clinic_id": ID, "name": TEXT}),
        TableSpec(
            "patients",
            {
                "patient_id": ID,
                "guarantor_id": ID,
                "last_name": TEXT,
                "first_name": TEXT,
                "birthdate": DATE,
                "status": _enum(PATIENT_STATUSES),
                "primary_provider_id": ID,
                "hygienist_id": ID,
                "clinic_id": ID,
                "first_visit_date": DATE,
                "billing_type": TEXT,
                "phone": TEXT,
                "email": TEXT,
                "has_zip": FLAG,  # a ZIP code on file (False: Open Dental's "bad address"; null: not known)
            },
        ),
        TableSpec(
            "procedures",
            {
                "procedure_id": ID,
                "patient_id": ID,
                "provider_id": ID,
                "clinic_id": ID,
                "appointment_id": ID,
                "date": DATE,
                "code": TEXT,
                "description": TEXT,
                "category": TEXT,
                "status": _enum(PROCEDURE_STATUSES),
                "fee": MONEY,
                "date_planned": DATE,
            },
        ),
        TableSpec(
            "adjustments",
            {
                "adjustment_id": ID,
                "patient_id": ID,
                "provider_id": ID,
                "clinic_id": ID,
                "procedure_id": ID,
                "date": DATE,
                "amount": MONEY,
                "type": TEXT,
            },
        ),
        TableSpec(
            "patient_payments",
            {
                "split_id": ID,
                "payment_id": ID,
                "patient_id": ID,
                "provider_id": ID,
                "clinic_id": ID,
                "procedure_id": ID,
                "date": DATE,
                "amount": MONEY,
            },
        ),
        TableSpec(
            "insurance",
            {
                "claimproc_id": ID,
                "procedure_id": ID,
                "claim_id": ID,
                "patient_id": ID,
                "provider_id": ID,
                "clinic_id": ID,
                "status": _enum(CLAIMPROC_STATUSES),
                "ins_pay_est": MONEY,
                "ins_paid": MONEY,
                "write_off": MONEY,
                "write_off_est": MONEY,
                "date_paid": DATE,
                "proc_date": DATE,
            },
        ),
        TableSpec(
            "appointments",
            {
                "appointment_id": ID,
                "patient_id": ID,
                "provider_id": ID,
                "hygienist_id": ID,
                "clinic_id": ID,
                "start": DATE,
                "length_minutes": COUNT,
                "status": _enum(APPOINTMENT_STATUSES),
                "is_hygiene": FLAG,
                "is_new_patient": FLAG,
            },
        ),
        TableSpec(
            "recalls",
            {
                "recall_id": ID,
                "patient_id": ID,
                "recall_type": TEXT,
                "date_due": DATE,
                "date_previous": DATE,
                "date_scheduled": DATE,
                "interval_months": COUNT,
                "disabled": FLAG,
            },
        ),
        TableSpec(
            "claims",
            {
                "claim_id": ID,
                "patient_id": ID,
                "provider_id": ID,  # treating provider
                "clinic_id": ID,
                "plan_id": ID,
                "carrier_id": ID,
                "claim_type": _enum(CLAIM_TYPES),
                "status": _enum(CLAIM_STATUSES),
                "date_service": DATE,
                "date_sent": DATE,
                "date_received": DATE,
                "billed": MONEY,
                "ins_pay_est": MONEY,
                "ins_paid": MONEY,
                "write_off": MONEY,
            },
        ),
        TableSpec("carriers", {"carrier_id": ID, "name": TEXT, "phone": TEXT}),
        TableSpec(
            "insurance_plans",
            {
                "plan_id": ID,
                "carrier_id": ID,
                "group_name": TEXT,
                "annual_max": MONEY,  # individual annual maximum (null: not entered)
                "renew_month": COUNT,  # month the benefit year starts (1: calendar year)
            },
        ),
        TableSpec(
            "patient_plans",
            {
                "patient_plan_id": ID,
                "patient_id": ID,
                "plan_id": ID,
                "subscriber_id": ID,
                "ordinal": COUNT,  # 1: primary, 2: secondary, ...
            },
        ),
        TableSpec(
            "referral_sources",
            {"referral_source_id": ID, "name": TEXT, "kind": _enum(REFERRAL_KINDS), "patient_id": ID},
        ),
        TableSpec(
            "patient_referrals",
            {
                "patient_referral_id": ID,
                "patient_id": ID,
                "referral_source_id": ID,
                "direction": _enum(REFERRAL_DIRECTIONS),
                "date": DATE,
                "order": COUNT,
            },
        ),
    ]
}


class FrameProvider(Protocol):
    """Anything that hands out canonical frames by table name (a connected practice)."""

    def frame(self, name: str) -> pd.DataFrame: ...


def _spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; known tables: {', '.join(TABLES)}") from None


def to_datetime(values: pd.Series) -> pd.Series:
    """Normalise dates from any driver to ``datetime64[ns]``.

    Accepts strings, Python ``date``/``datetime`` objects and datetime64 of any unit. Open Dental's
    "no date" (0001-01-01, MySQL's 0000-00-00) and anything before 1800 become ``NaT``.
    """
    if pd.api.types.is_datetime64_dtype(values.dtype):
        if values.dtype == DATE:
            return values
        early = values < pd.Timestamp("1800-01-01")
        return values.mask(early).astype(DATE)
    text = values.astype(TEXT)
    text = text.mask(text.str.slice(0, 4) < "1800")
    return pd.to_datetime(text, format="ISO8601").astype(DATE)


def to_text(values: pd.Series) -> pd.Series:
    """Text with surrounding blanks removed; empty text becomes missing (as a system's "no value" is)."""
    text = values.astype(TEXT).str.strip()
    return text.mask(text == "")


def empty_frame(table: str) -> pd.DataFrame:
    """A frame with the table's columns and dtypes and no rows."""
    spec = _spec(table)
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in spec.columns.items()})


def conform(table: str, frame: pd.DataFrame, check_keys: bool = True) -> pd.DataFrame:
    """Cast a source's frame to the canonical columns, order and dtypes (missing columns -> null).

    ``check_keys=False`` leaves out the key checks (missing or duplicate keys): for frames read back from the
    cache, whose keys were checked when they were written."""
    spec = _spec(table)
    out = {}
    n = len(frame)
    for column, dtype in spec.columns.items():
        if column not in frame.columns:
            out[column] = pd.Series([None] * n, dtype=object, index=frame.index).astype(dtype)
            continue
        values = frame[column]
        if _same(values.dtype, dtype):  # already canonical (a frame read back from the cache): nothing to do
            out[column] = values
            continue
        try:
            if dtype == DATE:
                out[column] = to_datetime(values)
            elif isinstance(dtype, pd.CategoricalDtype):
                unknown = set(values.dropna().unique()) - set(dtype.categories)
                if unknown:
                    raise SchemaError(f"{table}.{column}: unknown value(s) {sorted(map(str, unknown))}")
                # the model's category order, whatever order the source built (unordered dtypes compare equal)
                out[column] = pd.Series(pd.Categorical(values, categories=dtype.categories), index=values.index)
            else:
                out[column] = values.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"{table}.{column}: cannot convert to {dtype}: {exc}") from None
    result = pd.DataFrame(out, copy=False).reset_index(drop=True)  # copy-on-write makes sharing columns safe
    validate(table, result, check_keys)
    return result


def _same(actual: Any, dtype: Dtype) -> bool:
    """The dtype exactly, categories in the model's order (unordered categoricals compare equal in any order)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return isinstance(actual, pd.CategoricalDtype) and list(actual.categories) == list(dtype.categories)
    return bool(actual == dtype)


def validate(table: str, frame: pd.DataFrame, check_keys: bool = True) -> None:
    """Raise SchemaError naming the table and column when ``frame`` breaks the model (``check_keys``: also a
    missing or repeated key)."""
    spec = _spec(table)
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{table}: missing column(s) {', '.join(missing)}")
    extra = [c for c in frame.columns if c not in spec.columns]
    if extra:
        raise SchemaError(f"{table}: unexpected column(s) {', '.join(map(str, extra))}")
    for column, dtype in spec.columns.items():
        actual = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if not isinstance(actual, pd.CategoricalDtype):
                raise SchemaError(f"{table}.{column}: expected category, got {actual}")
            unknown = set(actual.categories) - set(dtype.categories)
            if unknown:
                raise SchemaError(f"{table}.{column}: unknown value(s) {sorted(map(str, unknown))}")
        elif str(actual) != str(dtype):
            raise SchemaError(f"{table}.{column}: expected {dtype}, got {actual}")
    if not check_keys:
        return
    key = frame[spec.key]
    if key.isna().any():
        raise SchemaError(f"{table}.{spec.key}: {int(key.isna().sum())} missing key(s)")
    dupes = key.duplicated()
    if dupes.any():
        raise SchemaError(f"{table}.{spec.key}: {int(dupes.sum())} duplicate key(s), e.g. {key[dupes].iloc[0]}")
