"""Plotly figures for the reports, in one colour-blind-safe palette (Okabe–Ito)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "PALETTE",
    "aging_buckets",
    "ar_trend",
    "bar_by_group",
    "claim_ages",
    "new_patients_trend",
    "production_trend",
    "recall_status",
    "small_multiples",
]

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
BUCKET_LABELS = {
    "bal_0_30": "0–30 days",
    "bal_31_60": "31–60 days",
    "bal_61_90": "61–90 days",
    "bal_over_90": "Over 90 days",
}
_LAYOUT = {
    "template": "plotly_white",
    "colorway": PALETTE,
    "height": 380,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"},
    "legend": {"orientation": "h", "y": -0.18},
}


def _figure(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title={"text": title, "x": 0}, **_LAYOUT)
    return fig


def aging_buckets(table: pd.DataFrame) -> go.Figure:
    """Total outstanding per aging bucket (from ``metrics.aging``)."""
    totals = [float(table[c].sum()) for c in BUCKET_LABELS]
    fig = _figure("Balances by age")
    fig.add_bar(
        x=list(BUCKET_LABELS.values()),
        y=totals,
        customdata=list(BUCKET_LABELS),
        marker_color=PALETTE[:4],
        text=[f"${v:,.0f}" for v in totals],
        textposition="outside",
        hovertemplate="%{x}: $%{y:,.2f}<extra></extra>",
    )
    fig.update_yaxes(tickprefix="$", tickformat=",.0f", rangemode="nonnegative")  # buckets are never negative
    return fig


def ar_trend(trend: pd.DataFrame) -> go.Figure:
    """A/R at each month end, stacked by age, with the over-90 share (``metrics.aging_trend``)."""
    fig = _figure("Accounts receivable at month end")
    days = trend["as_of"]
    # short axis labels that fit a tablet ("Dec 2025"; a last day that is not a month end as "Nov 21"),
    # the full date in the hover
    x = days.dt.strftime("%b %Y").where(days.dt.is_month_end, days.dt.strftime("%b %-d"))
    full = days.dt.strftime("%B %-d, %Y")
    for color, (column, label) in zip(PALETTE, BUCKET_LABELS.items(), strict=False):
        fig.add_bar(
            x=x,
            y=trend[column],
            customdata=full,
            name=label,
            marker_color=color,
            hovertemplate=f"%{{customdata}}: $%{{y:,.0f}}<extra>{label}</extra>",
        )
    fig.add_scatter(
        x=x,
        y=trend["over_90_pct"],
        customdata=full,
        name="Over 90 days, %",
        yaxis="y2",
        mode="lines+markers",
        line={"color": PALETTE[7], "width": 2},
        hovertemplate="%{customdata}: %{y:.1f}% over 90 days<extra></extra>",
    )
    fig.update_layout(
        barmode="stack",
        yaxis={"tickprefix": "$", "tickformat": ",.0f"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "ticksuffix": "%",
            "tickformat": ".0f",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    return fig


def production_trend(monthly: pd.DataFrame, through: date | None = None) -> go.Figure:
    """Gross and net production with total income per month (``production(..., by="month")``).

    ``through``: the last day with data; when it falls before its month's end, that month's bars are
    hatched and labelled as a partial month (a few days of a month must not read as a collapse)."""
    fig = _figure("Production and collections by month")
    x = monthly["month"]
    partial = _partial_last_month(x, through)
    pattern = {"shape": ["/" if p else "" for p in partial], "solidity": 0.35}
    for column, name, short in (
        ("gross_production", "Gross production", "Gross"),
        ("net_production", "Net production", "Net"),
    ):
        fig.add_bar(
            x=x,
            y=monthly[column],
            name=name,
            customdata=x.dt.strftime("%Y-%m-%d"),
            marker={"pattern": pattern},
            hovertemplate=f"%{{x|%b %Y}}: $%{{y:,.0f}}<extra>{short}</extra>",
        )
    whole = ~pd.Series(partial, index=monthly.index, dtype=bool)
    fig.add_scatter(  # the line joins whole months only: a few days' takings would read as a fall
        x=x[whole],
        y=monthly["total_income"][whole],
        name="Collections",
        mode="lines+markers",
        customdata=x[whole].dt.strftime("%Y-%m-%d"),
        line={"color": PALETTE[2], "width": 3},
        hovertemplate="%{x|%b %Y}: $%{y:,.0f}<extra>Collections</extra>",
    )
    if through is not None and partial and partial[-1]:
        fig.add_scatter(
            x=x[~whole],
            y=monthly["total_income"][~whole],
            name="Collections, partial month",
            mode="markers",
            customdata=x[~whole].dt.strftime("%Y-%m-%d"),
            marker={"color": "white", "size": 9, "line": {"color": PALETTE[2], "width": 2}},
            showlegend=False,
            hovertemplate=f"%{{x|%b}} 1–{through.day}: $%{{y:,.0f}}<extra>Collections so far</extra>",
        )
        _label_partial(fig, x.iloc[-1], through)
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickprefix="$", tickformat=",.0f")
    fig.update_xaxes(dtick="M1", tickformat="%b\n%Y")
    return fig


def _label_partial(fig: go.Figure, month: pd.Timestamp, through: date) -> None:
    """ "Dec 1–5: partial month" above the last month's bars."""
    fig.add_annotation(
        x=month,
        y=1,
        yref="paper",
        yanchor="bottom",
        showarrow=False,
        text=f"{through:%b} 1–{through.day}: partial month",
        font={"size": 11, "color": "#555"},
    )


