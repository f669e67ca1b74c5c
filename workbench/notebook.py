"""Helpers the report notebooks call, so that the notebooks stay thin.

``setup()`` makes plotly figures render both in JupyterLab (plotly's mimetype) and in exported HTML
(a div and a script that uses the plotly.js our template embeds once per page).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.io as pio
from plotly.basedatatypes import BaseFigure

from workbench.errors import UsageError
from workbench.formatting import money, pct
from workbench.metrics.aging import AgingScope
from workbench.metrics.attention import FIGURES, Context
from workbench.metrics.group import GROUP_FIGURES
from workbench.model import PATIENT_STATUSES
from workbench.practice import Practice, connect
from workbench.redact import RedactedPractice

__all__ = [
    "aging_options_used",
    "aging_scope",
    "attention",
    "complete_list",
    "definition",
    "figure_bundle",
    "group_grid",
    "kpis",
    "open_practice",
    "setup",
    "show_table",
]


def figure_bundle(fig: BaseFigure) -> dict[str, Any]:
    """A figure as a report shows it: plotly's own mimetype (JupyterLab draws it) and HTML without plotly.js
    or MathJax (the exported page provides plotly.js once)."""
    fig_dict = fig.to_dict()
    markup = pio.to_html(
        fig_dict,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        default_width="100%",
        validate=False,
        config={"displaylogo": False, "responsive": True},
    )
    return {
        "application/vnd.plotly.v1+json": json.loads(pio.to_json(fig_dict, validate=False, remove_uids=False)),
        "text/html": f'<div class="wb-figure">{markup}</div>',
    }


def _display_figure(fig: BaseFigure) -> None:
    from IPython.display import display

    display(figure_bundle(fig), raw=True)


def setup() -> None:
    """Configure plotly and pandas for report notebooks: a figure a cell shows is displayed as
    ``figure_bundle`` gives it (directly, not through plotly's renderers, whose module imports nbformat and
    jsonschema: 0.2 s of every report's kernel)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.ipython_display_formatter.for_type(BaseFigure, _display_figure)
    pd.set_option("display.max_columns", 30)


def open_practice(source: str, cache_dir: str | Path | None = None, redact: bool = False) -> Practice:
    """Connect to a practice (the cache is filled on first use); ``redact`` hides patient identities."""
    practice = connect(source, cache_dir=cache_dir)
    return RedactedPractice(practice) if redact else practice


def aging_scope(
    practice: Practice,
    providers: Sequence[str] = (),
    clinics: Sequence[str] = (),
    billing_types: Sequence[str] = (),
    exclude: Sequence[str] = (),
    exclude_bad_address: bool = False,
) -> AgingScope:
    """An aging report's filters from the names a consultant types: provider abbreviations, clinic names,
    billing types, guarantor statuses left out (and guarantors without a ZIP code). An unknown name is a
    UsageError listing the known ones."""
    return AgingScope(
        providers=_ids(practice.frame("providers"), "provider_id", "abbr", providers, "provider"),
        clinics=_ids(practice.frame("clinics"), "clinic_id", "name", clinics, "clinic"),
        billing_types=list(billing_types) or None,
        exclude_statuses=_known(exclude, PATIENT_STATUSES, "patient status"),
        exclude_bad_address=exclude_bad_address,
    )


def _ids(frame: pd.DataFrame, key: str, label: str, names: Sequence[str], what: str) -> list[int] | None:
    if not names:
        return None
    labels = {str(n).strip(): int(i) for i, n in zip(frame[key], frame[label], strict=True) if pd.notna(n)}
    lookup = {n.lower(): i for n, i in labels.items()}
    _known(names, list(labels), what, fold=True)
    return [lookup[n.strip().lower()] for n in names]


def _known(names: Sequence[str], known: Sequence[str], what: str, fold: bool = False) -> list[str]:
    folded = {k.lower() for k in known} if fold else set(known)
    unknown = [n for n in names if (n.strip().lower() if fold else n) not in folded]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return list(names)


def aging_options_used(options: Mapping[str, Any], by: str) -> dict[str, str | None]:
    """What an aging report says, under "How these numbers are computed", about the options it used."""
    scope: AgingScope = options["scope"]
    balances = {"all": None, "owing": "accounts owing only", "credit": "credit balances only"}[options["balances"]]
    return {
        "mode": "AgingProcLifo on (adjustments on a procedure aged with it)"
        if options["proc_lifo"]
        else "AgingProcLifo off (credits to the oldest balance first)",
        "aged_by": by,
        "balances": balances,
        "only": "families with an insurance estimate" if options["insured_only"] else None,
        "left_out": ", ".join(
            [f"{s} guarantors" for s in scope.exclude_statuses]
            + (["guarantors without a ZIP code"] if scope.exclude_bad_address else [])
        )
        or None,
        "providers": f"{len(scope.providers)} chosen" if scope.providers is not None else None,
        "clinics": f"{len(scope.clinics)} chosen (by the guarantor's clinic)" if scope.clinics is not None else None,
        "billing_types": ", ".join(scope.billing_types) if scope.billing_types is not None else None,
    }


class _Html:
    """An object Jupyter displays as HTML. Money carries "$" signs: JupyterLab would typeset the text between
    two of them as mathematics, so the markup is marked for MathJax to leave alone."""

    def __init__(self, markup: str) -> None:
        self.markup = f'<div class="mathjax_ignore tex2jax_ignore">{markup}</div>'

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def kpis(items: Sequence[tuple[str, ...]], context: Context | None = None) -> _Html:
    """A row of headline figures: (label, value, note) or (label, value, note, figure), where ``figure``
    names the figure in ``context`` whose target and changes show under it."""
    cards = []
    for label, value, note, *figure in items:
        extra = _context_lines(context, figure[0]) if context is not None and figure else ""
        cards.append(
            f'<div class="wb-kpi"><div class="wb-kpi-label">{html.escape(label)}</div>'
            f'<div class="wb-kpi-value">{html.escape(value)}</div>'
            f'<div class="wb-kpi-note">{html.escape(note)}</div>{extra}</div>'
        )
    return _Html(f'<div class="wb-kpis">{"".join(cards)}</div>')


def _context_lines(context: Context, figure: str) -> str:
    lines = []
    assessment = context.assessments.get(figure)
    if assessment is not None:
        state = "good" if assessment.met else "bad"
        lines.append(f'<div class="wb-kpi-target {state}">{html.escape(assessment.says())}</div>')
    for change in context.changes.get(figure, []):
        state = {True: "good", False: "bad", None: "same"}[change.good]
        lines.append(f'<div class="wb-kpi-change {state}">{html.escape(change.says())}</div>')
    return "".join(lines)


def attention(context: Context | Sequence[str], clear: bool = False) -> _Html:
    """The "What needs attention" box: the report's findings in plain words (a context's, or the lines
    given), at its top; in calm colours when nothing is amiss (a context says so itself, lines by ``clear``)."""
    lines = context.findings if isinstance(context, Context) else list(context)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    calm = context.clear if isinstance(context, Context) else clear
    kind = "wb-attention wb-clear" if calm else "wb-attention"
    return _Html(f'<section class="{kind}"><h2>What needs attention</h2><ul>{items}</ul></section>')


def show_table(
    frame: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]] | None = None, caption: str | None = None
) -> _Html:
    """A readable table: cells through ``formats``, numeric columns right-aligned, an optional caption."""
    formats = formats or {}
    align = {c: ' class="num"' if pd.api.types.is_numeric_dtype(frame[c]) else "" for c in frame.columns}
    head = "".join(f"<th{align[c]}>{html.escape(str(c))}</th>" for c in frame.columns)
    columns = []  # column by column: a table of thousands of rows is a few list comprehensions
    for column in frame.columns:
        values, shown = frame[column], formats.get(column)
        if shown is None:
            texts = ["–" if gone else str(v) for v, gone in zip(values.tolist(), values.isna().tolist(), strict=True)]
        else:
            texts = [shown(v) for v in values.tolist()]
        columns.append([f"<td{align[column]}>{html.escape(text)}</td>" for text in texts])
    rows = ["<tr>" + "".join(cells) + "</tr>" for cells in zip(*columns, strict=True)]
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    empty = "" if rows else f'<tr><td colspan="{len(frame.columns)}">Nothing to show.</td></tr>'
    return _Html(
        f'<table class="wb-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}{empty}</tbody></table>'
    )


