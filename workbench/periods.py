"""Report dates: parsing what a user typed and choosing sensible defaults."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from workbench.errors import UsageError

__all__ = [
    "Period",
    "last_months",
    "month_ends",
    "parse_date",
    "resolve_as_of",
    "resolve_period",
    "trailing_months",
    "years_back",
]


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def label(self) -> str:
        from workbench.formatting import long_date

        return f"{long_date(self.start)} – {long_date(self.end)}"


def parse_date(value: str | date | None, what: str = "date") -> date | None:
    """``YYYY-MM-DD`` (or a date) to a date; None stays None; anything else is a UsageError."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise UsageError(f"bad {what} {value!r}: expected YYYY-MM-DD, e.g. 2026-10-31") from None


def resolve_as_of(value: str | date | None, default: date) -> date:
    """The as-of date given, else ``default`` (the practice's last day with data)."""
    return parse_date(value, "as-of date") or default


def resolve_period(start: str | date | None, end: str | date | None, default_end: date) -> Period:
    """The period given; the end defaults to ``default_end``, the start to January 1 of the end's year."""
    last = parse_date(end, "end date") or default_end
    first = parse_date(start, "start date") or date(last.year, 1, 1)
    if first > last:
        raise UsageError(f"start date {first} is after end date {last}")
    return Period(first, last)


def trailing_months(end: date, months: int) -> Period:
    """The ``months`` calendar months ending with ``end``'s month (the last one up to ``end``)."""
    if months < 1:
        raise UsageError("months must be at least 1")
    index = end.year * 12 + end.month - 1 - (months - 1)
    return Period(date(index // 12, index % 12 + 1, 1), end)


def last_months(end: date, months: int) -> Period:
    """The ``months`` months up to and including ``end``, from the day after the same day ``months`` months
    earlier: whole calendar months when ``end`` is a month's last day (Aug 1 - Oct 31), else 91 days or so
    (Sep 2 - Dec 1), never two months and a day counted as three."""
    if months < 1:
        raise UsageError("months must be at least 1")
    index = end.year * 12 + end.month - 1 - months
    year, month = index // 12, index % 12 + 1
    month_end = end.day == calendar.monthrange(end.year, end.month)[1]
    last_day = calendar.monthrange(year, month)[1]
    before = date(year, month, last_day if month_end else min(end.day, last_day))
    return Period(before + timedelta(days=1), end)


def month_ends(end: date, months: int) -> list[date]:
    """The last day of each of the ``months`` calendar months ending with ``end``'s month (the last is ``end``)."""
    first = trailing_months(end, months).start
    out = []
    for k in range(months):
        index = first.year * 12 + first.month - 1 + k + 1  # the month after month k
        out.append(min(date(index // 12, index % 12 + 1, 1) - timedelta(days=1), end))
    return out


def years_back(when: date, years: int) -> date:
    """The same day ``years`` earlier (February 29 falls back to February 28)."""
    try:
        return when.replace(year=when.year - years)
    except ValueError:
        return when.replace(year=when.year - years, day=28)
