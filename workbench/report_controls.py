"""A report notebook's parameters as controls in JupyterLab, and "Update report" redrawing the report in place.

    parameter_controls(globals(), "aging.ipynb", interactive)     # the notebook's second cell

The cells below the controls cell (by their ids in the notebook file) are the report. Once the controls are
shown, each of those cells runs through ``ReportControls.run_cell``: its outputs are captured in the kernel
and put, as state, into one output widget shown as the cell's output. "Update report" runs the report's
cells again for the values in the controls and replaces each cell's outputs in place: the notebook always
shows one report, for the values shown. Under papermill (``interactive=False``) nothing is installed and
the notebook renders static.
"""

from __future__ import annotations

import ast
import datetime as dt
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from workbench.errors import WorkbenchError
from workbench.parameters import CHOICES, parameter_defaults

__all__ = ["ReportControls", "parameter_controls", "run_code"]

DATES = {"as_of", "start", "end"}
HIDDEN = {"cache_dir", "interactive", "targets"}  # targets come from the practices file or --set
MARKER = "parameter_controls("


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
    if isinstance(value, list):  # names, typed comma-separated
        return widgets.Text(value=", ".join(map(str, value)), description=label, style=style, continuous_update=False)
    return widgets.Text(
        value="" if value is None else str(value), description=label, style=style, continuous_update=False
    )


def _as_parameter(name: str, value: Any, default: Any = None) -> Any:
    """A control's value as the notebook's parameter (dates as YYYY-MM-DD, blank dates as None, lists of
    names from comma-separated text)."""
    if name in DATES:
        return value.isoformat() if value else None
    if isinstance(default, list):
        return [part.strip() for part in str(value).split(",") if part.strip()]
    return value


def default_dates(namespace: dict[str, Any]) -> dict[str, dt.date]:
    """The dates a report will use where its date parameters are None (the practice's last day with data,
    January 1 of the end's year), so that the pickers show them; {} when the practice cannot be opened."""
    from workbench.periods import resolve_as_of, resolve_period
    from workbench.practice import connect

    try:
        last = connect(str(namespace["source"]), cache_dir=namespace.get("cache_dir")).data_as_of
        out: dict[str, dt.date] = {}
        if "as_of" in namespace:
            out["as_of"] = resolve_as_of(namespace["as_of"], last)
        if "start" in namespace or "end" in namespace:
            period = resolve_period(namespace.get("start"), namespace.get("end"), last)
            out.update(start=period.start, end=period.end)
    except WorkbenchError:
        return {}
    return out


def _outputs(captured: Any) -> list[dict[str, Any]]:
    """Captured stdout, stderr and displays as notebook outputs (what an output widget holds)."""
    out: list[dict[str, Any]] = []
    for name in ("stdout", "stderr"):
        text = getattr(captured, name)
        if text:
            out.append({"output_type": "stream", "name": name, "text": text})
    out += [
        {"output_type": "display_data", "data": rich.data, "metadata": rich.metadata or {}} for rich in captured.outputs
    ]
    return out


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
    """A report notebook's parameters as controls over the report's cells.

    ``cells()`` gives the report's cells as (cell id, code), in notebook order. Each control's change is
    written into the notebook's namespace; ``update()`` runs every report cell again for the values shown,
    replacing its outputs where the cell shows them (cells never run yet render in the panel under the button).
    """

    def __init__(
        self,
        namespace: dict[str, Any],
        names: Sequence[str],
        cells: Callable[[], list[tuple[str, str]]],
        dates: dict[str, dt.date] | None = None,
    ) -> None:
        self.namespace = namespace
        self._cells = cells
        dates = dates or {}
        self.controls = {name: _control(name, dates.get(name, namespace[name])) for name in names}
        self._defaults = {name: namespace[name] for name in names}
        for name in names:
            if name in dates and namespace[name] is None:
                namespace[name] = _as_parameter(name, dates[name])
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._set(name, change["new"]), names="value")
        self.update_button = widgets.Button(description="Update report", icon="play", button_style="primary")
        self.update_button.on_click(lambda _: self.update())
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.shown: dict[str, widgets.Output] = {}  # cell id -> the output widget the cell shows

    def _set(self, name: str, value: Any) -> None:
        self.namespace[name] = _as_parameter(name, value, self._defaults[name])

    def report_cell_ids(self) -> set[str]:
        return {cell_id for cell_id, _ in self._cells()}

    def run_cell(self, cell_id: str, code: str) -> None:
        """Run one report cell into its output widget (made on first use) and show the widget as the
        cell's output."""
        from IPython.display import display

        out = self.shown.setdefault(cell_id, widgets.Output())
        self._run(code, out)
        display(out)

    def _run(self, code: str, out: widgets.Output) -> bool:
        """Run ``code`` with its outputs captured into ``out``; False (and one line in the status) on error."""
        from IPython.utils.capture import capture_output

        problem: dict[str, Any] | None = None
        with capture_output() as captured:
            try:
                run_code(code, self.namespace)
            except WorkbenchError as exc:
                self.status.value = f"<b>error:</b> {exc}"
                problem = {"output_type": "stream", "name": "stderr", "text": f"error: {exc}\n"}
            except Exception as exc:
                self.status.value = f"<b>error:</b> {type(exc).__name__}: {exc}"
                problem = {
                    "output_type": "error",
                    "ename": type(exc).__name__,
                    "evalue": str(exc),
                    "traceback": traceback.format_exception(exc),
                }
        out.outputs = tuple(_outputs(captured) + ([problem] if problem else []))
        return problem is None

    def update(self) -> None:
        """Run the report's cells for the current values, each into the place it shows its outputs."""
        self.status.value = "<i>Running…</i>"
        self.output.outputs = ()
        fresh: list[dict[str, Any]] = []
        for cell_id, code in self._cells():
            out = self.shown.get(cell_id)
            if out is None:  # never run in this session: render in the panel under the controls
                out = widgets.Output()
                ok = self._run(code, out)
                fresh += list(out.outputs)
            else:
                ok = self._run(code, out)
            if not ok:
                break
        else:
            self.status.value = ""
        self.output.outputs = tuple(fresh)

    def widget(self) -> widgets.Widget:
        grid = widgets.GridBox(
            list(self.controls.values()), layout=widgets.Layout(grid_template_columns="repeat(2, minmax(260px, 1fr))")
        )
        return widgets.VBox([grid, widgets.HBox([self.update_button, self.status]), self.output, _report_styles()])


