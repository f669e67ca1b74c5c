"""Targets, comparisons and "what needs attention": the context a dentist acts on, from figures the other
metric functions computed (pure: no I/O, nothing recomputed here)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

import pandas as pd

from workbench.errors import UsageError
from workbench.metrics._frames import Frames, day, table
from workbench.metrics.aging import aging, aging_summary
from workbench.metrics.production import production
from workbench.metrics.recall import hygiene_reappointment, recall, recall_effectiveness, recall_summary
from workbench.periods import last_months, trailing_months, years_back

__all__ = [
    "DEFAULT_TARGETS",
    "FIGURES",
    "Assessment",
    "Change",
    "Context",
    "Target",
    "aging_context",
    "as_of_comparisons",
    "assess",
    "build_context",
    "compare",
    "findings",
    "first_day_with_data",
    "known",
    "period_comparisons",
    "production_context",
    "recall_context",
    "with_targets",
]


@dataclass(frozen=True)
class Target:
    """A goal for one figure: at most (``better="lower"``) or at least (``"higher"``) ``goal``."""

    figure: str
    label: str
    goal: float
    better: Literal["higher", "lower"]
    unit: Literal["%", "months", "days", "per month"]
    source: str  # where the default comes from (README, "Targets")

    def met(self, value: float) -> bool:
        return value <= self.goal if self.better == "lower" else value >= self.goal

    def says(self) -> str:
        """'at most 15 %', 'at least 98 %', 'at most 1.5 months'."""
        bound = "at most" if self.better == "lower" else "at least"
        return f"{bound} {_number(self.goal, self.unit)}"


DEFAULT_TARGETS: dict[str, Target] = {
    t.figure: t
    for t in (
        Target("ar_over_90_pct", "A/R over 90 days", 15.0, "lower", "%", "tryarceum.com, Dental AR benchmarks 2026"),
        Target("collection_pct", "Collection rate", 98.0, "higher", "%", "pearlyplan.com, Dentistry Huddle"),
        Target("hygiene_reappointment_pct", "Hygiene reappointment", 85.0, "higher", "%", "mybcat.com, hygiene recall"),
        Target(
            "ar_months",
            "A/R in months of net production",
            1.5,
            "lower",
            "months",
            "practicondental.blogspot.com, 2017 (1 to 1½ months)",
        ),
        Target(
            "claim_days_to_pay",
            "Days from claim sent to payment",
            30.0,
            "lower",
            "days",
            "tryarceum.com, Dental AR benchmarks 2026 (days in A/R under 30)",
        ),
        Target(
            "case_acceptance_pct",
            "Case acceptance",
            65.0,
            "higher",
            "%",
            "maxillodental.com, ideal case acceptance (healthy practices 65-85 %)",
        ),
        Target(
            "new_patients_per_dentist_month",
            "New patients per dentist per month",
            10.0,
            "higher",
            "per month",
            "aldrichadvisors.com, dental benchmarking (10-20 per dentist per month)",
        ),
    )
}


def with_targets(overrides: Mapping[str, float] | None) -> dict[str, Target]:
    """The default targets with a practice's own goals in place (unknown figures are a UsageError)."""
    targets = dict(DEFAULT_TARGETS)
    for figure, goal in (overrides or {}).items():
        if figure not in targets:
            raise UsageError(f"no target for {figure!r}; targets exist for {', '.join(targets)}")
        try:
            value = float(goal)
        except (TypeError, ValueError):
            raise UsageError(f"target {figure} must be a number, got {goal!r}") from None
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"target {figure} must be a number of 0 or more, got {goal!r}")
        targets[figure] = replace(targets[figure], goal=value)
    return targets


@dataclass(frozen=True)
class Assessment:
    target: Target
    value: float

    @property
    def met(self) -> bool:
        return self.target.met(self.value)

    def says(self) -> str:
        return f"target {self.target.says()}: {'met' if self.met else 'not met'}"


def assess(figures: Mapping[str, float], targets: Mapping[str, Target]) -> dict[str, Assessment]:
    """Each figure that has a target, against it (figures that could not be computed are left out)."""
    return {
        name: Assessment(target, float(figures[name]))
        for name, target in targets.items()
        if name in figures and known(figures[name])
    }


Unit = Literal["$", "%", "count", "months", "days", "per month"]


