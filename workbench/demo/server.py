"""Copy a demo practice from its SQLite file into a MySQL/MariaDB database, through ODBC."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import Any

from workbench.demo.schema import OPEN_DENTAL_TABLES, create_statements, index_statements
from workbench.errors import SourceError

__all__ = ["load_into_server"]


def load_into_server(
    sqlite_path: str | Path,
    connection_string: str,
    database: str,
    batch_rows: int = 1000,
    tables: Collection[str] | None = None,
) -> dict[str, int]:
    """(Re)create ``database`` on the server with Open Dental's tables and copy every row; return row counts.

    ``connection_string`` reaches the server (with its password); the database is dropped first. Every
    table is created; only ``tables`` (default: all) are filled.
    """
    import pyodbc

    if not database.replace("_", "").isalnum():
        raise SourceError(f"unsafe database name {database!r}")
    try:
        server = pyodbc.connect(connection_string, autocommit=True)
    except pyodbc.Error as exc:
        raise SourceError(f"cannot connect to the database server: {' '.join(str(exc).split())}") from None
    counts = {}
    with sqlite3.connect(sqlite_path) as source, server:
        cursor = server.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{database}`")
        for statement in create_statements("mysql"):
            cursor.execute(statement)
        for table, columns in OPEN_DENTAL_TABLES.items():
            if tables is None or table in tables:  # the others stay empty
                counts[table] = _copy(source, cursor, table, len(columns), batch_rows)
        for statement in index_statements():
            cursor.execute(statement)
    return counts


def _copy(source: sqlite3.Connection, cursor: Any, table: str, width: int, batch_rows: int) -> int:
    rows = source.execute(f"SELECT * FROM {table}")
    total = 0
    while chunk := rows.fetchmany(batch_rows):
        marks = ",".join(["(" + ",".join("?" * width) + ")"] * len(chunk))
        cursor.execute(f"INSERT INTO {table} VALUES {marks}", [v for row in chunk for v in row])
        total += len(chunk)
    return total
