"""The notebooks in real JupyterLab, in headless Chromium: what a consultant sees after Run All and a change.

One JupyterLab server for the module over the small demo practice (tests/lab_driver.py); the Explorer runs
three times, once on a kernel whose widget messages arrive late. Everything else about the widgets is
tested fast in test_widgets.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab_driver import WAIT_MS, Lab, Notebook, click_bar, running_lab, set_date

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, demo_url: str) -> Iterator[Lab]:
    notebooks = [("explore", "python3", "explore"), ("aging", "python3", "aging"), ("explore", "slow", "explore-slow")]
    try:
        with running_lab(tmp_path_factory.mktemp("lab"), demo_url, notebooks) as lab:
            yield lab
            print("\nJupyterLab timings:", json.dumps(lab.timings, indent=1))
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _production_points(notebook: Notebook) -> int:
    return int(
        notebook.page.evaluate("() => document.querySelector('.wb-chart').querySelectorAll('.bars .point path').length")
    )


@pytest.mark.parametrize("name", ["explore", "explore", "explore-slow"])
def test_explorer_charts_draw_and_follow_a_change(browser: Any, lab: Lab, name: str, tmp_path: Path) -> None:
    notebook = Notebook(browser, lab, name)
    started = notebook.run_all()
    first = notebook.wait_for_charts(6, since=started)
    notebook.wait_until_idle()
    lab.timings.setdefault(f"{name}: Run All to first chart (s)", round(first, 2))
    charts = notebook.charts()
    assert len(charts) == 6 and all(c["traces"] >= 1 and c["marks"] >= 1 for c in charts), charts
    before = _production_points(notebook)
    assert before == 24  # 12 months of gross and net production bars

    changed = time.monotonic()
    set_date(notebook, 0, "2026-07-01")  # From: four months instead of twelve
    notebook.page.wait_for_function(
        "() => document.querySelector('.wb-chart').querySelectorAll('.bars .point path').length === 8", timeout=WAIT_MS
    )
    lab.timings.setdefault(f"{name}: change to redraw (s)", round(time.monotonic() - changed, 2))
    notebook.page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)

    # drill-down: clicking a month's bar lists the procedures behind it under the chart
    click_bar(notebook)
    rows = notebook.page.locator(".wb-rows").first
    rows.wait_for(timeout=WAIT_MS)
    assert "Procedures completed July 1, 2026 – July 31, 2026" in rows.inner_text()
    assert notebook.page.locator(".wb-rows tbody tr").count() > 5

    # the claims chart (the fourth) drills down too: its last bar is the claims over 90 days
    click_bar(notebook, index=3, chart=3)
    notebook.page.get_by_text("Claims outstanding over 90 days on").wait_for(timeout=WAIT_MS)

    assert notebook.error_outputs() == []
    assert notebook.errors == []
    notebook.close()


def test_update_report_leaves_one_report_for_the_new_values(browser: Any, lab: Lab, tmp_path: Path) -> None:
    notebook = Notebook(browser, lab, "aging")
    started = notebook.run_all()
    notebook.wait_for_charts(2, since=started)
    notebook.wait_until_idle()
    picker = notebook.page.locator(".widget-datepicker input[type=date]").first
    assert picker.input_value() == "2026-10-31"  # the resolved default, not an empty box
    kpis = notebook.page.locator(".wb-kpis")
    assert kpis.count() == 1 and "October 31, 2026" in kpis.first.inner_text()
    assert kpis.first.evaluate("e => getComputedStyle(e).display") == "flex"  # styled as in the HTML report
    assert notebook.page.locator("mjx-container").count() == 0  # "$9,043 to $16,270" is money, not mathematics

    set_date(notebook, 0, "2026-06-30")
    notebook.page.get_by_role("button", name="Update report").click()
    notebook.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.wb-kpis')).some(e => e.textContent.includes('June 30, 2026'))",
        timeout=WAIT_MS,
    )
    notebook.wait_until_idle()
    notebook.wait_for_charts(2)
    assert kpis.count() == 1 and "June 30, 2026" in kpis.first.inner_text()
    assert notebook.page.locator(".wb-definition").count() == 1
    notebook.page.screenshot(path=str(tmp_path / "aging.png"), full_page=True)
    assert notebook.error_outputs() == []
    assert notebook.errors == []
    notebook.close()