@dataclass(frozen=True)
class Change:
    """A figure now against the same figure at an earlier time."""

    now: float
    before: float
    against: str  # "last month", "a year earlier", ...
    better: Literal["higher", "lower"]
    unit: Unit

    @property
    def delta(self) -> float:
        return self.now - self.before

    @property
    def good(self) -> bool | None:
        if abs(self.delta) < {"%": 0.05, "months": 0.05}.get(self.unit, 0.5):  # no change as the report rounds it
            return None
        return (self.delta > 0) == (self.better == "higher")

    def says(self) -> str:
        """'▲ $1,234 vs last month', '▼ 2.1 points vs a year earlier', 'same as last month'."""
        if self.good is None:
            return f"same as {self.against}"
        arrow = "▲" if self.delta > 0 else "▼"
        size = abs(self.delta)
        amount = {
            "$": f"${size:,.0f}",
            "%": f"{size:.1f} points",
            "months": f"{size:.1f} months",
            "days": f"{size:,.0f} days",
            "per month": f"{size:.1f} a month",
        }.get(self.unit, f"{size:,.0f}")
        return f"{arrow} {amount} vs {self.against}"


def compare(
    now: Mapping[str, float],
    before: Mapping[str, float] | None,
    against: str,
    kinds: Mapping[str, tuple[Literal["higher", "lower"], Unit]],
) -> dict[str, Change]:
    """Each figure of ``kinds`` (name -> which way is better, unit) now against ``before``; none where the
    earlier figure is not there (the data does not reach back) or could not be computed."""
    if before is None:
        return {}
    return {
        name: Change(float(now[name]), float(before[name]), against, better, unit)
        for name, (better, unit) in kinds.items()
        if name in now and name in before and known(now[name]) and known(before[name])
    }


def findings(
    assessments: Mapping[str, Assessment],
    changes: Sequence[tuple[str, Change]] = (),
    notes: Sequence[str] = (),
    most: int = 5,
) -> list[str]:
    """What needs attention, in plain words, the most pressing first: targets missed (furthest first), then
    ``notes`` (detail a report adds about them, e.g. who holds the old balances), then figures that moved the
    wrong way (by how far). When nothing is amiss, one line that says so."""
    return _concerns(assessments, changes, notes, most) or [_all_clear(assessments)]


def _concerns(
    assessments: Mapping[str, Assessment], changes: Sequence[tuple[str, Change]], notes: Sequence[str], most: int = 5
) -> list[str]:
    """The ``findings`` when something is amiss; none when nothing is."""
    missed = sorted(
        (a for a in assessments.values() if not a.met),
        key=lambda a: abs(a.value - a.target.goal) / max(abs(a.target.goal), 1e-9),
        reverse=True,
    )
    out = [
        f"{a.target.label} is {_number(a.value, a.target.unit)}, against a target of {a.target.says()}." for a in missed
    ]
    worse = sorted(
        ((label, c) for label, c in changes if c.good is False),
        key=lambda item: abs(item[1].delta) / max(abs(item[1].before), 1e-9),
        reverse=True,
    )
    out += list(notes)
    out += [f"{label} {_moved(c)}." for label, c in worse]
    return out[:most]


def _all_clear(assessments: Mapping[str, Assessment]) -> str:
    """The line that says nothing is amiss, with the figures that met their targets."""
    met = ", ".join(f"{a.target.label.lower()} {_number(a.value, a.target.unit)}" for a in assessments.values())
    return f"Every target is met ({met})." if met else "Nothing stands out."


def _moved(change: Change) -> str:
    if change.unit == "%":
        return (
            f"moved from {change.before:.1f} % to {change.now:.1f} % since {change.against} "
            f"({'up' if change.delta > 0 else 'down'} {abs(change.delta):.1f} points)"
        )
    fmt = {
        "$": lambda v: f"${v:,.0f}",
        "months": lambda v: f"{v:.1f} months",
        "days": lambda v: f"{v:.0f} days",
        "per month": lambda v: f"{v:.1f} a month",
    }.get(change.unit, lambda v: f"{v:,.0f}")
    share = f", {abs(change.delta) / abs(change.before) * 100:.0f} %" if change.before else ""
    direction = "up" if change.delta > 0 else "down"
    return f"is {direction} from {fmt(change.before)} to {fmt(change.now)} since {change.against}{share}"


def _number(value: float, unit: str) -> str:
    """12.5 %, 1.4 months, 31 days; a rate per month as the bare number (its label says what it counts)."""
    return {"%": f"{value:.1f} %", "days": f"{value:.0f} days", "per month": f"{value:.1f}"}.get(
        unit, f"{value:.1f} {unit}"
    )