def complete_list(
    frame: pd.DataFrame,
    what: str,
    filename: str,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
) -> _Html:
    """The whole list behind a shortened one: collapsed under "All N <what>", sortable and searchable in the
    page, and a CSV of the same rows (raw values) to download from the file itself, offline."""
    csv = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    link = (
        f'<a class="wb-csv" download="{html.escape(filename)}" href="data:text/csv;base64,{csv}">'
        f"Download all {len(frame):,} as CSV</a>"
    )
    table = show_table(frame, formats=formats)
    return _Html(
        f'<details class="wb-complete"><summary>All {len(frame):,} {html.escape(what)}</summary>'
        f"<p>{link}</p>{table}</details>"
    )


def definition(*texts: str) -> _Html:
    """The "How these numbers are computed" box under a report's figures."""
    body = "".join(_paragraphs(t) for t in texts)
    return _Html(
        f'<details class="wb-definition" open><summary>How these numbers are computed</summary>{body}</details>'
    )


def _paragraphs(text: str) -> str:
    """Plain text with **bold** into HTML paragraphs (all a definition needs)."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(" ".join(block.split()))
        out.append("<p>" + re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped) + "</p>")
    return "".join(out)


# the group table's column headings (its figures and their units: metrics.GROUP_FIGURES, metrics.attention.FIGURES)
GROUP_HEADINGS = {
    "net_production": "Net production",
    "collection_pct": "Collection rate",
    "ar_total": "A/R",
    "ar_over_90_pct": "A/R over 90",
    "ar_months": "A/R in months",
    "new_patients": "New patients",
    "hygiene_reappointment_pct": "Hygiene reappt.",
    "unscheduled_value": "Unscheduled tx",
    "claims_expected": "Claims outstanding",
}


def group_grid(table: pd.DataFrame) -> _Html:
    """The group's figures (``metrics.group_table``), a row per practice: each value with ✓ or ✗ against the
    practice's target and ⚑ where it is an outlier; a practice that failed as one line; the median last."""

    def cell(value: Any, unit: str) -> str:
        if value is None or pd.isna(value):
            return "–"
        return {"$": money(value), "%": pct(value), "months": f"{value:.1f}"}.get(unit, f"{value:,.0f}")

    head = "".join(f'<th class="num">{html.escape(GROUP_HEADINGS[key])}</th>' for key in GROUP_FIGURES)
    rows, foot = [], ""
    for row in table.to_dict("records"):
        name = html.escape(str(row["practice"]))
        if row["status"] == "failed":
            rows.append(
                f'<tr class="wb-failed"><td>{name}</td><td colspan="{len(GROUP_FIGURES)}">'
                f"failed: {html.escape(str(row['error']))}</td></tr>"
            )
            continue
        cells = []
        for key in GROUP_FIGURES:
            unit = FIGURES[key].unit
            marks, state = "", ""
            met = row.get(f"{key}_target_met")
            if met is not None and not pd.isna(met):
                marks += " ✓" if met else " ✗"
                state = "good" if met else "bad"
            if row.get(f"{key}_outlier") is True:
                marks += " ⚑"
                state = "bad"
            cells.append(f'<td class="num {state}">{html.escape(cell(row.get(key), unit) + marks)}</td>')
        if row["status"] == "median":  # in the table's foot: sorting the practices leaves it last
            foot = f'<tfoot><tr class="wb-median"><td>{name}</td>{"".join(cells)}</tr></tfoot>'
        else:
            rows.append(f"<tr><td>{name}</td>{''.join(cells)}</tr>")
    return _Html(
        '<div class="wb-wide"><table class="wb-table wb-group">'
        "<caption>✓ target met, ✗ target missed, ⚑ far from the group's median</caption>"
        f"<thead><tr><th>Practice</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>{foot}</table></div>"
    )
