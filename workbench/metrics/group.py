"""A consultant's group of practices side by side: each practice's key figures for one period, against its
targets and the group's median, with the outliers said in words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import pandas as pd

from workbench.metrics._frames import Frames, period_days
from workbench.metrics.aging import aging, aging_summary
from workbench.metrics.attention import DEFAULT_TARGETS, FIGURES, Target, known
from workbench.metrics.claims import outstanding_claims
from workbench.metrics.new_patients import new_patients
from workbench.metrics.production import production
from workbench.metrics.recall import hygiene_reappointment
from workbench.metrics.treatment import unscheduled_treatment
from workbench.periods import last_months

__all__ = [
    "COMPARED",
    "GROUP_DEFINITION",
    "GROUP_FIGURES",
    "group_clear",
    "group_findings",
    "group_table",
    "practice_figures",
]

# the figures compared across practices, in the order the report shows them
GROUP_FIGURES = (
    "net_production",
    "collection_pct",
    "ar_total",
    "ar_over_90_pct",
    "ar_months",
    "new_patients",
    "hygiene_reappointment_pct",
    "unscheduled_value",
    "claims_expected",
)
# figures compared for outliers: rates, which do not grow with the practice's size
COMPARED = ("collection_pct", "ar_over_90_pct", "ar_months", "hygiene_reappointment_pct")

GROUP_DEFINITION = """\
**The group** compares every practice of the practices file over the same period. **Net production** and the
**collection rate** as in the production report; **A/R** and its **share over 90 days** as of the period's
end, as in the aging report; **new patients** as in the patients report; **hygiene reappointment** as in the
recall report; **unscheduled treatment** and **claims outstanding** (what insurance is expected to pay) as of
the period's end, as in their reports (empty where the practice's system does not supply them). Each figure
is shown against the practice's own target, where it has one, and the group's **median** (over the practices
that ran). Rates that do not grow with a practice's size (collection rate, share of A/R over 90 days, A/R in
months of net production, hygiene reappointment) flag **outliers**: a practice on the wrong side of the median
by more than a quarter of it (by more than 10 points for a percentage). A practice whose data could not be read is
shown as failed, with the reason, never as zeros."""


def practice_figures(data: Frames, start: date | str, end: date | str) -> dict[str, float]:
    """One practice's group figures for the period (GROUP_FIGURES; unsupplied ones as 0 or NaN)."""
    first, last = period_days(start, end)
    totals = production(data, first, last).iloc[0]
    aged = aging_summary(aging(data, last))
    recent = last_months(last.date(), 3)
    monthly_net = float(production(data, recent.start, recent.end)["net_production"].iloc[0]) / 3
    visits = hygiene_reappointment(data, first, last)
    return {
        "gross_production": float(totals["gross_production"]),
        "net_production": float(totals["net_production"]),
        "collection_pct": float(totals["collection_pct"]),
        "ar_total": float(aged["total"]),
        "ar_over_90_pct": float(aged["over_90_pct"]),
        "ar_months": round(float(aged["total"]) / monthly_net, 2) if monthly_net > 0 else math.nan,
        "new_patients": float(len(new_patients(data, first, last))),
        "hygiene_reappointment_pct": round(100 * float(visits["reappointed"].mean()), 2) if len(visits) else math.nan,
        "unscheduled_value": round(float(unscheduled_treatment(data, last)["fee"].sum()), 2),
        "claims_expected": round(float(outstanding_claims(data, last)["expected"].sum()), 2),
    }


