"""ODBC connections for SQL sources: URL parsing, secrets, read-only sessions, and two readers.

A source URL is ``<scheme>:<ODBC connection string>[?options]``, for example::

    opendental+odbc:DSN=OpenDental;UID=reader?password_env=OD_PASSWORD
    opendental+odbc:Driver={MariaDB Unicode};Server=10.0.0.5;Database=opendental;UID=reader?password_keyring=od

The password never sits in the URL (a ``PWD=`` there is refused): ``password_env`` names an environment
variable, ``password_keyring`` a keyring service (the user is the connection's UID). ``reader`` chooses
how rows are fetched: ``arrow`` (arrow-odbc, columnar; a large table in one range of keys per core, over
as many connections), ``pyodbc`` (row by row), or ``auto``: arrow where arrow-odbc is installed.
connectorx (MySQL's own protocol) is not offered: its client runs statements of its own, and some of
ours, on sessions it opens before any read-only setting can be sent.
Queries with parameters (the changed rows of an incremental refresh) are bound, never spliced into the SQL:
through arrow-odbc where it is installed, else pyodbc. Only SELECTs are sent, and on MySQL/MariaDB every
session, whichever library opens it, is read-only from its first statement.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from workbench.errors import SourceError, UsageError
from workbench.secrets import holds_password, lookup_secret, scrub
from workbench.sources.sql import DbApiReader, SqlReader, require_select

__all__ = [
    "OdbcSettings",
    "chosen_reader",
    "describe_connection",
    "parse_odbc_url",
    "reader_factory",
    "snapshot_factory",
]

READERS = ("auto", "arrow", "pyodbc")
_SECRET_KEYS = {"pwd", "password"}
READ_ONLY_SESSION = "SET SESSION TRANSACTION READ ONLY"


@dataclass(frozen=True)
class OdbcSettings:
    url: str  # as given (holds no secret)
    connection_string: str  # without the password
    user: str | None
    password_env: str | None
    password_keyring: str | None
    reader: str
    extra: dict[str, str] = field(default_factory=dict)  # options a source defines for itself

    def speaks_mysql(self) -> bool:
        """Whether the server is MySQL/MariaDB: the Driver's name says so, or the DSN's driver (as the
        driver manager lists it), or the driver said so when asked."""
        attrs = _attributes(self.connection_string)
        if _mysql_driver(attrs) or _DBMS.get(self.connection_string, False):
            return True
        return "dsn" in attrs and _mysql_driver({"driver": _dsn_driver(attrs["dsn"])})

    @property
    def shown(self) -> str:
        """The connection as errors show it (see ``describe_connection``)."""
        return describe_connection(self.connection_string)

    def password(self) -> str | None:
        """The password from the environment or the keyring, if the URL names one."""
        return lookup_secret("password", self.password_env, self.password_keyring, self.user or "")

    def full_connection_string(self) -> str:
        """The connection string with the password added (never log or show this). Connections to
        MySQL/MariaDB (as the Driver names it, or as the driver said when first asked: a DSN does not say)
        also get a read-only session from the first statement on, whichever library opens it."""
        parts = [self.connection_string.rstrip(";")]
        attrs = _attributes(self.connection_string)
        if self.speaks_mysql() and "initstmt" not in attrs:
            parts.append(f"InitStmt={{{READ_ONLY_SESSION}}}")
        secret = self.password()
        if secret is not None:
            parts.append(f"PWD={{{secret.replace('}', '}}')}}}")
        return ";".join(parts) + ";"


def _attributes(connection_string: str) -> dict[str, str]:
    """key=value pairs of an ODBC connection string, keys as the driver manager matches them: spaces and
    braces around a key dropped, case ignored ({braced} values may hold ';')."""
    pairs = re.findall(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)", connection_string)
    return {key.strip().strip("{}").strip().lower(): value.strip("{}") for key, value in pairs}


def describe_connection(connection_string: str) -> str:
    """What an error may show of a connection: DSN, server, port, database and user, nothing else."""
    attrs = _attributes(connection_string)
    shown = [
        f"{label}={attrs[key]}"
        for key, label in (
            ("dsn", "DSN"),
            ("server", "server"),
            ("port", "port"),
            ("database", "database"),
            ("uid", "user"),
            ("user", "user"),
        )
        if attrs.get(key)
    ]
    return " ".join(shown) or "the ODBC connection"


def parse_odbc_url(url: str, scheme: str, extra_options: Sequence[str] = ()) -> OdbcSettings:
    """Split ``<scheme>:<connection string>?<options>`` and check it holds no password."""
    body = url[len(scheme) + 1 :].removeprefix("//")
    connection_string, _, query = body.partition("?")
    if not connection_string.strip():
        raise UsageError(f"{scheme}: give a DSN name or an ODBC connection string, e.g. {scheme}:DSN=OpenDental;UID=me")
    if "=" not in connection_string:
        connection_string = f"DSN={connection_string}"
    attrs = _attributes(connection_string)
    if _SECRET_KEYS & set(attrs) or holds_password(connection_string):
        raise UsageError(f"{scheme}: no password in the URL; use ?password_env=VARIABLE or ?password_keyring=SERVICE")
    options = dict(parse_qsl(query, keep_blank_values=True))
    allowed = ["password_env", "password_keyring", "reader", *extra_options]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UsageError(f"{scheme}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    reader = options.get("reader", "auto")
    if reader == "connectorx":
        raise UsageError(
            f"{scheme}: reader=connectorx is no longer offered (its sessions cannot be read-only from their "
            "first statement); leave reader out, or use reader=arrow"
        )
    if reader not in READERS:
        raise UsageError(f"{scheme}: reader must be one of {', '.join(READERS)}, got {reader!r}")
    return OdbcSettings(
        url,
        connection_string,
        attrs.get("uid") or attrs.get("user"),
        options.get("password_env"),
        options.get("password_keyring"),
        reader,
        {k: options[k] for k in extra_options if k in options},
    )


def _scrub(message: str, settings: OdbcSettings) -> str:
    """A driver error as one line, without the password in it."""
    secret = None
    with contextlib.suppress(SourceError):
        secret = settings.password()
    return scrub(message, [secret])


def _pyodbc_connection(settings: OdbcSettings) -> Any:
    try:
        import pyodbc
    except ImportError as exc:  # the shared library libodbc is missing
        raise SourceError(f"pyodbc cannot load the ODBC driver manager ({exc}); install unixODBC") from None

    def connect() -> Any:
        return pyodbc.connect(settings.full_connection_string(), autocommit=True, readonly=True, timeout=15)

    attrs = _attributes(settings.connection_string)
    known = "driver" in attrs or settings.connection_string in _DBMS or _dsn_driver(attrs.get("dsn", ""))
    try:
        conn = connect()
        if not known:  # a DSN the driver manager does not list: ask the driver once which DBMS it reaches
            dbms = str(conn.getinfo(pyodbc.SQL_DBMS_NAME) or "").lower()
            _DBMS[settings.connection_string] = "mysql" in dbms or "mariadb" in dbms
            if settings.speaks_mysql():  # open again, read-only from the first statement (InitStmt)
                conn.close()
                conn = connect()
    except pyodbc.Error as exc:
        raise SourceError(f"cannot connect to {settings.shown}: {_scrub(str(exc), settings)}") from None
    return conn


# connection string -> whether its driver reaches MySQL/MariaDB (asked once per process; never a secret)
_DBMS: dict[str, bool] = {}


def _dsn_driver(dsn: str) -> str:
    """The driver a DSN uses, as the driver manager lists it (no connection made); "" when not listed."""
    if not dsn:
        return ""
    try:
        import pyodbc

        return str(pyodbc.dataSources().get(dsn, ""))
    except Exception:  # no driver manager (ImportError), or it cannot list its sources
        return ""


# arrow-odbc's transfer buffer, allocated whole for every query, and reused batch after batch. Small: the
# allocation costs about 1 ms per MB, which the queries that return few rows and are sent often (lists,
# one-row aggregates, the rows changed since a refresh) paid many times over with 16 MB (15 ms each), while
# a whole table streams as fast through 1 MB as through 16 MB (measured: benchmarks/odbc.py).
BATCH_BYTES = 2**20
MAX_TEXT = 2048  # longest text value expected (bytes); the buffer holds this per text cell
PARALLEL_READS = min(4, os.cpu_count() or 1)  # connections reading one large table at once
SPLIT_FROM_KEYS = 100_000  # a table whose keys span fewer is read in one go


class _ColumnarReader:
    """Whole columns into Arrow, then pandas. Queries with parameters go through arrow-odbc (bound, never
    spliced into the SQL) where it is installed, else through pyodbc's rows."""

    def __init__(self, settings: OdbcSettings, rows: DbApiReader) -> None:
        self.settings = settings
        self._rows = rows
        self._bind = _installed("arrow_odbc")
        self._odbc: Any = None  # one arrow-odbc connection, opened on first use, for every query after

    def frame(self, sql: str, params: Sequence[Any] = (), split_on: str | None = None) -> pd.DataFrame:
        require_select(sql)
        if params and not self._bind:
            return self._rows.frame(sql, params)
        try:
            return self._arrow_odbc(sql, params) if params else self._columns(sql, split_on)
        except Exception as exc:  # the libraries raise their own errors (arrow_odbc.Error, RuntimeError)
            raise SourceError(f"reading {self.settings.shown} failed: {_scrub(str(exc), self.settings)}") from None

    def _arrow_odbc(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """arrow-odbc: the ODBC driver fills column buffers; values are bound as parameters (as text)."""
        import arrow_odbc
        import pyarrow as pa

        if self._odbc is None:
            self._odbc = arrow_odbc.connect(self.settings.full_connection_string())
        batches = self._odbc.read_arrow_batches(
            query=sql,
            parameters=[None if p is None else str(p) for p in params] or None,
            batch_size=1_000_000,
            max_bytes_per_batch=BATCH_BYTES,
            max_text_size=MAX_TEXT,
            max_binary_size=MAX_TEXT,
        )
        frame: pd.DataFrame = pa.Table.from_batches(list(batches), schema=batches.schema).to_pandas(
            date_as_object=False
        )
        return frame

    def _columns(self, sql: str, split_on: str | None) -> pd.DataFrame:
        raise NotImplementedError

    def close(self) -> None:
        self._odbc = None  # arrow-odbc closes the connection when it is let go
        self._rows.close()

    def quote(self, name: str) -> str:
        return self._rows.quote(name)


class ArrowOdbcReader(_ColumnarReader):
    """arrow-odbc for every query. A large table split on ``split_on`` is read in one range of keys per
    core, over as many connections at once (each read-only from its first statement, like every other)."""

    def _columns(self, sql: str, split_on: str | None) -> pd.DataFrame:
        import pyarrow as pa

        if not split_on or PARALLEL_READS < 2:
            return self._arrow_odbc(sql)
        whole = f"SELECT MIN({split_on}) AS low, MAX({split_on}) AS high FROM ({sql}) AS wb_whole"
        low, high = self._rows.frame(whole).iloc[0]
        if pd.isna(low) or int(high) - int(low) < SPLIT_FROM_KEYS:
            return self._arrow_odbc(sql)
        bounds = np.linspace(int(low), int(high) + 1, PARALLEL_READS + 1).round().astype("int64")
        parts = [
            f"SELECT * FROM ({sql}) AS wb_part WHERE {split_on} >= {first} AND {split_on} < {last}"
            for first, last in pairwise(bounds)
        ]
        with ThreadPoolExecutor(len(parts), thread_name_prefix="odbc-part") as pool:
            tables = list(pool.map(self._part, parts))
        table = _in_key_order(pa.concat_tables(tables), split_on)
        frame: pd.DataFrame = table.to_pandas(date_as_object=False)
        return frame

    def _part(self, sql: str) -> Any:
        """One part of a split read, on a connection of its own (arrow-odbc works while the GIL is free)."""
        import arrow_odbc
        import pyarrow as pa

        batches = arrow_odbc.connect(self.settings.full_connection_string()).read_arrow_batches(
            query=sql,
            batch_size=1_000_000,
            max_bytes_per_batch=BATCH_BYTES,
            max_text_size=MAX_TEXT,
            max_binary_size=MAX_TEXT,
        )
        return pa.Table.from_batches(list(batches), schema=batches.schema)


def _in_key_order(table: Any, key: str) -> Any:
    """A split read's rows back in key order. The parts' batches arrive interleaved, each in key order as a
    rule: then putting the batches in order copies nothing; otherwise the rows are sorted."""
    batches = sorted((b for b in table.to_batches() if b.num_rows), key=lambda b: b.column(key)[0].as_py())
    keys = [b.column(key).to_numpy() for b in batches]
    if all((np.diff(k) > 0).all() for k in keys) and all(a[-1] < b[0] for a, b in pairwise(keys)):
        return type(table).from_batches(batches, schema=table.schema)
    return table.take(np.argsort(table.column(key).to_numpy(), kind="stable"))


def _mysql_driver(attrs: dict[str, str]) -> bool:
    driver = attrs.get("driver", "").lower()
    return "mariadb" in driver or "mysql" in driver


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def chosen_reader(settings: OdbcSettings) -> str:
    """The reader a connection will use: the one asked for, or for ``auto`` the fastest that can serve it."""
    if settings.reader == "arrow" and not _installed("arrow_odbc"):
        raise SourceError("reader=arrow needs the arrow-odbc package (pip install arrow-odbc)")
    if settings.reader != "auto":
        return settings.reader
    return "arrow" if _installed("arrow_odbc") else "pyodbc"


def reader_factory(settings: OdbcSettings) -> Callable[[], SqlReader]:
    """Open the reader ``chosen_reader`` picks; every reader connects through pyodbc first, so a bad
    connection fails at once with one line."""
    kind = chosen_reader(settings)

    def open_reader() -> SqlReader:
        rows = DbApiReader(_pyodbc_connection(settings), settings.shown, lambda text: _scrub(text, settings))
        return ArrowOdbcReader(settings, rows) if kind == "arrow" else rows

    return open_reader


def snapshot_factory(settings: OdbcSettings) -> Callable[[], SqlReader] | None:
    """For MySQL/MariaDB: open a reader whose every statement sees the database as it was when the reader
    opened (a consistent snapshot, pinned before this returns). None for servers where that is not known."""
    if not settings.speaks_mysql():
        return None

    def open_snapshot() -> SqlReader:
        import pyodbc

        conn = _pyodbc_connection(settings)
        try:
            conn.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")  # ended (rolled back) when it closes
        except pyodbc.Error as exc:
            conn.close()
            raise SourceError(f"{settings.shown}: cannot pin a snapshot: {_scrub(str(exc), settings)}") from None
        return DbApiReader(conn, settings.shown, lambda text: _scrub(text, settings))

    return open_snapshot
