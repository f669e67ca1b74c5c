"""Each report notebook executed through papermill and exported to self-contained HTML."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from workbench.errors import ReportError, UsageError
from workbench.reports import REPORTS, render_report, resource_dir

from .conftest import DEMO_END


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_shows_no_code_and_carries_its_charts(rendered: dict[str, Path], name: str) -> None:
    soup = _soup(rendered[name])
    assert not soup.select(".jp-InputArea-editor, .jp-InputPrompt, .jp-OutputPrompt, .jp-CodeMirrorEditor, .highlight")
    assert "import workbench" not in soup.get_text() and "metrics." not in soup.get_text()
    charts = soup.select("div.plotly-graph-div")
    assert len(charts) >= 1
    scripts = "".join(s.get_text() for s in soup.find_all("script"))
    for chart in charts:
        assert f'Plotly.newPlot(\n                        "{chart["id"]}"' in scripts or chart["id"] in scripts
    assert soup.select(".wb-kpi") and soup.select(".wb-definition")
    assert "How these numbers are computed" in soup.get_text()


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_loads_nothing_from_the_network(rendered: dict[str, Path], name: str) -> None:
    soup = _soup(rendered[name])
    assert not [s for s in soup.find_all("script") if s.get("src")]
    assert not soup.find_all("link", href=True)
    assert not [i for i in soup.find_all(["img", "iframe", "video", "audio"]) if re.match(r"https?:", i.get("src", ""))]
    styles = "".join(s.get_text() for s in soup.find_all("style"))
    assert not re.search(r"@import|url\(\s*['\"]?https?:", styles)
    assert "@font-face" not in styles
    bundles = [s for s in soup.find_all("script") if "* plotly.js" in s.get_text()[:2000]]
    assert len(bundles) == 1  # plotly.js embedded once, not once per figure
    assert rendered[name].stat().st_size < 1_500_000  # a report that mails: plotly's basic bundle, 1.2 MB
    assert "cdn.plot.ly" not in str(soup.find_all("script", src=True))


def test_the_plotly_bundle_draws_every_chart_and_matches_plotly_py(demo_frames: dict) -> None:
    """Every trace type our charts draw is in the basic bundle, and it is the plotly.js plotly.py ships."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from workbench import charts, metrics
    from workbench.plotlyjs import TRACE_TYPES, plotly_js

    version = re.search(r"plotly\.js \(basic - minified\) v([\d.]+)", plotly_js()[:200])
    bundled = re.search(r"plotly\.js v([\d.]+)", pio.to_html(go.Figure(), include_plotlyjs=True)[:3000])
    assert version and bundled and version.group(1) == bundled.group(1)
    end = "2026-10-31"
    aged = metrics.aging(demo_frames, end)
    figures = [
        charts.production_trend(metrics.production(demo_frames, "2025-11-01", end, by="month")),
        charts.aging_buckets(aged),
        charts.ar_trend(metrics.aging_trend(metrics.aging_history(demo_frames, ["2026-09-30", end]))),
        charts.bar_by_group(metrics.production(demo_frames, "2026-01-01", end, by="provider"), "provider",
                            "net_production", "By provider"),
        charts.recall_status(metrics.recall(demo_frames, end)),
    ]  # fmt: skip
    used = {trace.type for figure in figures for trace in figure.data}
    assert used and used <= TRACE_TYPES, used


def test_reports_carry_practice_period_and_provenance(rendered: dict[str, Path], demo_url: str) -> None:
    aging = _soup(rendered["aging"])
    assert aging.select_one(".wb-title").get_text() == "Accounts Receivable Aging"
    assert aging.select_one(".wb-period").get_text() == "As of October 31, 2026"
    footer = aging.select_one(".wb-footer").get_text(" ", strip=True)
    assert "Open Dental (SQLite file)" in footer and "data extracted" in footer and "figures as of" in footer
    assert aging.select_one(".wb-practice").get_text().strip()
    definition = aging.select_one(".wb-definition").get_text(" ", strip=True)
    assert definition.endswith(
        "Options used : mode: AgingProcLifo off (credits to the oldest balance first); aged by: family."
    )
    production = _soup(rendered["production"])
    assert production.select_one(".wb-period").get_text() == "January 1, 2026 – October 31, 2026"
    size_mb = max(p.stat().st_size for p in rendered.values()) / 1e6
    assert size_mb < 6