def _partial_last_month(months: pd.Series, through: date | None) -> list[bool]:
    """Per month: is it the month of ``through`` and does ``through`` fall before that month's end?"""
    if through is None or months.empty:
        return [False] * len(months)
    last = pd.Timestamp(through)
    cut_short = not last.is_month_end
    return [cut_short and (m.year, m.month) == (last.year, last.month) for m in months]


def bar_by_group(
    frame: pd.DataFrame, group: str, value: str, title: str, money: bool = True, keep_order: bool = False
) -> go.Figure:
    """One horizontal bar per group (e.g. production by provider), largest on top unless ``keep_order``."""
    data = frame.iloc[::-1] if keep_order else frame.sort_values(value)
    fig = _figure(title)
    fmt = "$%{x:,.0f}" if money else "%{x:,}"
    fig.add_bar(
        x=data[value],
        y=data[group].astype(str),
        customdata=data[group].astype(str),
        orientation="h",
        marker_color=PALETTE[0],
        hovertemplate=f"%{{y}}: {fmt}<extra></extra>",
    )
    if money:
        fig.update_xaxes(tickprefix="$", tickformat=",.0f")
    else:  # counts: whole numbers from zero, even when every bar is small or empty
        fig.update_xaxes(tickformat=",d", rangemode="nonnegative")
    fig.update_layout(height=max(260, 60 + 40 * len(data)))
    return fig


def recall_status(table: pd.DataFrame) -> go.Figure:
    """Active recalls per status (from ``metrics.recall``)."""
    labels = {"overdue": "Overdue", "due": "Due in 30 days", "scheduled": "Scheduled", "not_due": "Not yet due"}
    counts = table["status"].value_counts().reindex(list(labels), fill_value=0)
    fig = _figure("Recall status of active patients")
    fig.add_bar(
        x=[labels[s] for s in counts.index],
        y=counts.to_numpy(),
        customdata=list(counts.index),
        marker_color=[PALETTE[3], PALETTE[1], PALETTE[2], PALETTE[4]],
        text=[f"{v:,}" for v in counts.to_numpy()],
        textposition="outside",
        hovertemplate="%{x}: %{y:,} patients<extra></extra>",
    )
    fig.update_yaxes(tickformat=",d", rangemode="nonnegative")
    return fig


def claim_ages(by_age: pd.DataFrame) -> go.Figure:
    """What insurance is expected to pay on outstanding claims, per age band (``metrics.claims_by_age``)."""
    fig = _figure("Expected from insurance, by days since the claim was sent")
    fig.add_bar(
        x=[f"{age} days" for age in by_age["age"]],
        y=by_age["expected"],
        customdata=by_age["age"],
        marker_color=PALETTE[:4],
        text=[f"${v:,.0f} ({n:,})" for v, n in zip(by_age["expected"], by_age["claims"], strict=True)],
        textposition="outside",
        hovertemplate="%{x}: $%{y:,.2f}<extra></extra>",
    )
    fig.update_yaxes(tickprefix="$", tickformat=",.0f", rangemode="nonnegative")
    return fig


SOURCE_KINDS = {"other": "Marketing and other", "patient": "Patients", "doctor": "Doctors", "none": "Not recorded"}


def new_patients_trend(monthly: pd.DataFrame, through: date | None = None) -> go.Figure:
    """New patients per month, stacked by the kind of source that sent them (``metrics.new_patients_by_month``);
    a partial last month hatched, as in the production trend."""
    fig = _figure("New patients by month and source")
    partial = _partial_last_month(monthly["month"], through)
    pattern = {"shape": ["/" if p else "" for p in partial], "solidity": 0.35}
    for color, (kind, label) in zip(PALETTE, SOURCE_KINDS.items(), strict=False):
        fig.add_bar(
            x=monthly["month"],
            y=monthly[kind],
            name=label,
            marker={"color": color if kind != "none" else "#999999", "pattern": pattern},
            customdata=monthly["month"].dt.strftime("%Y-%m-%d"),
            hovertemplate=f"%{{x|%b %Y}}: %{{y:,}}<extra>{label}</extra>",
        )
    if through is not None and partial and partial[-1]:
        _label_partial(fig, monthly["month"].iloc[-1], through)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(tickformat=",d", rangemode="nonnegative")
    fig.update_xaxes(dtick="M1", tickformat="%b\n%Y")
    return fig


def small_multiples(
    monthly: pd.DataFrame, value: str = "net_production", title: str = "Net production by month"
) -> go.Figure:
    """One small chart per practice, on one scale, of ``value`` per month (``Group.monthly``)."""
    from plotly.subplots import make_subplots

    names = list(dict.fromkeys(monthly["practice"]))
    cols = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, shared_yaxes=True, shared_xaxes=True)
    for i, name in enumerate(names):
        mine = monthly[monthly["practice"] == name]
        fig.add_bar(
            x=mine["month"],
            y=mine[value],
            name=name,
            marker_color=PALETTE[0],
            showlegend=False,
            hovertemplate=f"{name}, %{{x|%b %Y}}: $%{{y:,.0f}}<extra></extra>",
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_layout(title={"text": title, "x": 0}, **{**_LAYOUT, "height": 220 * rows + 80})
    fig.update_yaxes(tickprefix="$", tickformat="~s", rangemode="nonnegative")
    fig.update_xaxes(tickformat="%b")
    return fig
