"""Pure metric functions over canonical frames (a practice, or a mapping of table name to frame).

No I/O, no charts: every figure a report shows comes from one of these.
"""

from workbench.metrics.aging import (
    AGING_DEFINITION,
    PROC_LIFO_DEFINITION,
    AgingScope,
    aging,
    aging_history,
    aging_summary,
    aging_trend,
    families_in_bucket,
    family_balances,
    largest_balances,
    ledger,
)
from workbench.metrics.attention import (
    DEFAULT_TARGETS,
    Context,
    Target,
    aging_context,
    findings,
    production_context,
    recall_context,
    with_targets,
)
from workbench.metrics.kpis import KPI_DEFINITION, case_acceptance, kpis
from workbench.metrics.production import (
    PRODUCTION_DEFINITION,
    completed_procedures,
    production,
    scheduled_production,
)
from workbench.metrics.recall import (
    RECALL_DEFINITION,
    hygiene_reappointment,
    outreach_list,
    overdue_by_age,
    recall,
    recall_effectiveness,
    recall_rows,
    recall_summary,
    unscheduled_by_last_visit,
)
from workbench.metrics.reconcile import reconcile_aging

__all__ = [
    "AGING_DEFINITION",
    "DEFAULT_TARGETS",
    "KPI_DEFINITION",
    "PROC_LIFO_DEFINITION",
    "PRODUCTION_DEFINITION",
    "RECALL_DEFINITION",
    "AgingScope",
    "Context",
    "Target",
    "aging",
    "aging_context",
    "aging_history",
    "aging_summary",
    "aging_trend",
    "case_acceptance",
    "completed_procedures",
    "describe",
    "families_in_bucket",
    "family_balances",
    "findings",
    "hygiene_reappointment",
    "kpis",
    "largest_balances",
    "ledger",
    "outreach_list",
    "overdue_by_age",
    "production",
    "production_context",
    "recall",
    "recall_context",
    "recall_effectiveness",
    "recall_rows",
    "recall_summary",
    "reconcile_aging",
    "scheduled_production",
    "unscheduled_by_last_visit",
    "with_targets",
]


def describe(definition: str, **options: object) -> str:
    """A metric's definition followed by the options a figure was computed with (for "How these numbers
    are computed")."""
    shown = "; ".join(f"{name.replace('_', ' ')}: {value}" for name, value in options.items() if value is not None)
    return definition + (f"\n\n**Options used**: {shown}." if shown else "")
