"""The JupyterLab explorer, driven the way a consultant drives it: change a control, the figures change."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from workbench.metrics import (
    aging,
    completed_procedures,
    new_patients,
    outstanding_claims,
    production,
    recall,
    unscheduled_treatment,
)
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
    assert sum(explorer.recall_figure.data[0].y) == len(recall(demo_frames, date(2026, 10, 31)))
    for chart, figure in (
        (explorer.production_chart, explorer.production_figure),
        (explorer.aging_chart, explorer.aging_figure),
        (explorer.recall_chart, explorer.recall_figure),
    ):
        assert chart.figure == json.loads(figure.to_json())  # what the browser draws is the whole figure
    for label in ("Gross production", "Collections", "A/R on Oct 31", "Over 90 days", "Recalls overdue"):
        assert label in explorer.summary.value
    assert explorer.clinic.label == "All clinics"  # never a blank drop-down


def test_the_aging_options_narrow_the_aging_chart(explorer: Explorer, demo_frames: dict) -> None:
    from workbench.metrics import AgingScope

    everyone = sum(explorer.aging_figure.data[0].y)
    explorer.balances.value = "owing"
    explorer.active_only.value = True
    scope = AgingScope(exclude_statuses=("inactive", "archived"))
    owing = aging(demo_frames, date(2026, 10, 31), scope=scope, balances="owing")
    assert list(explorer.aging_figure.data[0].y) == pytest.approx(
        [owing[b].sum() for b in ("bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90")]
    )
    assert sum(explorer.aging_figure.data[0].y) <= everyone


def test_clicking_a_bar_lists_the_rows_behind_it(explorer: Explorer, demo_frames: dict) -> None:
    july = production(demo_frames, date(2026, 7, 1), date(2026, 7, 31)).iloc[0]
    explorer.production_chart.clicked = {"curve": 0, "index": 8, "customdata": "2026-07-01", "click": 1}
    table = BeautifulSoup(explorer.production_rows.value, "html.parser")
    assert "Procedures completed July 1, 2026 – July 31, 2026" in table.text
    assert f"fees ${july['gross_production']:,.0f}" in table.text
    assert len(table.select("tbody tr")) == len(completed_procedures(demo_frames, date(2026, 7, 1), date(2026, 7, 31)))

    aged = aging(demo_frames, date(2026, 10, 31))
    explorer.aging_chart.clicked = {"curve": 0, "index": 3, "customdata": "bal_over_90", "click": 1}
    families = BeautifulSoup(explorer.aging_rows.value, "html.parser")
    over_90 = aged[aged["bal_over_90"].abs() >= 0.005]
    assert len(families.select("tbody tr")) == len(over_90) > 0
    assert f"${over_90['bal_over_90'].sum():,.0f}" in families.text

    explorer.recall_chart.clicked = {"curve": 0, "index": 0, "customdata": "overdue", "click": 1}
    overdue = (recall(demo_frames, date(2026, 10, 31))["status"] == "overdue").sum()
    assert f"Recalls overdue on October 31, 2026: {overdue:,} patients" in explorer.recall_rows.value

    claims = outstanding_claims(demo_frames, date(2026, 10, 31))
    explorer.claims_chart.clicked = {"curve": 0, "index": 0, "customdata": "0-30", "click": 1}
    recent = claims[claims["age"] == "0-30"]
    listed = BeautifulSoup(explorer.claims_rows.value, "html.parser")
    assert len(listed.select("tbody tr")) == len(recent) > 0
    assert f"${recent['expected'].sum():,.0f} expected" in listed.text

    waiting = unscheduled_treatment(demo_frames, date(2026, 10, 31))
    category = waiting.groupby("category")["fee"].sum().idxmax()
    explorer.treatment_chart.clicked = {"curve": 0, "index": 0, "customdata": category, "click": 1}
    listed = BeautifulSoup(explorer.treatment_rows.value, "html.parser")
    mine = waiting[waiting["category"] == category]
    assert len(listed.select("tbody tr")) == mine["patient_id"].nunique() > 0

    new = new_patients(demo_frames, explorer.start.value, explorer.end.value)
    explorer.patients_chart.clicked = {"curve": 0, "index": 0, "customdata": "2026-09-01", "click": 1}
    september = new[new["first_visit"].dt.month == 9]
    assert f"New patients in September 2026: {len(september):,}" in explorer.patients_rows.value

    explorer.start.value = date(2026, 1, 1)  # a change of the controls clears lists that no longer apply
    assert explorer.production_rows.value == explorer.aging_rows.value == ""


def test_the_practice_picker_reads_the_practices_file(demo_url: str, tmp_path: Path) -> None:
    practices = tmp_path / "practices.toml"
    practices.write_text(
        f'[[practice]]\nname = "maple-grove"\nsource = "{demo_url}"\n\n'
        '[[practice]]\nname = "oak-street"\nsource = "demo:?patients=300&years=1&seed=2"\n'
    )
    explorer = Explorer(practices=practices, cache_dir=tmp_path / "cache")
    assert [label for label, _ in explorer.practice_picker.options] == ["maple-grove", "oak-street"]
    assert explorer.practice_picker.value == demo_url and explorer.practice is not None
    broken = Explorer(demo_url, practices=tmp_path / "missing.toml", cache_dir=tmp_path / "cache")
    assert "no practices file at" in broken.notice.value and broken.practice is not None


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
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    charts = [m["state"] for m in state.values() if "figure" in m["state"]]
    assert len(charts) == 6 and all(c["figure"]["data"] for c in charts)  # the figures are saved ...
    assert out.stat().st_size < 2_000_000 and "* plotly.js" not in out.read_text()  # ... plotly.js is not


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
    from workbench.report_controls import HIDDEN, ReportControls, _parameter_names, default_dates, report_cells

    namespace, path = _report_namespace("aging", demo_url, tmp_path)
    names = [n for n in _parameter_names(path) if n not in HIDDEN]
    controls = ReportControls(namespace, names, report_cells(path), dates=default_dates(namespace))
    assert set(controls.controls) == {
        "source", "as_of", "redact", "top_n", "trend_months", "proc_lifo", "by", "balances", "insured_only",
        "exclude", "exclude_bad_address", "providers", "clinics", "billing_types",
    }  # fmt: skip
    assert type(controls.controls["balances"]).__name__ == "Dropdown"
    controls.controls["exclude"].value = "inactive, archived"
    assert namespace["exclude"] == ["inactive", "archived"]
    controls.controls["exclude"].value = ""
    assert type(controls.controls["as_of"]).__name__ == "DatePicker"
    assert type(controls.controls["redact"]).__name__ == "Checkbox"
    assert controls.controls["as_of"].value == date(2026, 10, 31)  # the date that will be used, not a blank
    assert namespace["as_of"] == "2026-10-31"

    cells = report_cells(path)()
    for cell_id, code in cells:  # as Run All does: each cell into the output widget it shows
        controls.run_cell(cell_id, code)
    assert set(controls.shown) == {cell_id for cell_id, _ in cells}
    kpis = controls.shown[next(cell_id for cell_id, code in cells if code.startswith("nb.kpis"))]
    assert "October 31, 2026" in json.dumps(kpis.outputs)

    controls.controls["as_of"].value = date(2026, 6, 30)
    controls.controls["top_n"].value = 5
    assert namespace["as_of"] == "2026-06-30" and namespace["top_n"] == 5
    controls.update()
    june = metrics.aging_summary(metrics.aging(demo_frames, "2026-06-30"))
    assert controls.status.value == ""
    assert namespace["summary"]["total"] == pytest.approx(june["total"])
    # the report's cells show the new report in place: one report, for the values shown
    assert "June 30, 2026" in json.dumps(kpis.outputs) and "October 31, 2026" not in json.dumps(kpis.outputs)
    assert controls.output.outputs == ()  # nothing rendered twice under the button

    controls.controls["as_of"].value = date(2025, 12, 31)
    controls.update()
    december = metrics.aging_summary(metrics.aging(demo_frames, "2025-12-31"))
    assert namespace["summary"]["total"] == pytest.approx(december["total"]) != pytest.approx(june["total"])


def test_cells_not_yet_run_render_once_under_the_button(demo_url: str, tmp_path: Path) -> None:
    from workbench.report_controls import ReportControls, report_cells

    namespace, path = _report_namespace("recall", demo_url, tmp_path)
    controls = ReportControls(namespace, ["source", "as_of"], report_cells(path))
    controls.update()
    shown = json.dumps(controls.output.outputs)
    assert shown.count("wb-kpis") == 1 and "Outreach list" not in shown  # markdown cells are not code
    controls.update()
    assert json.dumps(controls.output.outputs).count("wb-kpis") == 1


def test_a_bad_control_value_is_one_line_in_the_panel(demo_url: str, tmp_path: Path) -> None:
    from workbench.report_controls import ReportControls, report_cells

    namespace, path = _report_namespace("recall", demo_url, tmp_path)
    controls = ReportControls(namespace, ["source", "as_of"], report_cells(path))
    controls.controls["source"].value = "nosuch:practice"
    controls.update()
    assert controls.status.value.startswith("<b>error:</b> unknown source scheme 'nosuch:'")
    assert "Traceback" not in json.dumps(controls.output.outputs)


def test_under_papermill_the_controls_cell_shows_nothing(demo_url: str, tmp_path: Path) -> None:
    from workbench.report_controls import parameter_controls

    for name in ("aging", "production", "recall"):
        namespace, path = _report_namespace(name, demo_url, tmp_path)
        assert parameter_controls(namespace, str(path), interactive=False) is None
        widget = parameter_controls(namespace, str(path), interactive=True)
        assert widget is not None and len(widget.children) == 4  # controls, button row, report panel, styles
        assert ".wb-kpis" in widget.children[3].value


# -- charts ----------------------------------------------------------------------------------------------


def test_a_chart_sends_plotly_js_when_asked_and_keeps_it_out_of_its_state() -> None:
    import plotly.graph_objects as go

    from workbench.chart_widget import Chart

    chart = Chart(go.Figure(go.Bar(x=["a"], y=[2])))
    sent: list = []
    chart.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    chart._answer(chart, {"type": "something else"}, [])
    chart._answer(chart, {"type": "plotly.js?"}, [])
    assert len(sent) == 1 and sent[0][0] == {"type": "plotly.js"}
    assert sent[0][1][0].startswith(b"/**\n* plotly.js (basic - minified) v") and len(sent[0][1][0]) > 1_000_000
    state = chart.get_state()
    assert len(json.dumps(state)) < 20_000  # the figure and a small module, not 5 MB of plotly.js
    chart.show(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    assert chart.figure["data"][0]["type"] == "scatter"  # the whole figure replaced, one state change


def test_a_partial_last_month_is_drawn_as_partial() -> None:
    import pandas as pd

    from workbench.charts import production_trend

    months = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-10-01", "2026-11-01", "2026-12-01"]),
            "gross_production": [90_000.0, 88_000.0, 3_000.0],
            "net_production": [80_000.0, 79_000.0, 2_500.0],
            "total_income": [75_000.0, 77_000.0, 1_000.0],
        }
    )
    partial = production_trend(months, through=date(2026, 12, 1))
    assert list(partial.data[0].marker.pattern.shape) == ["", "", "/"]
    assert partial.layout.annotations[0].text == "Dec 1–1: partial month"
    line, so_far = partial.data[2], partial.data[3]
    assert len(line.x) == 2 and line.mode == "lines+markers"  # the line stops at the last whole month
    assert list(so_far.y) == [1_000.0] and so_far.mode == "markers"  # the partial month: a point on its own
    whole = production_trend(months.iloc[:2], through=date(2026, 11, 30))
    assert list(whole.data[0].marker.pattern.shape) == ["", ""] and not whole.layout.annotations
    assert len(whole.data) == 3 and len(whole.data[2].x) == 2


def test_count_and_bucket_charts_never_show_negative_or_fractional_values() -> None:
    import pandas as pd

    from workbench import charts

    empty_recall = pd.DataFrame({"status": pd.Categorical([], categories=["overdue", "due", "scheduled", "not_due"])})
    counts = charts.recall_status(empty_recall)
    assert counts.layout.yaxis.tickformat == ",d" and counts.layout.yaxis.rangemode == "nonnegative"
    bands = charts.bar_by_group(pd.DataFrame({"band": ["a"], "patients": [1]}), "band", "patients", "t", money=False)
    assert bands.layout.xaxis.tickformat == ",d" and bands.layout.xaxis.rangemode == "nonnegative"
    zero = pd.DataFrame({c: [0.0] for c in ("bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90")})
    assert charts.aging_buckets(zero).layout.yaxis.rangemode == "nonnegative"


@pytest.mark.parametrize(
    ("name", "control", "value", "shown"),
    [
        ("claims", "follow_up_days", 60, "to follow up (over 60 days)"),
        ("treatment", "top_n", 5, "The 5 largest of"),
        ("patients", "start", date(2026, 7, 1), "July 1, 2026 – October 31, 2026"),
    ],
)
def test_the_new_reports_run_under_their_controls_and_follow_a_change(
    demo_url: str, tmp_path: Path, name: str, control: str, value: object, shown: str
) -> None:
    from workbench.report_controls import HIDDEN, ReportControls, _parameter_names, default_dates, report_cells

    namespace, path = _report_namespace(name, demo_url, tmp_path)
    names = [n for n in _parameter_names(path) if n not in HIDDEN]
    controls = ReportControls(namespace, names, report_cells(path), dates=default_dates(namespace))
    cells = report_cells(path)()
    for cell_id, code in cells:
        controls.run_cell(cell_id, code)
    outputs = json.dumps([o for widget in controls.shown.values() for o in widget.outputs], ensure_ascii=False)
    assert '"output_type": "error"' not in outputs and "wb-kpis" in outputs
    assert shown not in outputs
    controls.controls[control].value = value
    controls.update()
    outputs = json.dumps([o for widget in controls.shown.values() for o in widget.outputs], ensure_ascii=False)
    assert shown in outputs and '"output_type": "error"' not in outputs
