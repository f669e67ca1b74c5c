"""Open Dental over real ODBC: unixODBC, the MariaDB ODBC driver and a MariaDB server (scripts/services.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench import model
from workbench.cli import main
from workbench.errors import SourceError, UsageError
from workbench.metrics import aging, production
from workbench.sources import open_source
from workbench.sources.odbc import _pyodbc_connection, chosen_reader, parse_odbc_url, reader_factory

from .conftest import DEMO_END, PASSWORD, SERVER

DATABASE = "wb_test_opendental"


@pytest.fixture(scope="session")
def od_url(server_connection_string: str, demo_db: Path) -> Iterator[str]:
    """The small demo practice loaded into MariaDB; the URL reads it with the password from the environment."""
    import pyodbc

    from workbench.demo.server import load_into_server

    load_into_server(demo_db, server_connection_string, DATABASE)
    os.environ["WB_TEST_OD_PASSWORD"] = PASSWORD
    yield f"opendental+odbc:{SERVER};Database={DATABASE}?password_env=WB_TEST_OD_PASSWORD"
    with pyodbc.connect(server_connection_string, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")


@pytest.mark.parametrize("reader", ["pyodbc", "arrow"])
def test_frames_equal_the_sqlite_source(od_url: str, demo_url: str, reader: str) -> None:
    tables = list(model.TABLES)
    expected = open_source(demo_url).read(tables)
    got = open_source(f"{od_url}&reader={reader}").read(tables)
    for table in tables:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True, obj=f"{reader}: {table}")


def test_report_figures_equal_the_sqlite_source(od_url: str, demo_url: str, tmp_path: Path) -> None:
    over_odbc = workbench.connect(od_url, cache_dir=tmp_path / "odbc")
    from_file = workbench.connect(demo_url, cache_dir=tmp_path / "file")
    pd.testing.assert_frame_equal(aging(over_odbc, DEMO_END), aging(from_file, DEMO_END))
    pd.testing.assert_frame_equal(
        production(over_odbc, "2026-01-01", DEMO_END, by="provider"),
        production(from_file, "2026-01-01", DEMO_END, by="provider"),
    )
    assert over_odbc.data_as_of == DEMO_END
    assert over_odbc.source.info().practice_name == from_file.source.info().practice_name


def test_a_write_through_the_sources_connection_fails(od_url: str) -> None:
    import pyodbc

    conn = _pyodbc_connection(parse_odbc_url(od_url, "opendental+odbc"))
    with pytest.raises(pyodbc.Error, match="READ ONLY"):
        conn.execute("UPDATE patient SET LName = 'Changed' WHERE PatNum = 1")
    with pytest.raises(pyodbc.Error, match="READ ONLY"):
        conn.execute("INSERT INTO definition (DefNum, Category, ItemName) VALUES (999, 1, 'x')")
    assert conn.execute("SELECT LName FROM patient WHERE PatNum = 1").fetchone()[0] != "Changed"
    conn.close()


@pytest.mark.parametrize("reader", ["pyodbc", "arrow"])
def test_every_session_is_read_only(od_url: str, reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever library opens the session: pyodbc, arrow-odbc (with or without bound values, one
    connection, or one per part of a split read)."""
    from workbench.sources import odbc

    monkeypatch.setattr(odbc, "SPLIT_FROM_KEYS", 1)  # the small demo's patients are read in parts too
    open_reader = reader_factory(parse_odbc_url(f"{od_url}&reader={reader}", "opendental+odbc"))
    read_only = "SELECT @@session.tx_read_only AS ro, PatNum FROM patient"
    with closing(open_reader()) as sql:
        assert set(sql.frame(read_only)["ro"]) == {1}
        assert set(sql.frame(read_only, split_on="PatNum")["ro"]) == {1}
        assert set(sql.frame(f"{read_only} WHERE PatNum > ?", [1])["ro"]) == {1}


