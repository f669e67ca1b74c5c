"""Numbers and dates the way a dentist reads them."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd

__all__ = ["long_date", "money", "pct"]


def money(value: float | None, cents: bool = False) -> str:
    """$12,345 (or $12,345.67 with ``cents``); negatives as -$1,234; missing as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"${abs(value):,.2f}" if cents else f"${abs(value):,.0f}"
    return f"-{text}" if value < 0 and text.strip("$0.,") else text


def pct(value: float | None, digits: int = 1) -> str:
    """12.3% ; missing as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    return f"{value:.{digits}f}%"


def long_date(value: date | datetime | pd.Timestamp | None) -> str:
    """October 31, 2026 ; missing as an en dash."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:%B} {value.day}, {value.year}"
