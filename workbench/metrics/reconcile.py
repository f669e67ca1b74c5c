"""Our aging beside the aging a practice system stored, family by family, with the likely cause of each difference."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CAUSES", "RECONCILE_COLUMNS", "reconcile_aging"]

BUCKETS = ["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90"]
COMPARED = [*BUCKETS, "balance", "ins_est"]
RECONCILE_COLUMNS = [
    "guarantor_id",
    "balance",
    "stored_balance",
    "balance_diff",
    "bucket_diff",
    "ins_est_diff",
    "matches",
    "cause",
]
TOLERANCE = 0.005  # half a cent

CAUSES = {
    "match": "",
    "only_stored": "stored aging shows a balance the ledger does not: transactions changed after aging last ran",
    "only_ours": "not in the stored aging: transactions entered after aging last ran, or the family is filtered out",
    "balance": "balance differs: transactions entered, edited or deleted after the system last ran aging",
    "buckets": "same balance, other buckets: credits applied differently (AgingProcLifo) or aged on another date",
    "ins_est": "insurance estimate differs: claims received or re-estimated after aging last ran",
}


def reconcile_aging(ours: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """Set ``metrics.aging`` output beside stored aging (same column names), one row per family.

    Columns: guarantor_id, balance (ours), stored_balance, balance_diff (ours − stored), bucket_diff
    (largest absolute bucket difference), ins_est_diff, matches (to the cent), cause (see CAUSES).
    """
    left = ours.set_index("guarantor_id")[COMPARED]
    right = stored.set_index("guarantor_id")[COMPARED]
    both = left.join(right.add_suffix("_stored"), how="outer")
    in_ours = both.index.isin(left.index)
    in_stored = both.index.isin(right.index)
    both = both.fillna(0.0)
    diff = {c: (both[c] - both[f"{c}_stored"]).round(2) for c in COMPARED}
    bucket_diff = np.max(np.abs(np.column_stack([diff[b] for b in BUCKETS])), axis=1)
    balance_off = diff["balance"].abs() >= TOLERANCE
    buckets_off = bucket_diff >= TOLERANCE
    ins_off = diff["ins_est"].abs() >= TOLERANCE
    cause = np.select(
        [~in_stored, ~in_ours, balance_off, buckets_off, ins_off],
        [CAUSES["only_ours"], CAUSES["only_stored"], CAUSES["balance"], CAUSES["buckets"], CAUSES["ins_est"]],
        CAUSES["match"],
    )
    out = pd.DataFrame(
        {
            "guarantor_id": both.index.astype("Int64"),
            "balance": both["balance"].to_numpy(),
            "stored_balance": both["balance_stored"].to_numpy(),
            "balance_diff": diff["balance"].to_numpy(),
            "bucket_diff": bucket_diff.round(2),
            "ins_est_diff": diff["ins_est"].to_numpy(),
            "matches": cause == CAUSES["match"],
            "cause": cause,
        }
    )
    return out[RECONCILE_COLUMNS].sort_values("guarantor_id", ignore_index=True)
