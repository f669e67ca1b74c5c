"""ODBC extract benchmark: ~1,000,000 procedures from a local MariaDB, every read path side by side.

    bash scripts/services.sh && .venv/bin/python benchmarks/odbc.py [--patients 25000] [--years 10]

Needs the MariaDB test login of scripts/services.sh. Prints one table: seconds per path and ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

import workbench
from workbench.demo.server import load_into_server
from workbench.sources import open_source
from workbench.sources.opendental_sql import QUERIES

DATABASE = "wb_test_bench"
SERVER = "Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;UID=wb_test"
CHANGED = [  # (table, key, change stamp): 1% of every ledger table is touched
    ("procedurelog", "ProcNum", "DateTStamp"),
    ("patient", "PatNum", "DateTStamp"),
    ("appointment", "AptNum", "DateTStamp"),
    ("claimproc", "ClaimProcNum", "SecDateTEdit"),
    ("paysplit", "SplitNum", "SecDateTEdit"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=25_000)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    password = os.environ.setdefault("WORKBENCH_TEST_DB_PASSWORD", "wb-test-only")
    full = f"{SERVER};PWD={password};"
    rows: list[tuple[str, float, str]] = []

    with tempfile.TemporaryDirectory(prefix="wb-odbc-") as tmp:
        db = workbench.demo.generate(
            Path(tmp) / "od.db", patients=args.patients, years=args.years, seed=7, end=date(2026, 10, 31)
        )
        start = time.perf_counter()
        counts = load_into_server(db, full, DATABASE)
        rows.append(
            (
                f"load the practice into MariaDB (setup; {sum(counts.values()):,} rows in all)",
                time.perf_counter() - start,
                f"{counts['procedurelog']:,} rows",
            )
        )
        url = f"opendental+odbc:{SERVER};Database={DATABASE}?password_env=WORKBENCH_TEST_DB_PASSWORD"
        sql = QUERIES["procedures"]

        def timed(label: str, action: object) -> float:
            began = time.perf_counter()
            result = action()  # type: ignore[operator]
            seconds = time.perf_counter() - began
            rows.append((label, seconds, f"{len(result):,} rows"))
            return seconds

        import pyodbc

        conn = pyodbc.connect(full + f"Database={DATABASE};")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns that pyodbc is not SQLAlchemy
            baseline = timed("pandas.read_sql over pyodbc (raw rows)", lambda: pd.read_sql(sql, conn))
        conn.close()
        fallback = timed(
            "workbench, pyodbc reader (rows → canonical frame)",
            lambda: open_source(f"{url}&reader=pyodbc").read(["procedures"])["procedures"],
        )
        timed(
            "workbench, arrow-odbc reader (ODBC columns → canonical frame)",
            lambda: open_source(f"{url}&reader=arrow").read(["procedures"])["procedures"],
        )
        columnar = timed(
            "workbench, auto = connectorx reader (→ canonical frame)",
            lambda: open_source(url).read(["procedures"])["procedures"],
        )
        import connectorx as cx

        native = timed(
            "connectorx raw read (MySQL protocol → Arrow)",
            lambda: cx.read_sql(f"mysql://wb_test:{password}@127.0.0.1:3306/{DATABASE}", sql, return_type="arrow"),
        )
        practice = workbench.connect(url, cache_dir=Path(tmp) / "cache")
        began = time.perf_counter()
        practice.refresh(incremental=False)
        full_refresh = time.perf_counter() - began
        rows.append(("full refresh of every table (extract + Parquet)", full_refresh, f"{sum(counts.values()):,} rows"))
        with pyodbc.connect(full + f"Database={DATABASE};", autocommit=True) as server:
            changed = 0
            for table, key, column in CHANGED:  # an office's day: the newest rows change
                count, top = server.execute(f"SELECT COUNT(*), MAX({key}) FROM {table}").fetchone()
                changed += server.execute(
                    f"UPDATE {table} SET {column} = NOW() WHERE {key} > ?", [top - count // 100]
                ).rowcount
        began = time.perf_counter()
        practice.refresh()
        incremental = time.perf_counter() - began
        rows.append(("incremental refresh, newest 1% of rows changed", incremental, f"{changed:,} changed rows"))
        time.sleep(61)  # past the refresh's overlap, so the next step reads only its own changes
        with pyodbc.connect(full + f"Database={DATABASE};", autocommit=True) as server:
            scattered = sum(
                server.execute(f"UPDATE {table} SET {column} = NOW() WHERE {key} % 100 = 7").rowcount
                for table, key, column in CHANGED
            )
        began = time.perf_counter()
        practice.refresh()
        spread = time.perf_counter() - began
        rows.append(("incremental refresh, 1% changed all over the history", spread, f"{scattered:,} changed rows"))
        with pyodbc.connect(full + f"Database={DATABASE};", autocommit=True) as server:
            gone = server.execute("DELETE FROM procedurelog WHERE ProcNum % 1000 = 1").rowcount
        began = time.perf_counter()
        practice.refresh()
        with_deletes = time.perf_counter() - began
        rows.append(("incremental refresh, 0.1% of procedures deleted", with_deletes, f"{gone:,} deleted rows"))
        with pyodbc.connect(full, autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")

    table = Table(title="ODBC extract of procedures (single run each)")
    table.add_column("path")
    table.add_column("seconds", justify="right")
    table.add_column("rows")
    for label, seconds, note in rows:
        table.add_row(label, f"{seconds:.2f}", note)
    console = Console(width=120)
    console.print(table)
    console.print(f"workbench (auto) vs pandas.read_sql(pyodbc): {baseline / columnar:.1f}x faster (goal ≥ 8x)")
    console.print(f"workbench (auto) vs connectorx raw read: {columnar / native:.2f}x its time (goal ≤ 1.2x)")
    console.print(f"pyodbc fallback vs pandas.read_sql(pyodbc): {baseline / fallback:.1f}x")
    console.print(
        f"incremental refresh (newest 1% changed) vs full refresh: {100 * incremental / full_refresh:.1f}% (goal ≤ 5%)"
    )
    console.print(f"incremental refresh (1% changed all over) vs full refresh: {100 * spread / full_refresh:.1f}%")
    console.print(f"incremental refresh with deletions vs full refresh: {100 * with_deletes / full_refresh:.1f}%")


if __name__ == "__main__":
    main()
