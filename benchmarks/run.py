"""End-to-end benchmark: generate a practice, extract, load, compute every metric, render every report.

    python benchmarks/run.py [--patients 30000] [--years 10] [--seed 7]

Prints one table of wall-clock seconds (single run each; this is a 2-core machine).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import nbformat
import papermill
from rich.console import Console
from rich.table import Table

import workbench
from workbench import metrics
from workbench.periods import month_ends, trailing_months
from workbench.reports import REPORTS, render_report

T = TypeVar("T")


def timed(rows: list[tuple[str, float, str]], step: str, action: Callable[[], T], note: Callable[[T], str]) -> T:
    start = time.perf_counter()
    result = action()
    rows.append((step, time.perf_counter() - start, note(result)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=30_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    end = date(2026, 10, 31)
    rows: list[tuple[str, float, str]] = []

    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        db = Path(tmp) / "od.db"
        cache = Path(tmp) / "cache"

        def count(path: Path) -> str:
            with sqlite3.connect(path) as conn:
                procs = conn.execute("SELECT COUNT(*) FROM procedurelog").fetchone()[0]
            return f"{procs:,} procedures, {path.stat().st_size / 1e6:,.0f} MB"

        timed(
            rows,
            f"generate {args.patients:,} patients × {args.years} years",
            lambda: workbench.demo.generate(db, patients=args.patients, years=args.years, seed=args.seed, end=end),
            count,
        )
        url = f"opendental+sqlite://{db}"
        practice = workbench.connect(url, cache_dir=cache)
        manifest = timed(
            rows,
            "extract to cache (SQLite → Parquet)",
            practice.refresh,
            lambda m: f"{sum(m.rows.values()):,} rows in {len(m.rows)} tables",
        )
        del manifest
        warm = workbench.connect(url, cache_dir=cache)
        cpu = time.process_time()
        frames = timed(rows, "warm load of all frames", warm.frames, lambda f: "")
        cpu = time.process_time() - cpu
        loaded = sum(len(x) for x in frames.values())
        rows[-1] = (
            rows[-1][0],
            rows[-1][1],
            f"{loaded:,} rows, {cpu / (loaded / 1e6):.2f} CPU s per million (goal: 0.5 s, 0.25 CPU s per million)",
        )
        ledger_rows = len(metrics.ledger(frames))
        timed(
            rows,
            "aging (family, as of end)",
            lambda: metrics.aging(frames, end),
            lambda t: f"{len(t):,} families, {ledger_rows:,} ledger rows",
        )
        timed(
            rows,
            "aging, proc_lifo (Open Dental's AgingProcLifo)",
            lambda: metrics.aging(frames, end, proc_lifo=True),
            lambda t: f"{len(t):,} families",
        )
        ends = month_ends(end, 120)
        timed(
            rows,
            "aging history: 120 month ends in one pass",
            lambda: metrics.aging_history(frames, ends),
            lambda h: f"{len(h):,} family-months",
        )
        timed(
            rows,
            "same, 12 month ends as 12 separate agings",
            lambda: [metrics.aging(frames, d) for d in ends[-12:]],
            lambda r: f"{sum(len(t) for t in r):,} rows",
        )
        timed(
            rows,
            "key figures (12 months)",
            lambda: metrics.kpis(frames, *trailing_months(end, 12).__dict__.values()),
            lambda k: f"{len(k)} figures",
        )
        year = trailing_months(end, 12)
        timed(
            rows,
            "production (12 months, by month)",
            lambda: metrics.production(frames, year.start, year.end, by="month"),
            lambda t: f"{len(t)} months",
        )
        timed(
            rows,
            "production (12 months, by provider)",
            lambda: metrics.production(frames, year.start, year.end, by="provider"),
            lambda t: f"{len(t)} providers",
        )
        timed(
            rows,
            "recall + hygiene reappointment",
            lambda: (metrics.recall(frames, end), metrics.hygiene_reappointment(frames, year.start, year.end)),
            lambda r: f"{len(r[0]):,} recalls, {len(r[1]):,} visits",
        )
        empty = Path(tmp) / "empty.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), empty)
        timed(
            rows,
            "papermill: an empty notebook (kernel start and stop)",
            lambda: papermill.execute_notebook(
                str(empty), str(Path(tmp) / "ran.ipynb"), kernel_name="python3", progress_bar=False
            ),
            lambda _: "the floor every report pays",
        )
        floor = rows[-1][1]
        for name in REPORTS:
            timed(
                rows,
                f"report {name} end to end (papermill + nbconvert)",
                lambda name=name: render_report(name, url, Path(tmp) / "out", as_of=end, end=end, cache_dir=cache),
                lambda p: f"{p.stat().st_size / 1e6:.1f} MB HTML",
            )
            step, seconds, note = rows[-1]
            rows[-1] = (step, seconds, f"{note}; kernel start + {seconds - floor:.1f} s (goal: + 3 s)")

    table = Table(title=f"Workbench benchmark: {args.patients:,} patients × {args.years} years (seed {args.seed})")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("size")
    for step, seconds, note in rows:
        table.add_row(step, f"{seconds:.2f}", note)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