def group_table(
    figures: Mapping[str, Mapping[str, float] | str],
    targets: Mapping[str, Mapping[str, Target]] | None = None,
) -> pd.DataFrame:
    """One row per practice (in the order given): practice, status ("ok" or "failed"), error, and each of
    GROUP_FIGURES with ``<figure>_target_met`` (True, False, or None where there is no target) and
    ``<figure>_outlier``. ``figures`` maps a practice to its figures, or to the one-line error of a practice
    that failed. A last row, "Group median", holds the medians over the practices that ran."""
    rows: list[dict[str, object]] = []
    ran = {name: f for name, f in figures.items() if not isinstance(f, str)}
    medians = {k: _median([f.get(k, math.nan) for f in ran.values()]) for k in GROUP_FIGURES}
    for name, found in figures.items():
        if isinstance(found, str):
            rows.append({"practice": name, "status": "failed", "error": found})
            continue
        own = (targets or {}).get(name, DEFAULT_TARGETS)
        row: dict[str, object] = {"practice": name, "status": "ok", "error": None}
        for key in GROUP_FIGURES:
            value = float(found.get(key, math.nan))
            target = own.get(key)
            row[key] = value
            row[f"{key}_target_met"] = target.met(value) if target is not None and known(value) else None
            row[f"{key}_outlier"] = key in COMPARED and _outlier(key, value, medians[key])
        rows.append(row)
    rows.append({"practice": "Group median", "status": "median", "error": None, **medians})
    return pd.DataFrame(rows)


def group_findings(table: pd.DataFrame, most: int = 8) -> list[str]:
    """What needs attention across the group, in plain words: practices that failed, then outliers (furthest
    from the median first), then targets most practices miss. When nothing is amiss, one line that says so."""
    return _group_concerns(table)[:most] or [
        "Every practice is within a quarter of the group's median on every rate compared."
    ]


def group_clear(table: pd.DataFrame) -> bool:
    """Whether nothing across the group needs attention (the box of findings is then calm)."""
    return not _group_concerns(table)


def _group_concerns(table: pd.DataFrame) -> list[str]:
    out = [
        f"{row.practice}: no figures, its run failed ({row.error})."
        for row in table[table["status"] == "failed"].itertuples()
    ]
    median = table[table["status"] == "median"].iloc[0] if (table["status"] == "median").any() else None
    found = []
    for row in table[table["status"] == "ok"].to_dict("records"):
        for key in GROUP_FIGURES:
            if not row.get(f"{key}_outlier") or median is None:
                continue
            value, middle = float(row[key]), float(median[key])
            figure = FIGURES[key]
            distance = abs(value - middle) / (abs(middle) or 1.0)
            found.append(
                (
                    distance,
                    f"{row['practice']}: {_phrase(key)} is {_show(value, figure.unit)}, "
                    f"against the group's median of {_show(middle, figure.unit)}.",
                )
            )
    out += [text for _, text in sorted(found, key=lambda item: item[0], reverse=True)]
    ran = table[table["status"] == "ok"]
    for key in GROUP_FIGURES:
        met = ran.get(f"{key}_target_met")
        if met is None:
            continue
        judged = met.dropna()
        missed = int((judged == False).sum())  # noqa: E712 - a column of True/False/None
        if len(judged) and missed * 2 >= len(judged) and median is not None:
            figure = FIGURES[key]
            out.append(
                f"{figure.label} misses its target at {missed} of {len(judged)} practices "
                f"(the group's median is {_show(float(median[key]), figure.unit)})."
            )
    return out


def _phrase(key: str) -> str:
    label = FIGURES[key].label
    return label[0].lower() + label[1:] if not label.startswith(("A/R", "New")) else label


def _show(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.0f}"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "months":
        return f"{value:.1f} months"
    return f"{value:,.0f}"


def _outlier(key: str, value: float, median: float) -> bool:
    """On the wrong side of the median by more than a quarter of it (10 points for a percentage)."""
    if not (known(value) and known(median)):
        return False
    figure = FIGURES[key]
    worse = value < median if figure.better == "higher" else value > median
    gap = abs(value - median)
    return bool(worse and (gap > 10 if figure.unit == "%" else gap > 0.25 * abs(median) and gap > 0))


def _median(values: list[float]) -> float:
    finite = [v for v in values if known(v)]
    return float(pd.Series(finite).median()) if finite else math.nan