def known(value: float) -> bool:
    """Whether a figure could be computed (a finite number)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# -- the context of each report: figures now and before, targets, findings ------------------------------


@dataclass(frozen=True)
class Figure:
    """How a headline figure is spoken of: its name in a sentence, which way is better, its unit."""

    label: str
    better: Literal["higher", "lower"]
    unit: Unit


FIGURES: dict[str, Figure] = {
    "ar_total": Figure("A/R", "lower", "$"),
    "ar_over_90_pct": Figure("The share of A/R over 90 days", "lower", "%"),
    "ar_months": Figure("A/R in months of net production", "lower", "months"),
    "ins_est": Figure("The insurance estimate", "lower", "$"),
    "patient_portion": Figure("The patient portion", "lower", "$"),
    "gross_production": Figure("Gross production", "higher", "$"),
    "net_production": Figure("Net production", "higher", "$"),
    "total_income": Figure("Collections", "higher", "$"),
    "collection_pct": Figure("The collection rate", "higher", "%"),
    "recalls_overdue": Figure("The number of overdue recalls", "lower", "count"),
    "recalls_due": Figure("Recalls due in 30 days and not scheduled", "lower", "count"),
    "recalls_scheduled": Figure("Scheduled recalls", "higher", "count"),
    "hygiene_reappointment_pct": Figure("Hygiene reappointment", "higher", "%"),
    "recall_effectiveness_pct": Figure("Recall effectiveness", "higher", "%"),
    "claims_expected": Figure("Insurance still to pay on sent claims", "lower", "$"),
    "claims_over_60_pct": Figure("The share expected on claims over 60 days", "lower", "%"),
    "claim_days_to_pay": Figure("Days from claim sent to payment", "lower", "days"),
    "claims_over_30": Figure("The number of claims over 30 days", "lower", "count"),
    "unscheduled_value": Figure("Unscheduled treatment", "lower", "$"),
    "booked_value": Figure("Treatment booked ahead", "higher", "$"),
    "unscheduled_patients": Figure("Patients with unscheduled treatment", "lower", "count"),
    "case_acceptance_pct": Figure("Case acceptance", "higher", "%"),
    "new_patients": Figure("New patients", "higher", "count"),
    "new_patient_return_pct": Figure("The share of new patients who came back", "higher", "%"),
    "new_patient_production": Figure("New patients' production", "higher", "$"),
    "new_patients_per_dentist_month": Figure("New patients per dentist per month", "higher", "per month"),
}


@dataclass(frozen=True)
class Context:
    """What a report says around its headline figures."""

    figures: dict[str, float]
    assessments: dict[str, Assessment]
    changes: dict[str, list[Change]]  # figure -> its changes (against the previous period, a year earlier)
    findings: list[str]
    clear: bool = False  # nothing is amiss: the findings are the one line that says so


Earlier = list[tuple[dt.date, Callable[[], Mapping[str, float]], str]]


def as_of_comparisons(cutoff: dt.date, figures: Callable[[dt.date], Mapping[str, float]]) -> Earlier:
    """The earlier times an as-of report compares with: the end of last month and a year earlier."""
    month_end = cutoff.replace(day=1) - dt.timedelta(days=1)
    year_ago = years_back(cutoff, 1)
    return [
        (month_end, lambda: figures(month_end), "the end of last month"),
        (year_ago, lambda: figures(year_ago), "a year earlier"),
    ]


def period_comparisons(
    first: dt.date, last: dt.date, figures: Callable[[dt.date, dt.date], Mapping[str, float]]
) -> Earlier:
    """The earlier times a period report compares with: the previous period of the same length and the same
    period a year earlier."""
    before = first - dt.timedelta(days=1)
    previous = (before - (last - first), before)
    year_ago = (years_back(first, 1), years_back(last, 1))
    return [
        (previous[0], lambda: figures(*previous), "the previous period"),
        (year_ago[0], lambda: figures(*year_ago), "the same period a year earlier"),
    ]


def build_context(
    data: Frames,
    now: Mapping[str, float],
    earlier: Earlier,
    targets: Mapping[str, Target] | None,
    notes: Sequence[str] = (),
) -> Context:
    """The context of figures ``now``: each earlier time (its first day, its figures, what to call it) that
    the data reaches back to, the targets, and the findings."""
    first = first_day_with_data(data)
    kinds = {name: (FIGURES[name].better, FIGURES[name].unit) for name in now}
    changes: dict[str, list[Change]] = {}
    for starts, figures, label in earlier:
        if first is not None and starts >= first:
            for name, change in compare(now, figures(), label, kinds).items():
                changes.setdefault(name, []).append(change)
    found = assess(now, targets or DEFAULT_TARGETS)
    moved = [(FIGURES[name].label, change) for name, found_changes in changes.items() for change in found_changes]
    amiss = _concerns(found, moved, notes)
    return Context(dict(now), found, changes, amiss or [_all_clear(found)], clear=not amiss)


def aging_context(
    data: Frames, as_of: date | str, targets: Mapping[str, Target] | None = None, **options: Any
) -> Context:
    """A/R, its share over 90 days, A/R in months of net production (the last three months' average), the
    insurance estimate and the patient portion, now, at the previous month end and a year earlier (where
    the data reaches back), against the targets."""
    cutoff = day(as_of, "as-of date").date()

    def at(when: dt.date) -> tuple[dict[str, float], pd.DataFrame]:
        aged = aging(data, when, **options)
        summary = aging_summary(aged)
        net = float(production(data, last_months(when, 3).start, when)["net_production"].iloc[0]) / 3
        return {
            "ar_total": summary["total"],
            "ar_over_90_pct": summary["over_90_pct"],
            "ar_months": summary["total"] / net if net > 0 else float("nan"),
            "ins_est": summary["ins_est"],
            "patient_portion": summary["patient_portion"],
        }, aged

    now, aged = at(cutoff)
    earlier = as_of_comparisons(cutoff, lambda when: at(when)[0])
    notes = []
    over_90 = aged.loc[aged["bal_over_90"] > 0, "bal_over_90"].sort_values(ascending=False)
    target = (targets or DEFAULT_TARGETS)["ar_over_90_pct"]
    if len(over_90) and known(now["ar_over_90_pct"]) and not target.met(now["ar_over_90_pct"]):
        few = int((over_90.cumsum() < 0.6 * over_90.sum()).sum()) + 1
        notes.append(f"{few:,} of {len(over_90):,} families hold 60 % of the balance over 90 days.")
    return build_context(data, now, earlier, targets, notes)


def production_context(
    data: Frames, start: date | str, end: date | str, targets: Mapping[str, Target] | None = None, **options: Any
) -> Context:
    """Gross and net production, collections and the collection rate for the period, against the previous
    period of the same length and the same period a year earlier (where the data reaches back), and the
    targets."""
    first_day, last_day = day(start, "start date").date(), day(end, "end date").date()

    def at(a: dt.date, b: dt.date) -> dict[str, float]:
        row = production(data, a, b, **options).iloc[0]
        return {k: float(row[k]) for k in ("gross_production", "net_production", "total_income", "collection_pct")}

    return build_context(data, at(first_day, last_day), period_comparisons(first_day, last_day, at), targets)


def recall_context(data: Frames, as_of: date | str, targets: Mapping[str, Target] | None = None) -> Context:
    """Recalls overdue, due and scheduled, hygiene reappointment and recall effectiveness (the last twelve
    months, as the recall report counts them), now and a year earlier (where the data reaches back), against
    the targets."""
    cutoff = day(as_of, "as-of date").date()

    def at(when: dt.date) -> dict[str, float]:
        start = trailing_months(when, 12).start
        summary = recall_summary(recall(data, when), hygiene_reappointment(data, start, when))
        came_due = recall_effectiveness(data, start, when - dt.timedelta(days=60))
        return {
            "recalls_overdue": float(summary["overdue"]),
            "recalls_due": float(summary["due"]),
            "recalls_scheduled": float(summary["scheduled"]),
            "hygiene_reappointment_pct": summary["reappointment_pct"],
            "recall_effectiveness_pct": 100 * float(came_due["returned"].mean()) if len(came_due) else float("nan"),
        }

    year_ago = years_back(cutoff, 1)
    return build_context(data, at(cutoff), [(year_ago, lambda: at(year_ago), "a year earlier")], targets)


def first_day_with_data(data: Frames) -> dt.date | None:
    """The practice's first day with data (its first completed procedure)."""
    procs = table(data, "procedures")
    dated = procs.loc[procs["status"] == "completed", "date"].dropna()
    return dated.min().date() if len(dated) else None