def test_production_report_names_providers(rendered: dict[str, Path], demo_frames: dict) -> None:
    text = _soup(rendered["production"]).get_text(" ")
    for abbr, name in zip(demo_frames["providers"]["abbr"], demo_frames["providers"]["name"], strict=True):
        if f"({abbr})" in text:
            assert f"{name} ({abbr})" in text
    assert sum(name in text for name in demo_frames["providers"]["name"]) >= 2


def test_aging_report_shows_the_metric_figures(rendered: dict[str, Path], demo_frames: dict) -> None:
    from workbench.formatting import money
    from workbench.metrics import aging, aging_summary

    summary = aging_summary(aging(demo_frames, DEMO_END))
    values = [v.get_text() for v in _soup(rendered["aging"]).select(".wb-kpi-value")]
    assert values[0] == money(summary["total"])


def test_notebooks_have_parameters_and_no_outputs() -> None:
    for spec in REPORTS.values():
        book = nbformat.read(resource_dir("notebooks") / spec.notebook, as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and "source =" in tagged[0].source
        assert all(
            not c.get("outputs") and c.get("execution_count") is None for c in book.cells if c.cell_type == "code"
        )


def test_unknown_report_and_bad_dates(demo_url: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown report 'payroll'"):
        render_report("payroll", demo_url, tmp_path)
    with pytest.raises(UsageError, match="after end date"):
        render_report("production", demo_url, tmp_path, start="2026-10-01", end="2026-01-01", cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.html"))


def test_a_failing_notebook_is_one_clear_error(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "notebooks"
    broken.mkdir()
    book = nbformat.read(resource_dir("notebooks") / "aging.ipynb", as_version=4)
    book.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('the printer is on fire')"))
    nbformat.write(book, broken / "aging.ipynb")
    real = resource_dir
    monkeypatch.setattr("workbench.reports.resource_dir", lambda kind: broken if kind == "notebooks" else real(kind))
    with pytest.raises(ReportError, match=r"aging report failed in cell .*RuntimeError: the printer is on fire"):
        render_report("aging", demo_url, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "out" / "aging.html").exists()


def test_redacted_reports_show_no_patient_names(
    demo_url: str, demo_frames: dict, rendered: dict[str, Path], tmp_path: Path
) -> None:
    last_names = set(demo_frames["patients"]["last_name"].dropna())
    phones = set(demo_frames["patients"]["phone"].dropna())
    plain = " ".join(p.read_text(encoding="utf-8") for p in rendered.values())
    assert any(name in plain for name in last_names)  # the check below could fail
    for name in REPORTS:
        page = render_report(name, demo_url, tmp_path, cache_dir=tmp_path / "cache", redact=True)
        text = _soup(page).get_text(" ")
        for provider in demo_frames["providers"]["name"]:  # staff, not patients: shown by name
            text = text.replace(provider, "")
        assert not [n for n in last_names if n in text], name
        assert not [p for p in phones if p in text], name
        if name in ("aging", "recall"):
            assert "Patient " in text  # pseudonyms stand in for the names


def test_a_kernel_that_dies_once_is_retried_and_twice_is_one_error(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    real = papermill.execute_notebook
    calls: list[int] = []

    def dies_first(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", dies_first)
    assert render_report("recall", demo_url, tmp_path, cache_dir=tmp_path / "cache").exists()
    assert len(calls) == 2

    def always_dies(*args: object, **kwargs: object) -> object:
        raise RuntimeError("Kernel died")

    monkeypatch.setattr(papermill, "execute_notebook", always_dies)
    with pytest.raises(ReportError, match="recall report could not run: RuntimeError: Kernel died"):
        render_report("recall", demo_url, tmp_path / "again", cache_dir=tmp_path / "cache")


def test_practice_branding_logo_and_colour(demo_url: str, tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle r="20" cx="20" cy="20"/></svg>'
    )
    page = render_report(
        "recall", demo_url, tmp_path / "out", cache_dir=tmp_path / "cache", brand_color="#7a1f5c", logo=logo
    )
    soup = _soup(page)
    assert soup.select_one("img.wb-logo")["src"].startswith("data:image/svg+xml;base64,")
    assert "--wb-brand: #7a1f5c" in " ".join(s.get_text() for s in soup.find_all("style"))
    with pytest.raises(UsageError, match="brand colour must look like"):
        render_report("recall", demo_url, tmp_path / "out", brand_color="purple")
    with pytest.raises(UsageError, match="logo must be a PNG, JPEG or SVG"):
        render_report("recall", demo_url, tmp_path / "out", logo=tmp_path / "logo.gif")


@pytest.mark.parametrize(("name", "noun"), [("aging", "family balances"), ("recall", "overdue patients")])
def test_shortened_lists_say_so_and_carry_the_complete_list(
    rendered: dict[str, Path], demo_frames: dict, name: str, noun: str
) -> None:
    import base64
    import io

    from workbench import metrics

    soup = _soup(rendered[name])
    if name == "aging":
        expected = len(metrics.aging(demo_frames, "2026-10-31"))
    else:
        expected = len(metrics.outreach_list(metrics.recall(demo_frames, "2026-10-31"), n=None))
    captions = [c.get_text() for c in soup.select("table.wb-table caption")]
    assert any(c.endswith(f" of {expected:,} {noun.split()[-1] if name == 'recall' else 'family balances'}")
               for c in captions), captions  # fmt: skip
    complete = soup.select_one("details.wb-complete")
    assert complete is not None and complete.summary.get_text() == f"All {expected:,} {noun}"
    assert len(complete.select("tbody tr")) == expected
    link = complete.select_one("a.wb-csv")
    assert link["download"].endswith(".csv") and link["href"].startswith("data:text/csv;base64,")
    csv = pd.read_csv(io.StringIO(base64.b64decode(link["href"].split(",", 1)[1]).decode()))
    assert len(csv) == expected
    if name == "aging":
        assert {"0-30", "31-60", "61-90", "Over 90", "Balance"} <= set(csv.columns)
        assert csv["Balance"].sum() == pytest.approx(metrics.aging(demo_frames, "2026-10-31")["balance"].sum())


@pytest.mark.parametrize("name", list(REPORTS))
def test_reports_open_with_what_needs_attention_targets_and_comparisons(rendered: dict[str, Path], name: str) -> None:
    soup = _soup(rendered[name])
    attention = soup.select_one("section.wb-attention")
    assert attention is not None and attention.find_previous("div", class_="wb-kpis") is None  # at the top
    assert 1 <= len(attention.select("li")) <= 5
    targets = [t.get_text() for t in soup.select(".wb-kpi-target")]
    assert targets and all(
        re.fullmatch(r"target at (most|least) [\d.]+( %| months| days)?: (met|not met)", t) for t in targets
    )
    changes = [c.get_text() for c in soup.select(".wb-kpi-change")]
    assert changes and all(re.search(r"(▲|▼) .* vs |same as ", c) for c in changes)


def test_production_tables_show_deductions_as_deductions(rendered: dict[str, Path], demo_frames: dict) -> None:
    """Gross + Adjustments + Write-offs = Net on every row, as printed."""
    soup = _soup(rendered["production"])
    table = next(t for t in soup.select("table.wb-table") if t.find("th", string="Write-offs"))
    heads = [th.get_text() for th in table.select("thead th")]

    def amount(text: str) -> float:
        return float(text.replace("$", "").replace(",", "").replace("−", "-") or 0)

    rows = [[td.get_text() for td in tr.select("td")] for tr in table.select("tbody tr")]
    assert rows
    for row in rows:
        cells = dict(zip(heads, row, strict=True))
        assert amount(cells["Write-offs"]) <= 0
        total = amount(cells["Gross"]) + amount(cells["Adjustments"]) + amount(cells["Write-offs"])
        assert total == pytest.approx(amount(cells["Net"]), abs=1.5)  # whole dollars as printed


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_headline_figure_compares_with_an_earlier_time(rendered: dict[str, Path], name: str) -> None:
    cards = _soup(rendered[name]).select_one("div.wb-kpis").select(".wb-kpi")  # the headline row
    assert len(cards) >= 4
    for card in cards:
        assert card.select(".wb-kpi-change"), card.get_text(" ", strip=True)


def _header() -> dict[str, str]:
    keys = ("practice", "title", "period", "as_of", "system", "practice_source", "extracted_at", "version")
    return {**dict.fromkeys(keys, "x"), "generated_at": "now", "brand_color": "#1f5f8b", "logo": ""}


def test_templates_compiled_once_are_kept_and_a_cache_that_cannot_be_written_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat

    from workbench.reports import export_html

    def page() -> str:
        cell = nbformat.v4.new_markdown_cell("## Kept figures", id="kept")
        return export_html(nbformat.v4.new_notebook(cells=[cell]), _header())

    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = page()
    kept = list((tmp_path / "cache" / "templates").iterdir())
    assert len(kept) >= 5  # the report template and what it extends, compiled
    import jinja2

    compiled = []
    original = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda *a, **k: compiled.append(1) or original(*a, **k))
    assert page() == first  # the next export reads them back, compiles none, and writes the same page
    assert not compiled
    assert "Kept figures" in first
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "file"))
    assert page() == first
    assert compiled  # compiled again, with nowhere to keep them
