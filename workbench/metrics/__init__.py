"""Pure metric functions over canonical frames (a practice, or a mapping of table name to frame).

No I/O, no charts: every figure a report shows comes from one of these.
"""

from workbench.metrics._frames import provider_names
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
from workbench.metrics.claims import (
    CLAIM_AGES,
    CLAIMS_DEFINITION,
    claims_by_age,
    claims_by_carrier,
    claims_context,
    claims_summary,
    days_to_payment,
    follow_up_list,
    outstanding_claims,
)
from workbench.metrics.group import (
    GROUP_DEFINITION,
    GROUP_FIGURES,
    group_clear,
    group_findings,
    group_table,
    practice_figures,
)
from workbench.metrics.kpis import KPI_DEFINITION, case_acceptance, kpis
from workbench.metrics.new_patients import (
    NEW_PATIENTS_DEFINITION,
    NO_SOURCE,
    new_patients,
    new_patients_by_month,
    new_patients_by_source,
    new_patients_context,
    new_patients_summary,
)
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
from workbench.metrics.treatment import (
    TREATMENT_DEFINITION,
    acceptance_by_provider,
    acceptance_period,
    next_appointments,
    planned_treatment,
    remaining_benefits,
    treatment_by_group,
    treatment_by_patient,
    treatment_context,
    treatment_summary,
    unscheduled_treatment,
)

__all__ = [
    "AGING_DEFINITION",
    "CLAIMS_DEFINITION",
    "CLAIM_AGES",
    "DEFAULT_TARGETS",
    "GROUP_DEFINITION",
    "GROUP_FIGURES",
    "KPI_DEFINITION",
    "NEW_PATIENTS_DEFINITION",
    "NO_SOURCE",
    "PROC_LIFO_DEFINITION",
    "PRODUCTION_DEFINITION",
    "RECALL_DEFINITION",
    "TREATMENT_DEFINITION",
    "AgingScope",
    "Context",
    "Target",
    "acceptance_by_provider",
    "acceptance_period",
    "aging",
    "aging_context",
    "aging_history",
    "aging_summary",
    "aging_trend",
    "case_acceptance",
    "claims_by_age",
    "claims_by_carrier",
    "claims_context",
    "claims_summary",
    "completed_procedures",
    "days_to_payment",
    "describe",
    "families_in_bucket",
    "family_balances",
    "findings",
    "follow_up_list",
    "group_clear",
    "group_findings",
    "group_table",
    "hygiene_reappointment",
    "kpis",
    "largest_balances",
    "ledger",
    "new_patients",
    "new_patients_by_month",
    "new_patients_by_source",
    "new_patients_context",
    "new_patients_summary",
    "next_appointments",
    "outreach_list",
    "outstanding_claims",
    "overdue_by_age",
    "planned_treatment",
    "practice_figures",
    "production",
    "production_context",
    "provider_names",
    "recall",
    "recall_context",
    "recall_effectiveness",
    "recall_rows",
    "recall_summary",
    "reconcile_aging",
    "remaining_benefits",
    "scheduled_production",
    "treatment_by_group",
    "treatment_by_patient",
    "treatment_context",
    "treatment_summary",
    "unscheduled_by_last_visit",
    "unscheduled_treatment",
    "with_targets",
]


def describe(definition: str, **options: object) -> str:
    """A metric's definition followed by the options a figure was computed with (for "How these numbers
    are computed")."""
    shown = "; ".join(f"{name.replace('_', ' ')}: {value}" for name, value in options.items() if value is not None)
    return definition + (f"\n\n**Options used**: {shown}." if shown else "")
