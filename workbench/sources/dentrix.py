"""Dentrix G5+ through the Dentrix Developer Program's read-only ODBC API views (schema ``admin``).

The connection string comes from the Dentrix API DLL once the developer key is registered (c-treeACE SQL
for G5–G7, SQL Server for Dentrix Enterprise): give it ready-made, password as for every ODBC source::

    dentrix+odbc:DSN=DentrixSQL;UID=devkey?password_env=DENTRIX_PASSWORD[&views=/path/views.toml]

The full view list is not public. The views and columns this source reads live in one mapping,
``DEFAULT_VIEWS``: the public ones (v_patient, v_provider, v_appointment, v_patient_recall,
v_guarantor_balance) and, for procedures and money, view names a practice's key may grant under other
names. A TOML file given as ``views=`` overrides any part of it, e.g.::

    schema = "admin"
    [procedures]
    view = "v_procedure_history"
    [procedures.columns]
    fee = "charge_amount"
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench import model
from workbench.errors import SourceError, UsageError
from workbench.sources.base import Progress, SourceInfo, register, stored_aging_frame
from workbench.sources.odbc import chosen_reader, parse_odbc_url, reader_factory
from workbench.sources.sql import SqlReader

__all__ = ["DEFAULT_VIEWS", "DentrixViews", "load_views"]

# canonical column -> view column, per canonical table. Absent canonical columns stay null.
DEFAULT_VIEWS: dict[str, Any] = {
    "schema": "admin",
    "providers": {
        "view": "v_provider",
        "columns": {
            "provider_id": "provider_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "is_hygienist": "is_hygienist",
            "hidden": "inactive",
        },
    },
    "patients": {
        "view": "v_patient",
        "columns": {
            "patient_id": "patient_id",
            "guarantor_id": "guar_id",
            "last_name": "last_name",
            "first_name": "first_name",
            "birthdate": "birth_date",
            "status": "status",
            "primary_provider_id": "pri_provider_id",
            "hygienist_id": "sec_provider_id",
            "first_visit_date": "first_visit_date",
        },
    },
    "appointments": {
        "view": "v_appointment",
        "columns": {
            "appointment_id": "appointment_id",
            "patient_id": "patient_id",
            "provider_id": "provider_id",
            "date": "appointment_date",
            "hour": "start_hour",
            "minute": "start_minute",
            "length_minutes": "length",
            "status": "status_id",
        },
    },
    "recalls": {
        "view": "v_patient_recall",
        "columns": {"patient_id": "patient_id", "recall_type": "recall_type", "date_due": "due_date"},
    },
    "procedures": {
        "view": "v_procedure",
        "columns": {
            "procedure_id": "procedure_id",
            "patient_id": "patient_id",
            "provider_id": "provider_id",
            "date": "procedure_date",
            "code": "ada_code",
            "description": "description",
            "fee": "amount",
            "status": "status",
        },
    },
    "adjustments": {
        "view": "v_adjustment",
        "columns": {
            "adjustment_id": "adjustment_id",
            "patient_id": "patient_id",
            "provider_id": "provider_id",
            "date": "adjustment_date",
            "amount": "amount",
            "type": "adjustment_type",
        },
    },
    "patient_payments": {
        "view": "v_payment",
        "columns": {
            "split_id": "payment_id",
            "patient_id": "patient_id",
            "provider_id": "provider_id",
            "date": "payment_date",
            "amount": "amount",
        },
    },
    "insurance": {
        "view": "v_insurance_payment",
        "columns": {
            "claimproc_id": "insurance_payment_id",
            "patient_id": "patient_id",
            "provider_id": "provider_id",
            "procedure_id": "procedure_id",
            "ins_paid": "amount",
            "write_off": "write_off",
            "date_paid": "payment_date",
            "proc_date": "procedure_date",
        },
    },
    "guarantor_balance": {
        "view": "v_guarantor_balance",
        "columns": {
            "guarantor_id": "guar_id",
            "bal_0_30": "balance_0_30_days",
            "bal_31_60": "balance_31_60_days",
            "bal_61_90": "balance_61_90_days",
            "bal_over_90": "balance_91_plus_days",
        },
    },
    # code tables: Dentrix value -> canonical name
    "patient_status": {"1": "patient", "2": "nonpatient", "3": "inactive", "4": "inactive"},
    "procedure_status": {"C": "completed", "TP": "planned", "EC": "existing_current", "EO": "existing_other"},
    "appointment_status": {"0": "scheduled", "1": "complete", "2": "broken"},
}


def load_views(path: str | Path | None) -> dict[str, Any]:
    """DEFAULT_VIEWS with a practice's TOML overrides merged in (tables, columns and code tables)."""
    views = copy.deepcopy(DEFAULT_VIEWS)
    if path is None:
        return views
    try:
        override = tomllib.loads(Path(path).expanduser().read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"dentrix+odbc: cannot read the views file {path}: {exc}") from None
    for key, value in override.items():
        if key not in views:
            raise UsageError(f"dentrix+odbc: {path}: unknown entry {key!r}; known: {', '.join(views)}")
        if isinstance(value, dict) and isinstance(views[key], dict):
            for inner, setting in value.items():
                if isinstance(setting, dict):
                    views[key].setdefault(inner, {}).update(setting)
                else:
                    views[key][inner] = setting
        else:
            views[key] = value
    _check_names(views, str(path))
    return views


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$#@]{0,127}")


