"""The Explorer in real JupyterLab and headless Chromium: how long a consultant waits.

    python benchmarks/lab.py [--patients 2000] [--years 3] [--runs 3]

Generates the demo practice, warms its cache, starts JupyterLab (tests/lab_driver.py) and, per run, opens
notebooks/explore.ipynb, presses Run All and changes the period; then runs aging.ipynb and presses Update
report. Prints one table of medians (seconds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from playwright.sync_api import sync_playwright
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import workbench
from tests.lab_driver import Notebook, click_bar, running_lab, set_date

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
BARS = "() => document.querySelector('.wb-chart').querySelectorAll('.bars .point path').length"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    timings: dict[str, list[float]] = {}

    def record(step: str, seconds: float) -> None:
        timings.setdefault(step, []).append(seconds)

    with tempfile.TemporaryDirectory(prefix="wb-lab-bench-") as tmp:
        db = workbench.demo.generate(
            Path(tmp) / "od.db", patients=args.patients, years=args.years, seed=7, end=date(2026, 10, 31)
        )
        notebooks = [("explore", "python3", "explore"), ("aging", "python3", "aging")]
        with running_lab(Path(tmp) / "lab", f"opendental+sqlite://{db}", notebooks) as lab, sync_playwright() as play:
            browser = play.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                notebook = Notebook(browser, lab, "explore")
                started = notebook.run_all()
                record("Explorer: Run All to first chart", notebook.wait_for_charts(1, since=started))
                record("Explorer: Run All to all three charts", notebook.wait_for_charts(3, since=started))
                notebook.wait_until_idle()
                changed = time.monotonic()
                set_date(notebook, 0, "2026-07-01")
                notebook.page.wait_for_function(f"() => ({BARS})() === 8", timeout=60_000)
                record("Explorer: change the period to redrawn chart", time.monotonic() - changed)
                clicked = time.monotonic()
                click_bar(notebook)
                notebook.page.locator(".wb-rows").first.wait_for(timeout=60_000)
                record("Explorer: click a month to its procedures listed", time.monotonic() - clicked)
                notebook.close()

                report = Notebook(browser, lab, "aging")
                started = report.run_all()
                report.wait_for_charts(2)
                report.wait_until_idle()
                record("aging.ipynb: Run All to charts drawn", time.monotonic() - started)
                set_date(report, 0, "2026-06-30")
                pressed = time.monotonic()
                report.page.get_by_role("button", name="Update report").click()
                report.page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('.wb-kpis'))"
                    ".some(e => e.textContent.includes('June 30, 2026'))",
                    timeout=60_000,
                )
                record("aging.ipynb: Update report to new figures", time.monotonic() - pressed)
                report.close()
            browser.close()

    table = Table(title=f"JupyterLab benchmark: {args.patients:,} patients × {args.years} years, warm cache")
    table.add_column("step")
    table.add_column(f"median of {args.runs} (s)", justify="right")
    table.add_column("runs (s)")
    for step, values in timings.items():
        table.add_row(step, f"{statistics.median(values):.2f}", ", ".join(f"{v:.2f}" for v in values))
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
