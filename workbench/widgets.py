"""Exploring a practice in JupyterLab: controls (ipywidgets) over charts (``chart_widget.Chart``) that redraw in place.

    from workbench.widgets import Explorer
    Explorer("demo:").widget()          # in a notebook cell

The logic lives here, not in the notebook, so tests drive it: set a control's value, the figures change.
The report notebooks' parameter controls are in ``workbench.report_controls``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from workbench import charts, metrics, model
from workbench.chart_widget import Chart
from workbench.errors import WorkbenchError
from workbench.formatting import long_date, money, pct
from workbench.metrics.recall import RECALL_STATUSES
from workbench.notebook import show_table
from workbench.periods import trailing_months
from workbench.practice import Practice, connect
from workbench.practices import default_practices_file, load_practices

__all__ = ["Explorer"]


class Explorer:
    """Practice, period, providers and clinic controls over production, aging, recall, claims, unscheduled
    treatment and new patient charts; clicking a bar lists the rows behind it (procedures of a month, families
    of an aging bucket, patients of a recall status, claims of an age band, patients with treatment of a
    category, new patients of a month) under its chart."""

    def __init__(
        self,
        source: str | None = None,
        practices: str | Path | Mapping[str, str] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        choices, problem = _practice_choices(practices)
        source = source or next(iter(choices.values()), "demo:")
        if source not in choices.values():
            choices = {source: source, **choices}
        self.practice_picker = widgets.Dropdown(options=list(choices.items()), value=source, description="Practice")
        self.url = widgets.Text(value=source, description="or URL", continuous_update=False)
        self.start = widgets.DatePicker(description="From")
        self.end = widgets.DatePicker(description="To")
        self.providers = widgets.SelectMultiple(description="Providers", rows=5)
        self.clinic = widgets.Dropdown(description="Clinic", options=[("All clinics", ALL)], value=ALL)
        self.balances = widgets.Dropdown(
            description="A/R",
            options=[("All balances", "all"), ("Owing only", "owing"), ("Credit balances", "credit")],
            value="all",
        )
        self.active_only = widgets.Checkbox(description="Leave out inactive and archived families", indent=False)
        self.refresh_button = widgets.Button(description="Refresh data", icon="refresh")
        self.progress = widgets.IntProgress(value=0, min=0, max=len(model.TABLES), description="Refresh")
        self.notice = widgets.HTML(problem)  # a practices file that cannot be read stays said
        self.status = widgets.HTML()
        self.summary = widgets.HTML()
        self.production_chart, self.aging_chart, self.recall_chart = Chart(), Chart(), Chart()
        self.production_rows, self.aging_rows, self.recall_rows = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.production_figure = self.aging_figure = self.recall_figure = go.Figure()
        self.claims_chart, self.treatment_chart, self.patients_chart = Chart(), Chart(), Chart()
        self.claims_rows, self.treatment_rows, self.patients_rows = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.claims_figure = self.treatment_figure = self.patients_figure = go.Figure()
        self.practice: Practice | None = None
        self._aged = self._recalls = self._claims = self._treatment = self._new = pd.DataFrame()
        self._quiet = False
        self.open(source)
        for control in (self.start, self.end, self.providers, self.clinic, self.balances, self.active_only):
            control.observe(lambda _change: self.update(), names="value")
        self.practice_picker.observe(lambda change: self.open(change["new"]), names="value")
        self.url.observe(lambda change: self.open(change["new"]), names="value")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.production_chart.observe(lambda change: self.show_procedures(change["new"]), names="clicked")
        self.aging_chart.observe(lambda change: self.show_families(change["new"]), names="clicked")
        self.recall_chart.observe(lambda change: self.show_recalls(change["new"]), names="clicked")
        self.claims_chart.observe(lambda change: self.show_claims(change["new"]), names="clicked")
        self.treatment_chart.observe(lambda change: self.show_treatment(change["new"]), names="clicked")
        self.patients_chart.observe(lambda change: self.show_new_patients(change["new"]), names="clicked")

    def open(self, source: str) -> None:
        """Switch to the practice at ``source`` and reset the controls to its data."""
        try:
            practice = connect(source, cache_dir=self.cache_dir)
            providers = practice.frame("providers")
            clinics = practice.frame("clinics")
        except WorkbenchError as exc:
            self.status.value = f"<b>Cannot open {html.escape(source)}:</b> {html.escape(str(exc))}"
            return
        self.practice = practice
        year = trailing_months(practice.data_as_of, 12)
        self._quiet = True
        try:
            self.start.value, self.end.value = year.start, year.end
            self.providers.options = [
                (f"{abbr} – {name}", int(pid))
                for pid, abbr, name in zip(providers["provider_id"], providers["abbr"], providers["name"], strict=True)
            ]
            self.providers.value = ()
            clinic_options: list[tuple[str, int]] = [("All clinics", ALL)]
            clinic_options += [(str(n), int(c)) for c, n in zip(clinics["clinic_id"], clinics["name"], strict=True)]
            self.clinic.options = clinic_options
            self.clinic.value = ALL
        finally:
            self._quiet = False
        self.status.value = f"{html.escape(practice.name)}: data to {practice.data_as_of:%B %-d, %Y}"
        self.update()

    def _scope(self) -> tuple[list[int] | None, list[int] | None]:
        chosen = [int(p) for p in self.providers.value] or None
        return chosen, None if self.clinic.value == ALL else [int(self.clinic.value)]

    def update(self) -> None:
        """Recompute the figures for the current controls and redraw the charts."""
        if self._quiet or self.practice is None or not self.start.value or not self.end.value:
            return
        start, end = self.start.value, self.end.value
        if start > end:
            self.status.value = "<b>The start date is after the end date.</b>"
            return
        providers, clinics = self._scope()
        options: dict[str, Any] = {"providers": providers, "clinics": clinics}
        monthly = metrics.production(self.practice, start, end, by="month", **options)
        total = metrics.production(self.practice, start, end, **options).iloc[0]
        scope = metrics.AgingScope(
            providers=providers,
            clinics=clinics,
            exclude_statuses=("inactive", "archived") if self.active_only.value else (),
        )
        self._aged = metrics.aging(self.practice, end, scope=scope, balances=self.balances.value)
        self._recalls = metrics.recall(self.practice, end)
        aged = metrics.aging_summary(self._aged)
        due = self._recalls["status"].value_counts()
        self._claims = _within(metrics.outstanding_claims(self.practice, end), providers, clinics)
        self._treatment = _within(metrics.unscheduled_treatment(self.practice, end), providers, clinics)
        patient_clinic = self.practice.frame("patients").set_index("patient_id")["clinic_id"]
        new = metrics.new_patients(self.practice, start, end)
        self._new = _within(new.assign(clinic_id=new["patient_id"].map(patient_clinic)), None, clinics)
        self.production_figure = charts.production_trend(monthly, through=end)
        self.aging_figure = charts.aging_buckets(self._aged)
        self.recall_figure = charts.recall_status(self._recalls)
        self.claims_figure = charts.claim_ages(metrics.claims_by_age(self._claims))
        self.treatment_figure = charts.bar_by_group(
            metrics.treatment_by_group(self._treatment, "category"), "category", "value", "Unscheduled treatment"
        )
        self.patients_figure = charts.new_patients_trend(
            metrics.new_patients_by_month(self._new, start, end), through=end
        )
        for chart, figure in (
            (self.production_chart, self.production_figure),
            (self.aging_chart, self.aging_figure),
            (self.recall_chart, self.recall_figure),
            (self.claims_chart, self.claims_figure),
            (self.treatment_chart, self.treatment_figure),
            (self.patients_chart, self.patients_figure),
        ):
            chart.show(figure)
        for rows in (
            self.production_rows,
            self.aging_rows,
            self.recall_rows,
            self.claims_rows,
            self.treatment_rows,
            self.patients_rows,
        ):
            rows.value = ""
        self.summary.value = _key_figures(
            [
                ("Gross production", money(total["gross_production"])),
                ("Net production", money(total["net_production"])),
                ("Collections", f"{money(total['total_income'])} ({pct(total['collection_pct'])})"),
                (f"A/R on {end:%b %-d}", money(aged["total"])),
                ("Over 90 days", pct(aged["over_90_pct"])),
                ("Recalls overdue", f"{int(due.get('overdue', 0)):,} of {len(self._recalls):,}"),
                ("Claims outstanding", money(float(self._claims["expected"].sum()))),
                ("Unscheduled treatment", money(float(self._treatment["fee"].sum()))),
                ("New patients", f"{len(self._new):,}"),
            ]
        )
        self.status.value = f"{html.escape(self.practice.name)}: data to {self.practice.data_as_of:%B %-d, %Y}"

    def show_procedures(self, clicked: Mapping[str, Any]) -> None:
        """The completed procedures behind a clicked month (within the period, providers and clinic)."""
        if self.practice is None or not clicked.get("customdata"):
            return
        month = dt.date.fromisoformat(str(clicked["customdata"])[:10])
        first = max(month, self.start.value)
        last = min(month + pd.offsets.MonthEnd(0), pd.Timestamp(self.end.value)).date()
        providers, clinics = self._scope()
        rows = metrics.completed_procedures(self.practice, first, last, providers=providers, clinics=clinics)
        self.production_rows.value = _rows_table(
            f"Procedures completed {long_date(first)} – {long_date(last)}: {len(rows):,}, "
            f"fees {money(float(rows['fee'].sum()))}",
            rows,
            {"date": long_date, "fee": money},
        )

    def show_families(self, clicked: Mapping[str, Any]) -> None:
        """The families behind a clicked aging bucket."""
        if self.practice is None or clicked.get("customdata") not in charts.BUCKET_LABELS:
            return
        bucket = str(clicked["customdata"])
        rows = metrics.families_in_bucket(self.practice, self._aged, bucket)
        self.aging_rows.value = _rows_table(
            f"Families with a balance {charts.BUCKET_LABELS[bucket].lower()} old on {long_date(self.end.value)}: "
            f"{len(rows):,}, {money(float(rows['amount'].sum()))}",
            rows.drop(columns="guarantor_id"),
            {"amount": money, "balance": money},
        )

    def show_recalls(self, clicked: Mapping[str, Any]) -> None:
        """The patients behind a clicked recall status."""
        if self.practice is None or clicked.get("customdata") not in RECALL_STATUSES:
            return
        status = str(clicked["customdata"])
        rows = metrics.recall_rows(self._recalls, status)
        self.recall_rows.value = _rows_table(
            f"Recalls {status.replace('_', ' ')} on {long_date(self.end.value)}: {len(rows):,} patients",
            rows.drop(columns="patient_id"),
            {"date_previous": long_date, "date_due": long_date, "date_scheduled": long_date},
        )

    def show_claims(self, clicked: Mapping[str, Any]) -> None:
        """The outstanding claims behind a clicked age band."""
        if self.practice is None or clicked.get("customdata") not in metrics.CLAIM_AGES:
            return
        age = str(clicked["customdata"])
        rows = self._claims[self._claims["age"] == age]
        self.claims_rows.value = _rows_table(
            f"Claims outstanding {age.lower()} days on {long_date(self.end.value)}: {len(rows):,}, "
            f"{money(float(rows['expected'].sum()))} expected",
            rows[["patient", "carrier", "phone", "provider", "date_sent", "days", "billed", "expected"]],
            {"date_sent": long_date, "billed": money, "expected": money},
        )

    def show_treatment(self, clicked: Mapping[str, Any]) -> None:
        """The patients with unscheduled treatment of a clicked category."""
        category = clicked.get("customdata")
        if self.practice is None or category not in set(self._treatment["category"]):
            return
        procs = self._treatment[self._treatment["category"] == category]
        rows = metrics.treatment_by_patient(procs, self.practice, self.end.value)
        self.treatment_rows.value = _rows_table(
            f"Unscheduled {category} on {long_date(self.end.value)}: {len(rows):,} patients, "
            f"{money(float(rows['value'].sum()))}",
            rows.drop(columns="patient_id"),
            {"value": money, "oldest_planned": long_date, "remaining_benefits": money, "next_appointment": long_date},
        )

    def show_new_patients(self, clicked: Mapping[str, Any]) -> None:
        """The new patients of a clicked month."""
        if self.practice is None or not clicked.get("customdata"):
            return
        month = pd.Timestamp(str(clicked["customdata"])[:10])
        rows = self._new[self._new["first_visit"].dt.to_period("M") == month.to_period("M")]
        self.patients_rows.value = _rows_table(
            f"New patients in {month:%B %Y}: {len(rows):,}",
            rows[["patient", "first_visit", "source", "second_visit", "production"]],
            {"first_visit": long_date, "second_visit": long_date, "production": money},
        )

    def refresh(self) -> None:
        """Bring the practice's cache up to date, with a progress bar, then redraw."""
        if self.practice is None:
            return
        self.progress.value = 0
        self.refresh_button.disabled = True
        try:
            self.practice.refresh(
                progress=lambda _table, _rows: setattr(self.progress, "value", self.progress.value + 1)
            )
            self.progress.value = self.progress.max
            self.update()
            self.status.value = f"{html.escape(self.practice.name)}: refreshed {self.practice.manifest.extracted_at}"
        except WorkbenchError as exc:
            self.status.value = f"<b>Refresh failed:</b> {html.escape(str(exc))}"
        finally:
            self.refresh_button.disabled = False

    def widget(self) -> widgets.Widget:
        """The whole explorer, ready to display."""
        controls = widgets.HBox(
            [
                widgets.VBox([self.practice_picker, self.url, self.start, self.end]),
                widgets.VBox([self.providers, self.clinic, self.balances, self.active_only]),
                widgets.VBox([self.refresh_button, self.progress]),
            ]
        )
        hint = widgets.HTML("<i>Click a bar to list the rows behind it.</i>")
        return widgets.VBox(
            [
                controls,
                self.notice,
                self.status,
                self.summary,
                hint,
                self.production_chart,
                self.production_rows,
                self.aging_chart,
                self.aging_rows,
                self.recall_chart,
                self.recall_rows,
                self.claims_chart,
                self.claims_rows,
                self.treatment_chart,
                self.treatment_rows,
                self.patients_chart,
                self.patients_rows,
            ]
        )


