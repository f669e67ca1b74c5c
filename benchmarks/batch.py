"""Batch benchmark: N demo practices × 3 reports, worker processes vs a sequential loop of papermill runs.

.venv/bin/python benchmarks/batch.py [--practices 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from workbench.batch import jobs_for, run_batch
from workbench.practice import connect
from workbench.practices import PracticeConfig
from workbench.reports import REPORTS, render_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wb-batch-") as tmp:
        cache = str(Path(tmp) / "cache")
        practices = [
            PracticeConfig(name=f"p{i}", source=f"demo:?patients=300&years=2&seed={i}&end=2026-10-31")
            for i in range(args.practices)
        ]
        for p in practices:  # caches filled first: both runs measure report generation only
            connect(p.source, cache_dir=cache).manifest  # noqa: B018
        began = time.perf_counter()
        for p in practices:
            for report in REPORTS:
                render_report(report, p.source, Path(tmp) / "seq" / p.name, cache_dir=cache)
        sequential = time.perf_counter() - began
        timings = {}
        for warm in (False, True):
            jobs = jobs_for(practices, Path(tmp) / f"pool-{warm}", cache_dir=cache, warm_kernel=warm)
            began = time.perf_counter()
            results = run_batch(jobs, workers=args.jobs)
            timings[warm] = time.perf_counter() - began
            assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    table = Table(title=f"{args.practices} practices × {len(REPORTS)} reports")
    table.add_column("run")
    table.add_column("seconds", justify="right")
    table.add_column("per report", justify="right")
    n = len(jobs)
    table.add_row("sequential loop of papermill runs", f"{sequential:.1f}", f"{sequential / n:.2f}")
    for warm, label in ((False, "a fresh kernel per report"), (True, "warm kernels (default)")):
        seconds = timings[warm]
        table.add_row(f"workbench batch, {args.jobs} worker processes, {label}", f"{seconds:.1f}", f"{seconds / n:.2f}")
    console = Console(width=110)
    console.print(table)
    console.print(
        f"speed-up over the sequential loop: {sequential / timings[False]:.2f}x with fresh kernels, "
        f"{sequential / timings[True]:.2f}x with warm kernels (goal ≥ 1.8x on 2 cores)"
    )


if __name__ == "__main__":
    main()
