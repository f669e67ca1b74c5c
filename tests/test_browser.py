"""Every report opened in a real headless Chromium with the network off (scripts/services.sh installs it)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from workbench.reports import REPORTS


def _open_offline(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """Open a report with every non-file request refused; return the page, refused requests and errors."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    refused: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: refused.append(request.url))

    def only_files(route: Any) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_files)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.plotly-graph-div')).every(e => e.querySelector('.main-svg'))",
        timeout=15_000,
    )
    return page, refused, errors


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_renders_offline_without_errors(browser: Any, rendered: dict[str, Path], name: str) -> None:
    from PIL import Image, ImageStat

    page, refused, errors = _open_offline(browser, rendered[name])
    assert refused == [] and errors == []
    charts = page.eval_on_selector_all(
        ".plotly-graph-div",
        "els => els.map(e => ({svg: e.querySelectorAll('svg.main-svg').length, traces: e.querySelectorAll('.trace')"
        ".length, marks: e.querySelectorAll('.bars path, .scatterlayer path').length}))",
    )
    assert charts and all(c["svg"] >= 1 and c["traces"] >= 1 and c["marks"] >= 1 for c in charts), charts
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
    assert shot.height > 1500
    assert ImageStat.Stat(shot).stddev[0] > 10  # not a blank page
    page.close()


def test_tables_sort_and_search_offline(browser: Any, rendered: dict[str, Path]) -> None:
    page, _, _ = _open_offline(browser, rendered["recall"])
    table = "table.wb-table:has(caption)"  # the outreach list shown (its complete list sits collapsed below)
    column = page.eval_on_selector_all(f"{table} thead th", "ths => ths.map(t => t.textContent)").index("Days overdue")
    header = f"{table} thead th:nth-child({column + 1})"
    cells = f"{table} tbody tr td:nth-child({column + 1})"
    page.click(header)
    assert page.get_attribute(header, "aria-sort") == "ascending"
    values = [int(v.replace(",", "")) for v in page.eval_on_selector_all(cells, "tds => tds.map(t => t.textContent)")]
    assert values == sorted(values) and len(values) > 2
    first = page.eval_on_selector(f"{table} tbody tr td", "td => td.textContent")
    page.fill(".wb-search", first)
    visible = page.eval_on_selector_all(
        f"{table} tbody tr", "rows => rows.filter(r => r.style.display !== 'none').length"
    )
    assert 1 <= visible < len(values)
    page.close()


@pytest.mark.parametrize("name", ["aging", "recall"])
def test_the_complete_list_opens_sorts_and_downloads_offline(
    browser: Any, rendered: dict[str, Path], name: str
) -> None:
    page, refused, errors = _open_offline(browser, rendered[name])
    complete = page.locator("details.wb-complete")
    assert not complete.locator("table").is_visible()  # collapsed until asked for
    complete.locator("summary").click()
    rows = complete.locator("tbody tr")
    assert rows.first.is_visible() and rows.count() > 25
    assert complete.locator(".wb-search").is_visible()  # searchable like every long table
    with page.expect_download() as download:
        complete.locator("a.wb-csv").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename.endswith(".csv")
    assert len(saved.read_text().strip().splitlines()) == rows.count() + 1  # a header and every row
    assert refused == [] and errors == []
    page.close()


def test_the_attention_box_is_calm_when_nothing_is_amiss(browser: Any, rendered: dict[str, Path]) -> None:
    """The page's own stylesheet: findings in the warning colours, an all-clear box (``wb-clear``, set when a
    report finds nothing amiss) in calm ones."""
    page, _, _ = _open_offline(browser, rendered["aging"])
    background = "e => getComputedStyle(e).backgroundColor"
    warning = page.eval_on_selector(".wb-attention", background)
    page.eval_on_selector(".wb-attention", "e => e.classList.add('wb-clear')")
    calm = page.eval_on_selector(".wb-attention", background)
    assert warning == "rgb(255, 248, 247)" and calm == "rgb(244, 250, 245)"
    page.close()