def test_the_password_stays_out_of_cache_url_and_errors(
    od_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    practice = workbench.connect(od_url, cache_dir=tmp_path)
    practice.refresh()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in practice.source.url and PASSWORD not in repr(practice)
    code = main(["refresh", "--source", od_url.replace("UID=wb_test", "UID=nobody"), "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot connect to") and err.count("\n") == 1
    assert PASSWORD not in err


def test_password_from_the_keyring(od_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return PASSWORD if (service, username) == ("wb-test-od", "wb_test") else None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NotImplementedError

        def delete_password(self, service: str, username: str) -> None:
            raise NotImplementedError

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        url = od_url.replace("password_env=WB_TEST_OD_PASSWORD", "password_keyring=wb-test-od")
        assert len(workbench.connect(url, cache_dir=tmp_path).frame("providers")) > 0
        with pytest.raises(SourceError, match="no password in the keyring for service 'elsewhere'"):
            open_source(url.replace("wb-test-od", "elsewhere")).info()
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("opendental+odbc:DSN=od;UID=me;PWD=hunter2", UsageError, "no password in the URL"),
        ("opendental+odbc:Driver={X};Password={a;b}", UsageError, "no password in the URL"),
        ("opendental+odbc:Driver={X};UID=rel_reader;{PWD}=SECRET-1", UsageError, "no password in the URL"),
        ("opendental+odbc:Driver={X};UID=r; pWd =SECRET-2", UsageError, "no password in the URL"),
        ("opendental+odbc:DSN=x;{ Password }={SECRET;3}", UsageError, "no password in the URL"),
        ("opendental+odbc:", UsageError, "give a DSN name or an ODBC connection string"),
        ("opendental+odbc:DSN=od?colour=red", UsageError, "unknown option"),
        ("opendental+odbc:DSN=od?reader=turbo", UsageError, "reader must be one of"),
        ("opendental+odbc:Server=h;UID=u?reader=connectorx", UsageError, "reader=connectorx is no longer offered"),
    ],
)
def test_bad_odbc_urls(url: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        open_source(url)


def test_connection_errors_show_server_port_database_and_user_only(tmp_path: Path) -> None:
    """A connection that fails says where it tried, never the raw connection string."""
    url = "opendental+odbc:Driver={MariaDB Unicode};Server=127.0.0.1;Port=9;Database=od;UID=me;Option=SECRETISH"
    code = subprocess.run(
        [sys.executable, "-m", "workbench", "refresh", "--source", url, "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert code.returncode == 2, code.stderr
    line = code.stderr.strip()
    assert line.startswith("error: cannot connect to server=127.0.0.1 port=9 database=od user=me: ")
    assert "SECRETISH" not in line and "Driver=" not in line and len(line.splitlines()) == 1


def test_url_parsing() -> None:
    dsn = parse_odbc_url("opendental+odbc:OpenDental?password_env=X", "opendental+odbc")
    assert dsn.connection_string == "DSN=OpenDental" and dsn.password_env == "X" and dsn.reader == "auto"
    full = parse_odbc_url("opendental+odbc://Driver={MariaDB Unicode};Server=h;UID=reader", "opendental+odbc")
    assert full.user == "reader" and full.connection_string.startswith("Driver={MariaDB Unicode}")
    with pytest.raises(SourceError, match="environment variable NOT_SET_ANYWHERE"):
        parse_odbc_url("opendental+odbc:DSN=x?password_env=NOT_SET_ANYWHERE", "opendental+odbc").password()
    secret = parse_odbc_url("opendental+odbc:DSN=x;UID=u?password_env=HOME", "opendental+odbc")
    assert secret.full_connection_string().endswith(f"PWD={{{os.environ['HOME']}}};")
    assert chosen_reader(dsn) in ("arrow", "pyodbc")  # a DSN does not say which server it is
    mysql = parse_odbc_url("opendental+odbc:Driver={MariaDB Unicode};Server=h;Database=d;UID=u", "opendental+odbc")
    assert chosen_reader(mysql) == "arrow"


def test_no_secret_in_notebooks_reports_logs_or_cache(
    od_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Every report through the password-protected source; the password appears nowhere it could leak."""
    import logging

    from workbench.reports import REPORTS, render_report

    logging.basicConfig(level=logging.DEBUG, force=True)
    try:
        for name in REPORTS:
            render_report(name, od_url, tmp_path / "out", cache_dir=tmp_path / "cache", keep_notebook=True)
    finally:
        logging.basicConfig(level=logging.WARNING, force=True)
    captured = capfd.readouterr()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".html", ".ipynb", ".parquet", ".json"}
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in captured.out + captured.err


@pytest.mark.parametrize("reader", ["pyodbc", "auto"])
def test_incremental_refresh_over_odbc_equals_a_full_extract(
    server_connection_string: str, demo_db: Path, tmp_path: Path, reader: str
) -> None:
    import pyodbc

    from workbench.demo.server import load_into_server

    database = "wb_test_incremental"
    load_into_server(demo_db, server_connection_string, database)
    os.environ["WB_TEST_OD_PASSWORD"] = PASSWORD
    url = f"opendental+odbc:{SERVER};Database={database}?password_env=WB_TEST_OD_PASSWORD&reader={reader}"
    try:
        practice = workbench.connect(url, cache_dir=tmp_path / "cache")
        practice.refresh()
        with pyodbc.connect(f"{server_connection_string}Database={database};", autocommit=True) as conn:
            changed = conn.execute(
                "UPDATE procedurelog SET ProcFee = ProcFee + 1, DateTStamp = NOW() WHERE ProcNum % 100 = 0"
            ).rowcount
            conn.execute("UPDATE claimproc SET InsPayAmt = InsPayAmt + 5, SecDateTEdit = NOW() WHERE ClaimProcNum = 3")
            conn.execute("DELETE FROM appointment WHERE AptNum IN (2, 3)")
        seen: dict[str, int] = {}
        practice.refresh(progress=lambda table, rows: seen.__setitem__(table, rows), check_deletions=True)
        assert changed <= seen["procedures"] < changed + 50
        fresh = workbench.connect(url, cache_dir=tmp_path / "fresh")
        for table in model.TABLES:
            pd.testing.assert_frame_equal(practice.store.load(table), fresh.frame(table), obj=table)
    finally:
        with pyodbc.connect(server_connection_string, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS `{database}`")


def test_counts_are_as_of_the_call_though_counted_later_on_several_snapshots(
    od_url: str, server_connection_string: str
) -> None:
    """The deletion check compares counts taken before the changes are read: rows committed after the call
    are not counted, though the counting (on two snapshots, one table after another) only begins after."""
    import pyodbc

    from workbench.demo.schema import OPEN_DENTAL_TABLES

    source = open_source(od_url)
    tables = ["procedures", "insurance", "appointments", "patients"]
    before = source.counts(tables)
    copied = {"procedurelog": "ProcNum", "claimproc": "ClaimProcNum"}
    with pyodbc.connect(f"{server_connection_string}Database={DATABASE};", autocommit=True) as conn:
        try:
            locks = ", ".join(f"{t} WRITE, {t} AS src_{t} READ" for t in copied)
            conn.execute(f"LOCK TABLES {locks}")  # the counting waits for this
            counting = source.start_counts(tables)
            for table, key in copied.items():
                columns = [name for name, _ in OPEN_DENTAL_TABLES[table]]
                chosen = ", ".join(f"{key} + 10000000" if c == key else c for c in columns)
                named = ", ".join(columns)
                source_rows = f"FROM {table} AS src_{table} WHERE {key} <= 3"
                conn.execute(f"INSERT INTO {table} ({named}) SELECT {chosen} {source_rows}")
            conn.execute("UNLOCK TABLES")
            assert counting.result(timeout=60) == before
            after = source.counts(tables)
            assert after == {**before, "procedures": before["procedures"] + 3, "insurance": before["insurance"] + 3}
        finally:
            conn.execute("UNLOCK TABLES")
            for table, key in copied.items():
                conn.execute(f"DELETE FROM {table} WHERE {key} > 10000000")
