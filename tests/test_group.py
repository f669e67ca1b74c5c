"""A consultant's group: the figures side by side (pure, on inline figures), the practices' frames together and
SQL over them, and the group report written by `workbench batch` beside the index, in Chromium."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bs4 import BeautifulSoup

import workbench
from workbench import metrics
from workbench.metrics import group_clear, group_findings, group_table
from workbench.notebook import attention

from .conftest import DEMO_END

OK = {"collection_pct": 98.0, "ar_over_90_pct": 12.0, "ar_months": 1.2, "hygiene_reappointment_pct": 86.0}


def _figures(**changes: float) -> dict[str, float]:
    base = {**OK, "net_production": 300_000.0, "ar_total": 40_000.0, "new_patients": 120.0}
    return {**base, **changes}


def test_the_table_marks_targets_outliers_and_failures() -> None:
    figures: dict[str, Any] = {
        "a": _figures(),
        "b": _figures(ar_over_90_pct=35.0, collection_pct=91.0),  # 23 and 7 points off the median
        "c": _figures(ar_over_90_pct=13.0, ar_months=2.0),  # 1.2 → 2.0 months: more than a quarter over
        "down": "cannot connect to 10.0.0.9:3306",
    }
    table = group_table(figures).set_index("practice")
    assert table.loc["down", "status"] == "failed" and pd.isna(table.loc["down", "net_production"])
    assert table.loc["Group median", "ar_over_90_pct"] == 13.0
    assert bool(table.loc["b", "ar_over_90_pct_outlier"]) and not bool(table.loc["b", "collection_pct_outlier"])
    assert bool(table.loc["c", "ar_months_outlier"]) and not bool(table.loc["c", "ar_over_90_pct_outlier"])
    assert not bool(table.loc["a", "net_production_outlier"])  # size-bound figures are never outliers
    assert table.loc["a", "ar_over_90_pct_target_met"] is True and table.loc["b", "collection_pct_target_met"] is False
    lines = group_findings(group_table(figures))
    assert lines[0] == "down: no figures, its run failed (cannot connect to 10.0.0.9:3306)."
    assert "b: the share of A/R over 90 days is 35.0 %, against the group's median of 13.0 %." in lines
    assert any(line.startswith("c: A/R in months of net production is 2.0 months") for line in lines)


def test_targets_missed_by_most_practices_are_said_once() -> None:
    figures = {name: _figures(ar_over_90_pct=value) for name, value in (("a", 20.0), ("b", 22.0), ("c", 9.0))}
    lines = group_findings(group_table(figures))
    assert (
        "The share of A/R over 90 days misses its target at 2 of 3 practices (the group's median is 20.0 %)." in lines
    )
    assert not group_clear(group_table(figures))
    fine = group_table({"a": _figures(), "b": _figures()})
    assert group_findings(fine) == ["Every practice is within a quarter of the group's median on every rate compared."]
    assert group_clear(fine)
    assert 'class="wb-attention wb-clear"' in attention(group_findings(fine), clear=group_clear(fine)).markup


@pytest.fixture(scope="module")
def practices_file(demo_db: Path, other_demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three practices: the small demo, a second demo practice, and one whose database is gone."""
    folder = tmp_path_factory.mktemp("group")
    other = other_demo_db
    path = folder / "practices.toml"
    path.write_text(
        f'[[practice]]\nname = "riverside"\nsource = "opendental+sqlite://{demo_db}"\nreports = ["aging"]\n'
        f'email = ["dr.riverside@example.com"]\n\n'
        f'[[practice]]\nname = "maple-grove"\nsource = "opendental+sqlite://{other}"\nreports = ["aging"]\n'
        f"targets = {{ ar_over_90_pct = 10 }}\n\n"
        f'[[practice]]\nname = "gone"\nsource = "opendental+sqlite://{folder}/gone.db"\nreports = ["aging"]\n',
        encoding="utf-8",
    )
    return path


