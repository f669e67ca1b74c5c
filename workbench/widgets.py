"""Exploring a practice in JupyterLab: controls (ipywidgets) that update plotly FigureWidgets in place.

    from workbench.widgets import Explorer
    Explorer("demo:").widget()          # in a notebook cell

The logic lives here, not in the notebook, so tests drive it: set a control's value, the figures change.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from workbench import charts, metrics
from workbench.errors import WorkbenchError
from workbench.formatting import money, pct
from workbench.periods import trailing_months
from workbench.practice import Practice, connect

__all__ = ["Explorer", "ReportControls", "parameter_controls"]


class Explorer:
    """Practice, period, providers and clinic controls over live production and aging figures."""

    def __init__(
        self,
        source: str = "demo:",
        practices: Mapping[str, str] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        choices = dict(practices or {source: source})
        self.practice_picker = widgets.Dropdown(
            options=list(choices.items()), value=choices.get(source, source), description="Practice"
        )
        self.url = widgets.Text(value=source, description="or URL", continuous_update=False)
        self.start = widgets.DatePicker(description="From")
        self.end = widgets.DatePicker(description="To")
        self.providers = widgets.SelectMultiple(description="Providers", rows=5)
        self.clinic = widgets.Dropdown(description="Clinic")
        self.refresh_button = widgets.Button(description="Refresh data", icon="refresh")
        self.progress = widgets.IntProgress(value=0, min=0, max=9, description="Refresh")
        self.status = widgets.HTML()
        self.summary = widgets.HTML()
        self.production_figure = go.FigureWidget(charts.production_trend(_empty_months()))
        self.aging_figure = go.FigureWidget(charts.aging_buckets(_empty_aging()))
        self.practice: Practice | None = None
        self._quiet = False
        self.open(source)
        for control in (self.start, self.end, self.providers, self.clinic):
            control.observe(lambda _change: self.update(), names="value")
        self.practice_picker.observe(lambda change: self.open(change["new"]), names="value")
        self.url.observe(lambda change: self.open(change["new"]), names="value")
        self.refresh_button.on_click(lambda _button: self.refresh())

    def open(self, source: str) -> None:
        """Switch to the practice at ``source`` and reset the controls to its data."""
        try:
            practice = connect(source, cache_dir=self.cache_dir)
            providers = practice.frame("providers")
            clinics = practice.frame("clinics")
        except WorkbenchError as exc:
            self.status.value = f"<b>Cannot open {source}:</b> {exc}"
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
            clinic_options: list[tuple[str, int | None]] = [("All clinics", None)]
            clinic_options += [(str(n), int(c)) for c, n in zip(clinics["clinic_id"], clinics["name"], strict=True)]
            self.clinic.options = clinic_options
            self.clinic.value = None
        finally:
            self._quiet = False
        self.status.value = f"{practice.name}: data to {practice.data_as_of:%B %d, %Y}"
        self.update()

    def update(self) -> None:
        """Recompute the figures for the current controls and change them in place."""
        if self._quiet or self.practice is None or not self.start.value or not self.end.value:
            return
        if self.start.value > self.end.value:
            self.status.value = "<b>The start date is after the end date.</b>"
            return
        chosen = list(self.providers.value) or None
        clinics = [self.clinic.value] if self.clinic.value is not None else None
        options: dict[str, Any] = {"providers": chosen, "clinics": clinics}
        monthly = metrics.production(self.practice, self.start.value, self.end.value, by="month", **options)
        total = metrics.production(self.practice, self.start.value, self.end.value, **options).iloc[0]
        scope = metrics.AgingScope(providers=chosen, clinics=clinics)
        aged = metrics.aging(self.practice, self.end.value, scope=scope)
        with self.production_figure.batch_update():
            for trace, column in zip(
                self.production_figure.data, ("gross_production", "net_production", "total_income"), strict=True
            ):
                trace.x = monthly["month"]
                trace.y = monthly[column]
        buckets = ("bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90")
        with self.aging_figure.batch_update():
            totals = [float(aged[b].sum()) for b in buckets]
            self.aging_figure.data[0].y = totals
            self.aging_figure.data[0].text = [f"${v:,.0f}" for v in totals]
        self.summary.value = (
            f"Gross {money(total['gross_production'])} · Net {money(total['net_production'])} · "
            f"Collections {money(total['total_income'])} ({pct(total['collection_pct'])}) · "
            f"A/R {money(float(aged['balance'].sum()))}"
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
            self.status.value = f"{self.practice.name}: refreshed {self.practice.manifest.extracted_at}"
        except WorkbenchError as exc:
            self.status.value = f"<b>Refresh failed:</b> {exc}"
        finally:
            self.refresh_button.disabled = False
        self.update()

    def widget(self) -> widgets.Widget:
        """The whole explorer, ready to display."""
        controls = widgets.HBox(
            [
                widgets.VBox([self.practice_picker, self.url, self.start, self.end]),
                widgets.VBox([self.providers, self.clinic]),
                widgets.VBox([self.refresh_button, self.progress]),
            ]
        )
        return widgets.VBox([controls, self.status, self.summary, self.production_figure, self.aging_figure])


def _empty_months() -> pd.DataFrame:
    return pd.DataFrame({"month": pd.to_datetime([]), "gross_production": [], "net_production": [], "total_income": []})


def _empty_aging() -> pd.DataFrame:
    return pd.DataFrame({c: [0.0] for c in ("bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90")})


# -- report notebooks: parameters as controls ---------------------------------------------------------------

CHOICES = {
    "write_offs": ["payment_date", "procedure_date"],
    "attribution": ["treating", "primary"],
}
DATES = {"as_of", "start", "end"}
HIDDEN = {"cache_dir", "interactive", "collection_adjustments"}


def _control(name: str, value: Any) -> widgets.ValueWidget:
    """A control that fits the parameter: a date picker, a choice, a tick box, a number or text."""
    label = name.replace("_", " ").capitalize()
    style = {"description_width": "initial"}
    if name in DATES:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return widgets.DatePicker(value=day, description=label, style=style)
    if name in CHOICES:
        return widgets.Dropdown(options=CHOICES[name], value=value, description=label, style=style)
    if isinstance(value, bool):
        return widgets.Checkbox(value=value, description=label, indent=False)
    if isinstance(value, int):
        return widgets.BoundedIntText(value=value, min=1, max=1000, description=label, style=style)
    return widgets.Text(
        value="" if value is None else str(value), description=label, style=style, continuous_update=False
    )


def _as_parameter(name: str, value: Any) -> Any:
    """A control's value as the notebook's parameter (dates as YYYY-MM-DD, blank dates as None)."""
    if name in DATES:
        return value.isoformat() if value else None
    return value


def run_code(code: str, namespace: dict[str, Any]) -> None:
    """Run a cell's code in ``namespace`` and display its last expression, as a notebook would."""
    from IPython.display import display

    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    assert last is None or isinstance(last, ast.Expr)
    exec(compile(tree, "<report cell>", "exec"), namespace)
    if last is not None:
        result = eval(compile(ast.Expression(last.value), "<report cell>", "eval"), namespace)
        if result is not None:
            display(result)


