"""What a practice's API costs: calls made and bytes received per month, recorded in its cache beside the
manifest, against its allowance.

Dentrix Ascend bills per location: 30,000 calls and 3 GB a month included, then $0.0015 a call and $1.00 a
GB (its developer program FAQ); that is the default allowance of every REST source, which a practice sets
in the practices file: ``api_allowance = { calls = 30000, gb = 3, per_call = 0.0015, per_gb = 1.0 }``.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from workbench.files import write_atomically

__all__ = ["ASCEND_ALLOWANCE", "USAGE_FILE", "Allowance", "Kind", "Projection", "UsageLog", "metered", "project"]

USAGE_FILE = "usage.json"
Kind = Literal["full", "incremental"]


@dataclass(frozen=True)
class Allowance:
    """Calls and data included in a month, and the price of each call and GB beyond them."""

    calls: int = 30_000
    gb: float = 3.0
    per_call: float = 0.0015
    per_gb: float = 1.00


ASCEND_ALLOWANCE = Allowance()


def metered(source: Any) -> tuple[int, int] | None:
    """The calls made and bytes received so far by a source that talks to an API (None: not an API)."""
    usage = getattr(source, "usage", None)
    return usage() if callable(usage) else None


class UsageLog:
    """``usage.json`` in a practice's cache folder: calls and bytes per month, and what the last full and
    incremental refresh cost (the estimate of the next one). Written only by the cache's one writer."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / USAGE_FILE

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"months": {}, "last": {}}
        return data if isinstance(data, dict) else {"months": {}, "last": {}}

    def add(self, when: datetime, calls: int, received: int, kind: Kind) -> None:
        data = self.read()
        month = data.setdefault("months", {}).setdefault(f"{when:%Y-%m}", {"calls": 0, "bytes": 0})
        month["calls"] += calls
        month["bytes"] += received
        data.setdefault("last", {})[kind] = calls
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True))

    def month(self, month: str) -> tuple[int, int]:
        """(calls, bytes) in a month ("2026-12")."""
        found = self.read().get("months", {}).get(month, {})
        return int(found.get("calls", 0)), int(found.get("bytes", 0))

    def last(self, kind: Kind) -> int | None:
        """What the last refresh of this kind cost, in calls (None: none recorded)."""
        value = self.read().get("last", {}).get(kind)
        return int(value) if value is not None else None


@dataclass(frozen=True)
class Projection:
    calls: int
    gb: float
    projected_calls: int
    projected_gb: float
    overage: float  # dollars, projected to the month's end


def project(calls: int, received: int, today: date, allowance: Allowance) -> Projection:
    """The month so far carried on at the same daily pace to its end, and what goes beyond the allowance
    would cost."""
    days = calendar.monthrange(today.year, today.month)[1]
    factor = days / today.day
    gb = received / 1e9
    projected_calls, projected_gb = round(calls * factor), gb * factor
    overage = max(0, projected_calls - allowance.calls) * allowance.per_call
    overage += max(0.0, projected_gb - allowance.gb) * allowance.per_gb
    return Projection(calls, gb, projected_calls, projected_gb, round(overage, 2))
