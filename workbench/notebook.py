"""Helpers the report notebooks call, so that the notebooks stay thin.

``setup()`` makes plotly figures render both in JupyterLab (plotly's mimetype) and in exported HTML
(a div and a script that uses the plotly.js our template embeds once per page).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

from workbench.practice import Practice, connect
from workbench.redact import RedactedPractice

__all__ = ["definition", "kpis", "open_practice", "setup", "show_table"]

RENDERER = "workbench_html"


class _ReportHtmlRenderer(MimetypeRenderer):
    """text/html for a figure without plotly.js or MathJax: the page provides plotly.js once."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        markup = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            validate=False,
            config={"displaylogo": False, "responsive": True},
        )
        return {"text/html": f'<div class="wb-figure">{markup}</div>'}


def setup() -> None:
    """Configure plotly and pandas for report notebooks."""
    pio.renderers[RENDERER] = _ReportHtmlRenderer()
    pio.renderers.default = f"plotly_mimetype+{RENDERER}"
    pd.set_option("display.max_columns", 30)


def open_practice(source: str, cache_dir: str | Path | None = None, redact: bool = False) -> Practice:
    """Connect to a practice (the cache is filled on first use); ``redact`` hides patient identities."""
    practice = connect(source, cache_dir=cache_dir)
    return RedactedPractice(practice) if redact else practice


class _Html:
    """An object Jupyter displays as HTML."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def kpis(items: Sequence[tuple[str, str, str]]) -> _Html:
    """A row of headline figures: (label, value, note)."""
    cards = "".join(
        f'<div class="wb-kpi"><div class="wb-kpi-label">{html.escape(label)}</div>'
        f'<div class="wb-kpi-value">{html.escape(value)}</div>'
        f'<div class="wb-kpi-note">{html.escape(note)}</div></div>'
        for label, value, note in items
    )
    return _Html(f'<div class="wb-kpis">{cards}</div>')


def show_table(
    frame: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]] | None = None, caption: str | None = None
) -> _Html:
    """A readable table: cells through ``formats``, numeric columns right-aligned, an optional caption."""
    formats = formats or {}
    align = {c: ' class="num"' if pd.api.types.is_numeric_dtype(frame[c]) else "" for c in frame.columns}
    head = "".join(f"<th{align[c]}>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            text = formats[column](value) if column in formats else ("–" if pd.isna(value) else str(value))
            cells.append(f"<td{align[column]}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    empty = "" if rows else f'<tr><td colspan="{len(frame.columns)}">Nothing to show.</td></tr>'
    return _Html(
        f'<table class="wb-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}{empty}</tbody></table>'
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