class ReportControls:
    """A report notebook's parameters as controls: each change is written into the notebook's namespace,
    and "Update report" runs the report's cells again, for the values shown, into the panel below."""

    def __init__(self, namespace: dict[str, Any], names: Sequence[str], cells: Callable[[], list[str]]) -> None:
        self.namespace = namespace
        self._cells = cells
        self.controls = {name: _control(name, namespace[name]) for name in names}
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._set(name, change["new"]), names="value")
        self.update_button = widgets.Button(description="Update report", icon="play", button_style="primary")
        self.update_button.on_click(lambda _: self.update())
        self.status = widgets.HTML()
        self.output = widgets.Output()

    def _set(self, name: str, value: Any) -> None:
        self.namespace[name] = _as_parameter(name, value)

    def update(self) -> None:
        """Run the report's cells for the current values; an error shows as one line, not a traceback."""
        self.output.clear_output()
        self.status.value = "<i>Running…</i>"
        with self.output:
            try:
                for code in self._cells():
                    run_code(code, self.namespace)
            except WorkbenchError as exc:
                self.status.value = f"<b>error:</b> {exc}"
                return
        self.status.value = ""

    def widget(self) -> widgets.Widget:
        grid = widgets.GridBox(
            list(self.controls.values()), layout=widgets.Layout(grid_template_columns="repeat(2, minmax(260px, 1fr))")
        )
        return widgets.VBox([grid, widgets.HBox([self.update_button, self.status]), self.output])


def _cells_after(notebook: Path, marker: str) -> Callable[[], list[str]]:
    """The code of the cells after the one containing ``marker``, read from the notebook file when asked."""

    def cells() -> list[str]:
        codes = [cell.source for cell in _code_cells(notebook)]
        index = next(i for i, code in enumerate(codes) if marker in code)
        return codes[index + 1 :]

    return cells


def parameter_controls(namespace: dict[str, Any], notebook: str, interactive: bool = True) -> widgets.Widget | None:
    """In JupyterLab, the report's parameters as controls (see ``ReportControls``); under papermill
    (``interactive=False``) nothing: the report renders static."""
    if not interactive:
        return None
    names = [n for n in _parameter_names(Path(notebook)) if n not in HIDDEN and n in namespace]
    return ReportControls(namespace, names, _cells_after(Path(notebook), "parameter_controls(")).widget()


def _code_cells(notebook: Path) -> list[Any]:
    import nbformat

    return [cell for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]


def _parameter_names(notebook: Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns, in order."""
    cell = next(c for c in _code_cells(notebook) if "parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]
