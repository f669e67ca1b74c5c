"""The JupyterLab explorer, driven the way a consultant drives it: change a control, the figures change."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import nbformat
import pytest

from workbench.metrics import production
from workbench.reports import resource_dir
from workbench.widgets import Explorer


@pytest.fixture()
def explorer(demo_url: str, tmp_path: Path) -> Explorer:
    return Explorer(demo_url, cache_dir=tmp_path)


def test_opens_on_the_last_twelve_months_with_figures_drawn(explorer: Explorer, demo_frames: dict) -> None:
    assert explorer.end.value == date(2026, 10, 31) and explorer.start.value == date(2025, 11, 1)
    gross = explorer.production_figure.data[0]
    assert len(gross.x) == 12
    expected = production(demo_frames, explorer.start.value, explorer.end.value, by="month")
    assert list(gross.y) == expected["gross_production"].tolist()
    assert sum(explorer.aging_figure.data[0].y) > 0
    assert "Gross $" in explorer.summary.value


def test_changing_the_period_and_providers_updates_the_figures(explorer: Explorer, demo_frames: dict) -> None:
    explorer.start.value = date(2026, 7, 1)
    assert len(explorer.production_figure.data[0].x) == 4
    before = list(explorer.production_figure.data[0].y)
    doctor = explorer.providers.options[0][1]
    explorer.providers.value = (doctor,)
    after = list(explorer.production_figure.data[0].y)
    assert after != before and all(a <= b for a, b in zip(after, before, strict=True))
    only = production(demo_frames, date(2026, 7, 1), date(2026, 10, 31), by="month", providers=[doctor])
    assert after == only["gross_production"].tolist()


def test_a_start_after_the_end_is_said_not_drawn(explorer: Explorer) -> None:
    drawn = list(explorer.production_figure.data[0].y)
    explorer.start.value = date(2027, 1, 1)
    assert "start date is after the end date" in explorer.status.value
    assert list(explorer.production_figure.data[0].y) == drawn


def test_refresh_button_fills_the_progress_bar(explorer: Explorer) -> None:
    before = explorer.practice.manifest.extracted_at
    explorer.refresh_button.click()
    assert explorer.progress.value == explorer.progress.max
    assert explorer.practice.store.manifest().extracted_at >= before
    assert "refreshed" in explorer.status.value and not explorer.refresh_button.disabled


def test_a_bad_practice_url_is_a_message_not_a_traceback(explorer: Explorer) -> None:
    explorer.url.value = "nonsense://nowhere"
    assert "Cannot open nonsense://nowhere" in explorer.status.value
    assert explorer.practice is not None  # the previous practice stays open


def test_explore_notebook_uses_the_explorer() -> None:
    book = nbformat.read(resource_dir("notebooks") / "explore.ipynb", as_version=4)
    code = "\n".join(c.source for c in book.cells if c.cell_type == "code")
    assert "Explorer(" in code and ".widget()" in code
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code")


def test_explore_notebook_runs_headless(demo_url: str, tmp_path: Path) -> None:
    import papermill

    out = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(resource_dir("notebooks") / "explore.ipynb"),
        str(out),
        parameters={"source": demo_url},
        progress_bar=False,
        cwd=str(tmp_path),
    )
    executed = nbformat.read(out, as_version=4)
    mimetypes = {m for c in executed.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimetypes  # the explorer displayed as a widget


# -- report notebooks: parameters as controls ------------------------------------------------------------


def _report_namespace(name: str, demo_url: str, cache: Path) -> tuple[dict, Path]:
    """A report notebook's namespace after its parameters cell, pointed at the small demo practice."""
    path = resource_dir("notebooks") / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    namespace: dict = {}
    exec(notebook.cells[0].source, namespace)
    namespace.update(source=demo_url, cache_dir=str(cache))
    return namespace, path


def test_report_parameters_become_controls_that_rerun_the_report(
    demo_url: str, demo_frames: dict, tmp_path: Path
) -> None:
    from workbench import metrics
    from workbench.widgets import ReportControls, _cells_after, _parameter_names

    namespace, path = _report_namespace("aging", demo_url, tmp_path)
    names = [n for n in _parameter_names(path) if n not in {"cache_dir", "interactive"}]
    controls = ReportControls(namespace, names, _cells_after(path, "parameter_controls("))
    assert set(controls.controls) == {"source", "as_of", "redact", "top_n", "trend_months", "proc_lifo"}
    assert type(controls.controls["as_of"]).__name__ == "DatePicker"
    assert type(controls.controls["redact"]).__name__ == "Checkbox"

    controls.controls["as_of"].value = date(2026, 6, 30)
    controls.controls["top_n"].value = 5
    assert namespace["as_of"] == "2026-06-30" and namespace["top_n"] == 5
    controls.update()
    june = metrics.aging_summary(metrics.aging(demo_frames, "2026-06-30"))
    assert controls.status.value == ""
    assert namespace["summary"]["total"] == pytest.approx(june["total"])

    controls.controls["as_of"].value = date(2025, 12, 31)
    controls.update()
    december = metrics.aging_summary(metrics.aging(demo_frames, "2025-12-31"))
    assert namespace["summary"]["total"] == pytest.approx(december["total"]) != pytest.approx(june["total"])


def test_a_bad_control_value_is_one_line_in_the_panel(demo_url: str, tmp_path: Path) -> None:
    from workbench.widgets import ReportControls, _cells_after

    namespace, path = _report_namespace("recall", demo_url, tmp_path)
    controls = ReportControls(namespace, ["source", "as_of"], _cells_after(path, "parameter_controls("))
    controls.controls["source"].value = "nosuch:practice"
    controls.update()
    assert controls.status.value.startswith("<b>error:</b> unknown source scheme 'nosuch:'")


def test_under_papermill_the_controls_cell_shows_nothing(demo_url: str, tmp_path: Path) -> None:
    from workbench.widgets import parameter_controls

    for name in ("aging", "production", "recall"):
        namespace, path = _report_namespace(name, demo_url, tmp_path)
        assert parameter_controls(namespace, str(path), interactive=False) is None
        widget = parameter_controls(namespace, str(path), interactive=True)
        assert widget is not None and len(widget.children) == 3  # controls, button row, report panel