def test_frames_and_sql_across_the_practices(practices_file: Path, demo_frames: dict, tmp_path: Path) -> None:
    team = workbench.group(practices_file, cache_dir=tmp_path)
    procs = team.frame("procedures")
    assert list(procs["practice"].cat.categories) == ["gone", "maple-grove", "riverside"]
    assert team.failed == {"gone": team.failed["gone"]} and "gone.db" in team.failed["gone"]
    riverside = procs[procs["practice"] == "riverside"].drop(columns="practice").reset_index(drop=True)
    pd.testing.assert_frame_equal(riverside, demo_frames["procedures"], check_categorical=False)
    got = team.query(
        "SELECT practice, COUNT(*) AS n, SUM(fee) AS fees FROM procedures WHERE status = 'completed' GROUP BY 1"
    ).set_index("practice")
    done = procs[procs["status"] == "completed"].groupby("practice", observed=True)["fee"]
    assert got["n"].to_dict() == done.size().to_dict()
    assert got["fees"].to_dict() == pytest.approx(done.sum().to_dict())


def test_the_query_command_answers_and_refuses_in_one_line(practices_file: Path, tmp_path: Path) -> None:
    base = [
        sys.executable,
        "-m",
        "workbench",
        "query",
        "--practices",
        str(practices_file),
        "--cache-dir",
        str(tmp_path),
    ]
    done = subprocess.run(
        [*base, "--csv", "SELECT practice, COUNT(*) AS claims FROM claims GROUP BY 1 ORDER BY 1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.strip().splitlines()]
    assert rows[0] == ["practice", "claims"] and [r[0] for r in rows[1:]] == ["maple-grove", "riverside"]
    assert "warning: gone left out:" in done.stderr
    for sql in ("DELETE FROM claims", "SELECT nothing FROM claims", "SELECT 1"):
        bad = subprocess.run([*base, sql], capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr, sql


def test_batch_writes_the_group_report_with_the_failed_practice_as_failed(
    practices_file: Path, tmp_path: Path, browser: Any
) -> None:
    out = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "batch", "--practices", str(practices_file), "--as-of", "2026-10-31",
         "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 1  # one practice failed
    page = out / "group" / "2026-10-31" / "group.html"
    assert page.exists(), done.stdout + done.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="group/2026-10-31/group.html"' in index
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    failed = soup.select_one("table.wb-group tr.wb-failed")
    assert failed is not None and failed.td.get_text() == "gone" and "failed:" in failed.get_text()
    assert "$0" not in failed.get_text()  # a failed practice shows no zeros
    names = [tr.td.get_text() for tr in soup.select("table.wb-group tbody tr")]
    assert names == ["riverside", "maple-grove", "gone"]
    assert soup.select_one("table.wb-group tfoot tr.wb-median") is not None
    assert "gone: no figures, its run failed" in soup.select_one("section.wb-attention").get_text()

    browsed = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    browsed.on("pageerror", lambda e: errors.append(str(e)))
    browsed.goto(page.as_uri())
    browsed.wait_for_function("document.querySelectorAll('.js-plotly-plot .bars path').length >= 20", timeout=15_000)
    panels = browsed.evaluate("document.querySelectorAll('.js-plotly-plot .cartesianlayer .subplot').length")
    assert panels == 2 and errors == []  # one small chart per practice that ran
    browsed.close()


def test_report_group_from_the_command_line(practices_file: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "report", "group", "--practices", str(practices_file),
         "--end", "2026-10-31", "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), "--no-refresh"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    soup = BeautifulSoup((tmp_path / "group.html").read_text(encoding="utf-8"), "html.parser")
    text = soup.get_text(" ")
    assert "January 1, 2026 – October 31, 2026" in text and "3 practices" in text
    figures = workbench.group(practices_file, tmp_path / "cache").figures(pd.Timestamp("2026-01-01"), DEMO_END)
    net = float(metrics.group_table(figures).iloc[-1]["net_production"])
    median_row = soup.select_one("table.wb-group tfoot tr").get_text(" ")
    assert f"${net:,.0f}" in median_row and not math.isnan(net)
    bad = subprocess.run(
        [sys.executable, "-m", "workbench", "report", "group", "--source", "demo:", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


def test_a_group_whose_practices_all_failed_shows_no_zeros(tmp_path: Path) -> None:
    from workbench.reports import render_group

    practices = tmp_path / "practices.toml"
    practices.write_text(f'[[practice]]\nname = "gone"\nsource = "opendental+sqlite://{tmp_path}/gone.db"\n')
    page = render_group(practices, tmp_path / "out", end="2026-10-31", cache_dir=tmp_path / "cache")
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    cards = " ".join(k.get_text(" ", strip=True) for k in soup.select(".wb-kpi"))
    assert "0 of 1" in cards and "$0" not in cards and not soup.select(".js-plotly-plot")
    assert soup.select_one("table.wb-group tr.wb-failed").td.get_text() == "gone"
