"""ODBC extract benchmark: ~1,000,000 procedures from a local MariaDB, every read path side by side, then
incremental refreshes after office days of edits (by default deleted rows are looked for hourly, and
always before reports: both are timed).

    bash scripts/services.sh && .venv/bin/python benchmarks/odbc.py [--patients 25000] [--years 10] [--repeat 3]

Needs the MariaDB test login of scripts/services.sh. Each extract path runs ``--repeat`` times, interleaved,
and is reported by its median (and best); ratios use medians. This machine is a shared 2-core VM: single
runs vary by ±20%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.table import Table

import workbench
from workbench.cache import COMPACT_AFTER
from workbench.demo.schema import OPEN_DENTAL_TABLES
from workbench.demo.server import load_into_server
from workbench.sources import open_source
from workbench.sources.opendental_sql import QUERIES

DATABASE = "wb_test_bench"
SERVER = "Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;UID=wb_test"
EDITED = [  # (table, key, change stamp): the tables an office's day touches
    ("procedurelog", "ProcNum", "DateTStamp"),
    ("patient", "PatNum", "DateTStamp"),
    ("appointment", "AptNum", "DateTStamp"),
    ("claimproc", "ClaimProcNum", "SecDateTEdit"),
    ("paysplit", "SplitNum", "SecDateTEdit"),
]


def office_day(server: Any, where: Callable[[str, int, int], str], added: float) -> int:
    """The day after the latest change stamp, as an office works it: rows chosen by ``where`` get new change
    stamps spread over the day's ten hours from 8:00, and ``added`` (a fraction) of each table's newest rows
    are copied as new rows. Returns rows touched. (After the latest stamp, whatever day the demo ends on:
    an edit stamped before the last refresh's watermark would be invisible to it, as at a real office.)"""
    latest = " UNION ALL ".join(f"SELECT MAX({stamp}) AS s FROM {table}" for table, _, stamp in EDITED)
    first = f"TIMESTAMP '{server.execute(f'SELECT DATE(MAX(s)) FROM ({latest}) AS stamps').fetchone()[0]} 00:00:00'"
    touched = 0
    for table, key, stamp in EDITED:
        count, top = server.execute(f"SELECT COUNT(*), MAX({key}) FROM {table}").fetchone()
        when = f"{first} + INTERVAL 1 DAY + INTERVAL 8 HOUR + INTERVAL ({key} % 36000) SECOND"
        touched += server.execute(f"UPDATE {table} SET {stamp} = {when} WHERE {where(key, count, top)}").rowcount
        new = int(count * added)
        columns = [name for name, _ in OPEN_DENTAL_TABLES[table]]
        copied = [f"{key} + {new}" if c == key else (when if c == stamp else c) for c in columns]
        touched += server.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(copied)} FROM {table} WHERE {key} > ?",
            [top - new],
        ).rowcount
    return touched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=25_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--days", type=int, default=5, help="office days of edits, each followed by a refresh")
    args = parser.parse_args()
    password = os.environ.setdefault("WORKBENCH_TEST_DB_PASSWORD", "wb-test-only")
    server_string = f"{SERVER};PWD={password};"
    console = Console(width=130)
    setup: list[tuple[str, float, str]] = []
    runs: dict[str, list[float]] = {}
    notes: dict[str, str] = {}

    import arrow_odbc
    import pyodbc

    from workbench.sources import odbc

    with tempfile.TemporaryDirectory(prefix="wb-odbc-") as tmp:
        db = workbench.demo.generate(
            Path(tmp) / "od.db", patients=args.patients, years=args.years, seed=7, end=date(2026, 10, 31)
        )
        began = time.perf_counter()
        counts = load_into_server(db, server_string, DATABASE)
        setup.append(("load the practice into MariaDB", time.perf_counter() - began, f"{sum(counts.values()):,} rows"))
        url = f"opendental+odbc:{SERVER};Database={DATABASE}?password_env=WORKBENCH_TEST_DB_PASSWORD"
        sql = QUERIES["procedures"]

        def read_sql_pyodbc() -> pd.DataFrame:
            with pyodbc.connect(server_string + f"Database={DATABASE};") as conn, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas warns that pyodbc is not SQLAlchemy
                return pd.read_sql(sql, conn)

        def canonical(options: str = "", parts: int = odbc.PARALLEL_READS) -> Callable[[], pd.DataFrame]:
            def read() -> pd.DataFrame:
                odbc.PARALLEL_READS, before = parts, odbc.PARALLEL_READS
                try:
                    return open_source(url + options).read(["procedures"])["procedures"]
                finally:
                    odbc.PARALLEL_READS = before

            return read

        def arrow_raw() -> Any:
            reader = arrow_odbc.connect(server_string + f"Database={DATABASE};").read_arrow_batches(
                query=sql, batch_size=1_000_000, max_bytes_per_batch=odbc.BATCH_BYTES, max_text_size=odbc.MAX_TEXT
            )
            return pa.Table.from_batches(list(reader), schema=reader.schema)

        paths: dict[str, Callable[[], Any]] = {
            "pandas.read_sql over pyodbc (raw rows)": read_sql_pyodbc,
            "workbench, pyodbc reader (fallback; → canonical frame)": canonical("&reader=pyodbc"),
            "workbench, arrow-odbc reader on one connection (→ canonical frame)": canonical("&reader=arrow", 1),
            f"workbench, auto = arrow-odbc on {odbc.PARALLEL_READS} connections (→ canonical frame)": canonical(),
            "arrow-odbc raw read, one connection (ODBC → Arrow)": arrow_raw,
        }
        with console.status("extract paths") as status:
            for round_ in range(args.repeat):
                for label, action in paths.items():
                    status.update(f"round {round_ + 1}/{args.repeat}: {label}")
                    began = time.perf_counter()
                    notes[label] = f"{len(action()):,} rows"
                    runs.setdefault(label, []).append(time.perf_counter() - began)

            full_label = "full refresh: every table, extract + Parquet cache"
            for round_ in range(args.repeat):
                status.update(f"full refresh {round_ + 1}/{args.repeat}")
                practice = workbench.connect(url, cache_dir=Path(tmp) / f"cache{round_}")
                began = time.perf_counter()
                practice.refresh(incremental=False)
                runs.setdefault(full_label, []).append(time.perf_counter() - began)
            notes[full_label] = f"{sum(practice.manifest.rows.values()):,} rows"

            def refresh_after(label: str, edit: Callable[[Any], int], check: bool | None = True) -> None:
                with pyodbc.connect(server_string + f"Database={DATABASE};", autocommit=True) as server:
                    touched = edit(server)
                seen: dict[str, int] = {}
                steps = len(practice.manifest.files["procedures"])
                began = time.perf_counter()
                after = practice.refresh(progress=lambda t, rows: seen.__setitem__(t, rows), check_deletions=check)
                runs.setdefault(label, []).append(time.perf_counter() - began)
                merged = " (+ change files merged)" if len(after.files["procedures"]) <= steps else ""
                notes[label] = f"{touched:,} rows changed; {sum(seen.values()):,} read{merged}"

            newest = "incremental: an office day, newest 1% of rows (0.8% edited, 0.2% added)"
            checked = newest + ", deleted rows looked for"
            for day in range(2 * args.days):  # alternately: deletions looked for (reports) and not (hourly default)
                status.update(f"office day {day + 1}/{2 * args.days}")
                refresh_after(
                    checked if day % 2 else newest,
                    lambda server: office_day(
                        server, lambda key, count, top: f"{key} > {top - count * 8 // 1000}", 0.002
                    ),
                    check=bool(day % 2) or None,
                )
            refresh_after(
                "incremental: 1% of rows edited all over the history",
                lambda server: office_day(server, lambda key, count, top: f"{key} % 100 = 7", 0.0),
            )
            refresh_after(
                "incremental: 0.1% of procedures deleted",
                lambda server: server.execute("DELETE FROM procedurelog WHERE ProcNum % 1000 = 1").rowcount,
            )
            refresh_after("incremental: nothing changed (hourly default)", lambda server: 0, check=None)
            status.update("refreshes until the change files are merged")
            while len(practice.manifest.files["procedures"]) < COMPACT_AFTER:
                practice.refresh(check_deletions=False)
            refresh_after(f"incremental: nothing changed, every {COMPACT_AFTER}th: change files merged", lambda s: 0)
        with pyodbc.connect(server_string, autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")

    table = Table(title=f"ODBC extract of procedures and refreshes (median of runs; {os.cpu_count()} cores)")
    for column in ("path", "median s", "best s", "runs", "rows"):
        table.add_column(column, justify="left" if column in ("path", "rows") else "right")
    for label, seconds, note in setup:
        table.add_row(label + " (setup)", f"{seconds:.2f}", "", "1", note)
    for label, times in runs.items():
        table.add_row(label, f"{statistics.median(times):.3f}", f"{min(times):.3f}", str(len(times)), notes[label])
    console.print(table)

    def median(label_start: str) -> float:
        return statistics.median(next(t for label, t in runs.items() if label.startswith(label_start)))

    baseline, auto = median("pandas.read_sql"), median("workbench, auto")
    native, full = median("arrow-odbc raw"), median("full refresh")
    console.print(f"workbench (auto) vs pandas.read_sql(pyodbc): {baseline / auto:.1f}x faster (goal ≥ 8x)")
    console.print(f"workbench (auto) vs arrow-odbc's raw read on one connection: {auto / native:.2f}x its time")
    console.print(f"pyodbc fallback vs pandas.read_sql(pyodbc): {baseline / median('workbench, pyodbc'):.1f}x")
    for label, times in runs.items():
        if label.startswith("incremental"):
            goal = " (goal ≤ 5%)" if label.startswith(newest) else ""
            console.print(f"{label} vs full refresh: {100 * statistics.median(times) / full:.1f}%{goal}")


if __name__ == "__main__":
    main()