def _report_styles() -> widgets.HTML:
    """The report's own styles (key figure cards, what needs attention, lists), so that the report looks in
    JupyterLab as it will in the HTML the dentist gets (the template carries them there)."""
    from workbench.config import DEFAULT_BRAND_COLOR
    from workbench.reports import resource_dir

    css = (resource_dir("templates") / "workbench" / "workbench.css").read_text(encoding="utf-8")
    return widgets.HTML(f"<style>:root {{ --wb-brand: {DEFAULT_BRAND_COLOR}; }}\n{css}</style>")


def report_cells(notebook: Path, marker: str = MARKER) -> Callable[[], list[tuple[str, str]]]:
    """The (id, code) of the code cells after the one containing ``marker``, read from the file when asked."""

    def cells() -> list[tuple[str, str]]:
        code = _code_cells(notebook)
        index = next(i for i, cell in enumerate(code) if marker in cell.source)
        return [(str(cell.get("id", i)), cell.source) for i, cell in enumerate(code) if i > index]

    return cells


class _ReportCellRunner(ast.NodeTransformer):
    """Routes the report's cells through ``ReportControls.run_cell`` (an IPython AST transformer: the cell
    still runs when the consultant runs it, its outputs land in the output widget that Update replaces)."""

    NAME = "_workbench_report_controls"

    def __init__(self, controls: ReportControls) -> None:
        self.controls = controls
        self.cell_id: str | None = None

    def pre_run_cell(self, info: Any) -> None:
        cell_id = getattr(info, "cell_id", None)
        self.cell_id = cell_id if cell_id in self.controls.report_cell_ids() else None

    def visit(self, node: ast.AST) -> ast.AST:
        if self.cell_id is None or not isinstance(node, ast.Module):
            return node
        return ast.parse(f"{self.NAME}.run_cell({self.cell_id!r}, {ast.unparse(node)!r})")


def _install(controls: ReportControls, namespace: dict[str, Any]) -> None:
    """Put ``controls`` in charge of the report cells of this IPython session (replacing earlier ones)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    for old in [t for t in shell.ast_transformers if isinstance(t, _ReportCellRunner)]:
        shell.ast_transformers.remove(old)
        shell.events.unregister("pre_run_cell", old.pre_run_cell)
    runner = _ReportCellRunner(controls)
    shell.ast_transformers.append(runner)
    shell.events.register("pre_run_cell", runner.pre_run_cell)
    namespace[_ReportCellRunner.NAME] = controls


def parameter_controls(namespace: dict[str, Any], notebook: str, interactive: bool = True) -> widgets.Widget | None:
    """In JupyterLab, the report's parameters as controls (see ``ReportControls``); under papermill
    (``interactive=False``) nothing: the report renders static."""
    if not interactive:
        return None
    path = Path(notebook)
    names = [n for n in _parameter_names(path) if n not in HIDDEN and n in namespace]
    controls = ReportControls(namespace, names, report_cells(path), dates=default_dates(namespace))
    _install(controls, namespace)
    return controls.widget()


def _code_cells(notebook: Path) -> list[Any]:
    import nbformat

    return [cell for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]


def _parameter_names(notebook: Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns, in order."""
    return list(parameter_defaults(notebook))