ALL = -1  # the clinic drop-down's "All clinics" (a value, so that the drop-down never shows blank)
ROWS_SHOWN = 2000


def _practice_choices(practices: str | Path | Mapping[str, str] | None) -> tuple[dict[str, str], str]:
    """Practice name -> source URL from a mapping or a practices file (default: $WORKBENCH_PRACTICES or
    ./practices.toml when present), and a message when the file cannot be read."""
    if isinstance(practices, Mapping):
        return dict(practices), ""
    if practices is None and not default_practices_file().exists():
        return {}, ""
    try:
        return {p.name: p.source for p in load_practices(practices)}, ""
    except WorkbenchError as exc:
        return {}, f"<b>Practices file:</b> {html.escape(str(exc))}"


def _within(rows: pd.DataFrame, providers: list[int] | None, clinics: list[int] | None) -> pd.DataFrame:
    """The rows of the chosen providers and clinics (by their provider_id and clinic_id columns)."""
    keep = pd.Series(True, index=rows.index)
    if providers is not None:
        keep &= rows["provider_id"].isin(providers)
    if clinics is not None:
        keep &= rows["clinic_id"].isin(clinics)
    return rows[keep]


def _key_figures(items: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div style="padding:4px 14px 4px 0"><div style="font-size:11px;color:#555">{html.escape(label)}</div>'
        f'<div style="font-size:17px;font-weight:600">{html.escape(value)}</div></div>'
        for label, value in items
    )
    return f'<div class="wb-key-figures" style="display:flex;flex-wrap:wrap">{cells}</div>'


def _rows_table(title: str, rows: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]]) -> str:
    """A heading and a scrolling table of (at most ROWS_SHOWN of) the rows behind a clicked bar."""
    shown = rows.head(ROWS_SHOWN)
    more = f" (the first {ROWS_SHOWN:,} shown)" if len(rows) > ROWS_SHOWN else ""
    labels = {c: c.replace("_", " ").capitalize() for c in shown.columns}
    table = show_table(shown.rename(columns=labels), formats={labels[c]: f for c, f in formats.items()})
    return (
        f'<div class="wb-rows"><b>{html.escape(title)}</b>{html.escape(more)}'
        f'<div style="max-height:320px;overflow:auto;font-size:12px">{table}</div></div>'
    )