def _check_names(views: Mapping[str, Any], path: str) -> None:
    """Every schema, view and column a views file names is a plain SQL name (they are quoted, never run)."""
    names = [("schema", views["schema"])]
    for table, spec in views.items():
        if isinstance(spec, dict) and "view" in spec:
            names.append((f"{table}.view", spec["view"]))
            names += [(f"{table}.columns.{c}", source) for c, source in spec.get("columns", {}).items()]
    for where, name in names:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise UsageError(
                f"dentrix+odbc: {path}: {where} = {name!r} is not a name (letters, digits and _, at most 128)"
            )


class DentrixViews:
    """Canonical frames from the Dentrix API views named in a views mapping."""

    def __init__(self, open_reader: Callable[[], SqlReader], url: str, views: Mapping[str, Any], system: str) -> None:
        self._open = open_reader
        self._url = url
        self._views = views
        self._system = system

    @property
    def url(self) -> str:
        return self._url

    def info(self) -> SourceInfo:
        return SourceInfo(system=self._system, practice_name=None, data_as_of=None)

    def _select(self, reader: SqlReader, table: str) -> pd.DataFrame:
        spec = self._views[table]
        q = reader.quote
        columns = ", ".join(f"{q(source)} AS {q(name)}" for name, source in spec["columns"].items())
        try:
            return reader.frame(f"SELECT {columns} FROM {q(self._views['schema'])}.{q(spec['view'])}")
        except SourceError as exc:
            raise SourceError(f"Dentrix view {self._views['schema']}.{spec['view']} ({table}): {exc}") from None

    def read(self, tables: Sequence[str], progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        frames = {}
        with closing(self._open()) as reader:
            providers = self._select(reader, "providers")
            codes = _provider_numbers(providers["provider_id"])
            for table in tables:
                if table not in self._views and table != "clinics":  # no view for it: the table stays empty
                    frames[table] = model.empty_frame(table)
                else:
                    raw = (
                        providers
                        if table == "providers"
                        else (pd.DataFrame() if table == "clinics" else self._select(reader, table))
                    )
                    frames[table] = self._map(table, raw, codes)
                if progress:
                    progress(table, len(frames[table]))
        return frames

    def stored_aging(self, clinic_id: int | None = None) -> pd.DataFrame:
        """The guarantor balances Dentrix keeps (v_guarantor_balance), named as ``metrics.aging`` names them.

        The public view has no clinic, so ``clinic_id`` cannot narrow it."""
        with closing(self._open()) as reader:
            raw = self._select(reader, "guarantor_balance")
        out = stored_aging_frame(raw)
        out["balance"] = out[["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90"]].sum(axis=1)
        out["ins_est"] = np.nan  # not in the public view
        return out

    def _map(self, table: str, raw: pd.DataFrame, providers: Mapping[str, int]) -> pd.DataFrame:
        df = raw.copy()
        for column in ("provider_id", "primary_provider_id", "hygienist_id"):
            if column in df:  # Dentrix provider ids are short codes ("DDS1"): number them
                df[column] = df[column].map(lambda code: providers.get(_code(code)) if pd.notna(code) else None)
        if table == "providers":
            df["abbr"] = raw["provider_id"].map(lambda code: _code(code) if pd.notna(code) else None).astype("string")
            df["name"] = (df.pop("first_name").fillna("") + " " + df.pop("last_name").fillna("")).str.strip()
            df["is_hygienist"] = df["is_hygienist"].fillna(0).astype(bool)
            df["hidden"] = df["hidden"].fillna(0).astype(bool)
        elif table == "patients":
            df["status"] = _codes(df["status"], self._views["patient_status"], "patient status")
        elif table == "procedures":
            df["status"] = _codes(df["status"], self._views["procedure_status"], "procedure status")
        elif table == "appointments":
            day = model.to_datetime(df.pop("date"))
            df["start"] = day + pd.to_timedelta(
                pd.to_numeric(df.pop("hour")) * 60 + pd.to_numeric(df.pop("minute")), unit="min"
            )
            df["status"] = _codes(df["status"], self._views["appointment_status"], "appointment status")
        elif table == "recalls":
            df.insert(0, "recall_id", np.arange(1, len(df) + 1))
            df["disabled"] = False
        elif table == "insurance":
            df["status"] = "received"
            df["ins_pay_est"] = df["ins_paid"]
        return model.conform(table, df)


def _code(value: object) -> str:
    """A provider code as text, however the driver typed it: a numeric column with nulls arrives as floats,
    and 3.0 must read as "3", as the same provider does in a column without nulls."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _provider_numbers(codes: pd.Series) -> dict[str, int]:
    """Stable numbers for Dentrix's provider codes (sorted, from 1)."""
    return {code: i + 1 for i, code in enumerate(sorted({_code(c) for c in codes.dropna()}))}


def _codes(values: pd.Series, table: Mapping[str, str], what: str) -> pd.Series:
    text = values.map(lambda v: str(int(v)) if isinstance(v, (int, float, np.integer)) and pd.notna(v) else v)
    text = text.astype("string").str.strip()
    names = text.map(lambda v: table.get(v) if pd.notna(v) else None)
    unknown = sorted(set(text[names.isna() & text.notna()]))
    if unknown:
        raise SourceError(f"Dentrix {what} code(s) {unknown} are not in the views mapping; add them to views=")
    return names


def _from_url(url: str) -> DentrixViews:
    settings = parse_odbc_url(url, "dentrix+odbc", extra_options=["views"])
    views = load_views(settings.extra.get("views"))
    return DentrixViews(
        reader_factory(settings), url, views, f"Dentrix G5+ (ODBC API views, {chosen_reader(settings)})"
    )


register(
    "dentrix+odbc",
    _from_url,
    "Dentrix G5+ read-only API views over ODBC (views and columns overridable with views=file.toml)",
    "dentrix+odbc:DSN=DentrixSQL;UID=devkey?password_env=DENTRIX_PASSWORD",
)
