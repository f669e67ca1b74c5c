"""Reconcile our aging with the aging a practice system stored (Open Dental's guarantor rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from workbench.errors import SourceError
from workbench.metrics.aging import AgingScope, aging
from workbench.metrics.reconcile import reconcile_aging
from workbench.periods import parse_date
from workbench.practice import Practice

__all__ = ["AgingReconciliation", "mode_label", "reconcile_stored_aging"]


@dataclass(frozen=True)
class AgingReconciliation:
    as_of: date  # the date the system last ran aging (what its stored figures mean)
    proc_lifo: bool  # the system's AgingProcLifo preference, used for our side too
    table: pd.DataFrame  # metrics.reconcile_aging output

    @property
    def matched(self) -> int:
        return int(self.table["matches"].sum())


def mode_label(proc_lifo: bool) -> str:
    """The aging mode as a report says it."""
    if proc_lifo:
        return "AgingProcLifo on: adjustments on a procedure aged with it, other credits to the oldest balance"
    return "AgingProcLifo off: credits to the oldest balance first"


def reconcile_stored_aging(
    practice: Practice, clinic_id: int | None = None, proc_lifo: bool | None = None
) -> AgingReconciliation:
    """Our family aging, as of the day the system last ran aging, beside its stored aging; in the office's
    AgingProcLifo mode (its preference: 1 on; 0 unset and 2 off age credits oldest first) unless
    ``proc_lifo`` says otherwise."""
    source = practice.source
    stored_aging = getattr(source, "stored_aging", None)
    preferences = getattr(source, "preferences", None)
    if stored_aging is None or preferences is None:
        raise SourceError(f"{source.url} keeps no stored aging to reconcile with")
    prefs = preferences(["DateLastAging", "AgingProcLifo"])
    as_of = parse_date(prefs.get("DateLastAging", "")[:10] or None, "DateLastAging") or practice.data_as_of
    if proc_lifo is None:
        proc_lifo = prefs.get("AgingProcLifo", "0").strip() == "1"
    scope = AgingScope(clinics=[clinic_id]) if clinic_id is not None else None
    ours = aging(practice, as_of, proc_lifo=proc_lifo, scope=scope)
    return AgingReconciliation(as_of, proc_lifo, reconcile_aging(ours, stored_aging(clinic_id)))
