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
