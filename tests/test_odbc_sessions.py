"""Every session the workbench opens to MySQL/MariaDB is read-only before its first statement: proven from
the server's general query log, for every reader, for a URL naming the driver and for a DSN (which does not
say which server it reaches), through a full extract, an incremental refresh that looks for deleted rows,
and a report's reads.

Switching the general log on needs an administrator login: MariaDB's root over 127.0.0.1 without a
password, as scripts/services.sh leaves a test machine (elsewhere this skips; in CI it must not).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench

from .conftest import PASSWORD, SERVER

DATABASE = "wb_test_sessions"
ADMIN = "Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;UID=root;"
STATEMENTS = ("Query", "Prepare", "Execute")


@pytest.fixture(scope="module")
def admin(server_connection_string: str, demo_db: Path) -> Iterator[Any]:
    import pyodbc

    from workbench.demo.server import load_into_server

    try:
        conn = pyodbc.connect(ADMIN, autocommit=True, timeout=5)
        conn.execute("SELECT @@general_log")
    except pyodbc.Error as exc:
        pytest.skip(f"no administrator login to switch the general query log on ({exc})")
    load_into_server(demo_db, server_connection_string, DATABASE)
    before = conn.execute("SELECT @@log_output, @@general_log").fetchone()
    conn.execute("SET GLOBAL log_output = 'TABLE'")
    os.environ["WB_TEST_SESSIONS_PASSWORD"] = PASSWORD
    yield conn
    conn.execute("SET GLOBAL general_log = 0")
    conn.execute(f"SET GLOBAL log_output = '{before[0]}'")
    conn.execute(f"SET GLOBAL general_log = {int(before[1])}")
    conn.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    conn.close()


@pytest.fixture()
def dsn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A user DSN for the test database (its entry names neither the server's kind nor read-only)."""
    ini = tmp_path / "odbc.ini"
    ini.write_text(f"[WbSessions]\nDriver = MariaDB Unicode\nServer = 127.0.0.1\nPort = 3306\nDatabase = {DATABASE}\n")
    monkeypatch.setenv("ODBCINI", str(ini))
    return "DSN=WbSessions;UID=wb_test"


def _sessions(admin: Any) -> dict[int, list[str]]:
    """Per session of the test login: its statements, in order."""
    rows = admin.execute(
        "SELECT thread_id, command_type, argument FROM mysql.general_log "
        "WHERE user_host LIKE 'wb_test%' ORDER BY event_time, thread_id"
    ).fetchall()
    out: dict[int, list[str]] = {}
    for thread, kind, argument in rows:
        if kind in STATEMENTS:
            text = argument.decode() if isinstance(argument, bytes) else str(argument)
            out.setdefault(int(thread), []).append(" ".join(text.split())[:100])
    return out


@pytest.mark.parametrize("reader", ["auto", "arrow", "pyodbc"])
@pytest.mark.parametrize("named", ["driver", "dsn"])
def test_no_statement_on_any_session_precedes_read_only(
    admin: Any, dsn: str, reader: str, named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.metrics import aging
    from workbench.sources import odbc

    monkeypatch.setattr(odbc, "SPLIT_FROM_KEYS", 1)  # the small demo's large tables are read in parts too
    monkeypatch.setattr(odbc, "_DBMS", {})  # a new process: nothing known about the DSN yet
    target = f"{SERVER};Database={DATABASE}" if named == "driver" else dsn
    url = f"opendental+odbc:{target}?password_env=WB_TEST_SESSIONS_PASSWORD&reader={reader}"
    admin.execute("TRUNCATE mysql.general_log")
    admin.execute("SET GLOBAL general_log = 1")
    try:
        practice = workbench.connect(url, cache_dir=tmp_path)
        practice.refresh()  # a full extract
        with admin.cursor() as edit:
            edit.execute(
                f"UPDATE {DATABASE}.procedurelog SET ProcFee = ProcFee + 1, DateTStamp = NOW() WHERE ProcNum % 50 = 0"
            )
        practice.refresh(check_deletions=True)  # changed rows (bound values), counts in a snapshot, keys
        assert len(aging(practice, "2026-10-31")) > 0
    finally:
        admin.execute("SET GLOBAL general_log = 0")
    sessions = _sessions(admin)
    assert len(sessions) >= 2
    late = {
        thread: statements[:2] for thread, statements in sessions.items() if "READ ONLY" not in statements[0].upper()
    }
    assert late == {}, f"{len(late)} of {len(sessions)} sessions ran a statement before READ ONLY: {late}"
