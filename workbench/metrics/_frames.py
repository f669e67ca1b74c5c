"""Inputs of the metric functions: a connected practice or a mapping of table name to frame."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TypeVar, cast

import pandas as pd

from workbench.errors import SchemaError, UsageError
from workbench.model import FrameProvider
from workbench.periods import parse_date

__all__ = [
    "NS_PER_DAY",
    "Frames",
    "day",
    "derived",
    "full_name",
    "name_of_patient",
    "period_days",
    "provider_abbr",
    "provider_names",
    "subset",
    "table",
]

Frames = FrameProvider | Mapping[str, pd.DataFrame]
NS_PER_DAY = 86_400 * 10**9
T = TypeVar("T")


def table(data: Frames, name: str) -> pd.DataFrame:
    """The canonical frame ``name`` from a practice or a mapping."""
    if isinstance(data, Mapping):
        try:
            return data[name]
        except KeyError:
            raise SchemaError(f"the frames given have no {name!r} table") from None
    return data.frame(name)


def derived(data: Frames, key: str, build: Callable[[], T]) -> T:
    """What ``build`` makes from ``data``'s tables: made once per connected practice (which keeps it while its
    frames stay the same), made anew for a mapping. A frame comes as the caller's own shallow copy
    (copy-on-write); anything else must not be changed by its users."""
    keep = getattr(data, "derived", None)
    made = keep(key, build) if callable(keep) and not isinstance(data, Mapping) else build()
    return cast(T, made.copy(deep=False)) if isinstance(made, pd.DataFrame) else made


def subset(frame: pd.DataFrame, keep: pd.Series, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of the rows of ``frame`` where ``keep`` is true (NA counts as false). Choosing the
    columns first copies only them: a whole procedures frame has a dozen more, text among them."""
    return frame[columns][keep.to_numpy(dtype=bool, na_value=False)]


def day(value: date | datetime | str | pd.Timestamp, what: str = "date") -> pd.Timestamp:
    """A calendar day as a midnight Timestamp (accepts date, datetime, Timestamp, YYYY-MM-DD)."""
    if isinstance(value, str):
        value = parse_date(value, what)  # type: ignore[assignment]
    if not isinstance(value, date) or pd.isna(value):
        raise UsageError(f"bad {what} {value!r}: expected a date like 2026-10-31")
    return pd.Timestamp(value).normalize()


def period_days(start: date | str, end: date | str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A period's first and last day; a start after the end is a UsageError."""
    first, last = day(start, "start date"), day(end, "end date")
    if first > last:
        raise UsageError(f"start date {first.date()} is after end date {last.date()}")
    return first, last


def full_name(people: pd.DataFrame) -> pd.Series:
    """ "Last, First" from a frame's last_name and first_name (either may be missing)."""
    return (people["last_name"].fillna("") + ", " + people["first_name"].fillna("")).str.strip(", ")


def name_of_patient(data: Frames, patient_ids: pd.Series) -> pd.Series:
    """ "Last, First" of each patient id, aligned with ``patient_ids`` (missing where the id is unknown)."""
    names = full_name(table(data, "patients").set_index("patient_id"))
    return pd.Series(names.reindex(patient_ids).to_numpy(), index=patient_ids.index, dtype="string")


def provider_abbr(data: Frames, provider_ids: pd.Series) -> pd.Series:
    """The abbreviation of each provider id, aligned with ``provider_ids`` (missing where unknown)."""
    abbr = table(data, "providers").set_index("provider_id")["abbr"]
    return pd.Series(abbr.reindex(provider_ids).to_numpy(), index=provider_ids.index, dtype="string")


def provider_names(data: Frames, abbr: pd.Series) -> pd.Series:
    """Provider abbreviations as people read them: "Greta Dunmore, DDS (DOC1)" (the abbreviation alone where
    the practice keeps no name)."""
    providers = table(data, "providers").drop_duplicates("abbr").set_index("abbr")["name"]
    names = abbr.map(providers)
    return (names.astype("string") + " (" + abbr.astype("string") + ")").fillna(abbr.astype("string")).astype(str)
