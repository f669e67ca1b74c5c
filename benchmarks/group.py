"""The group: SQL over every practice's cached frames (DuckDB) against the same question in pandas.

    python benchmarks/group.py [--practices 4] [--patients 10000] [--years 5]

Generates the practices, fills their caches, then answers "completed production and procedures per practice
and month" both ways, three times each (median), and prints one table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

import workbench

SQL = (
    "SELECT practice, date_trunc('month', date) AS month, COUNT(*) AS procedures, SUM(fee) AS production "
    "FROM procedures WHERE status = 'completed' GROUP BY 1, 2 ORDER BY 1, 2"
)


def with_pandas(team: workbench.groups.Group) -> pd.DataFrame:
    procs = team.frame("procedures")
    done = procs[procs["status"] == "completed"]
    return (
        done.groupby(["practice", done["date"].dt.to_period("M").dt.to_timestamp().rename("month")], observed=True)
        .agg(procedures=("procedure_id", "size"), production=("fee", "sum"))
        .reset_index()
    )


def median_of(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=4)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wb-group-") as tmp:
        folder = Path(tmp)
        entries = []
        for i in range(args.practices):
            db = workbench.demo.generate(
                folder / f"p{i}.db", patients=args.patients, years=args.years, seed=10 + i, end=date(2026, 10, 31)
            )
            entries.append(f'[[practice]]\nname = "practice-{i + 1}"\nsource = "opendental+sqlite://{db}"\n')
        practices = folder / "practices.toml"
        practices.write_text("\n".join(entries), encoding="utf-8")
        cache = folder / "cache"
        for config in workbench.group(practices, cache).configs.values():
            workbench.connect(config.source, cache_dir=cache).refresh()
        rows = []
        fresh = lambda: workbench.group(practices, cache)  # noqa: E731 - a new group reads the caches again
        cold_pd, _ = median_of(3, lambda: with_pandas(fresh()))
        cold_db, _ = median_of(3, lambda: fresh().query(SQL))
        team = fresh()
        team.frame("procedures")
        warm_pd, a = median_of(3, lambda: with_pandas(team))
        warm_db, b = median_of(3, lambda: team.query(SQL))
        assert len(a) == len(b) and abs(float(a["production"].sum()) - float(b["production"].sum())) < 0.01  # type: ignore[index]
        total = len(team.frame("procedures"))
        rows += [
            ("pandas: read caches, concat, group by", cold_pd),
            ("DuckDB: read caches, concat, SQL", cold_db),
            ("pandas: group by (frames in memory)", warm_pd),
            ("DuckDB: SQL (frames in memory)", warm_db),
        ]
    grid = Table(title=f"Group query: {args.practices} practices, {total:,} procedures, per practice and month")
    grid.add_column("step")
    grid.add_column("seconds (median of 3)", justify="right")
    for step, seconds in rows:
        grid.add_row(step, f"{seconds:.3f}")
    grid.add_row("DuckDB ÷ pandas (in memory)", f"{warm_db / warm_pd:.2f}")
    Console().print(grid)


if __name__ == "__main__":
    main()
