"""Reading SELECT results into DataFrames: the one place SQL sources touch a database driver."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from typing import Any, Protocol

import pandas as pd

from workbench.errors import SourceError, WorkbenchError

__all__ = ["DbApiReader", "SqlReader", "fetch_frame", "read_together", "require_select"]


class SqlReader(Protocol):
    """Runs read-only SELECT statements and returns their rows as a DataFrame."""

    def frame(self, sql: str, params: Sequence[Any] = (), split_on: str | None = None) -> pd.DataFrame:
        """``split_on``: a numeric, never-null column of the result that a reader able to read in parallel may
        split the read on (the others ignore it)."""
        ...

    def quote(self, name: str) -> str:
        """``name`` as a quoted SQL identifier, in the quotes the database takes."""
        ...

    def close(self) -> None: ...


def require_select(sql: str) -> None:
    """Sources only ever send SELECT statements; anything else is a programming error."""
    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        raise SourceError(f"refusing to send a statement that is not a SELECT: {sql[:40]!r}")


def fetch_frame(conn: Any, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Run one SELECT on a DB-API connection (values bound as parameters) and return its rows."""
    require_select(sql)
    with closing(conn.cursor()) as cursor:
        cursor.execute(sql, tuple(params))
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)


class DbApiReader:
    """Rows through one DB-API connection (sqlite3, pyodbc): simple, one Python object per cell."""

    def __init__(self, conn: Any, shown: str = "the database", scrub: Callable[[str], str] = str) -> None:
        self.conn = conn
        self._shown = shown  # what an error says it was reading
        self._scrub = scrub  # masks secrets in a driver's message
        self._quote: str | None = None

    def frame(self, sql: str, params: Sequence[Any] = (), split_on: str | None = None) -> pd.DataFrame:
        try:
            return fetch_frame(self.conn, sql, params)
        except WorkbenchError:
            raise
        except Exception as exc:  # the driver's own errors (sqlite3.Error, pyodbc.Error, ...): one line
            message = " ".join(self._scrub(str(exc)).split())
            raise SourceError(f"reading {self._shown} failed: {message}") from None

    def quote(self, name: str) -> str:
        if self._quote is None:  # ODBC says which quote its database takes (MySQL: `, most others: ")
            self._quote = '"'
            getinfo = getattr(self.conn, "getinfo", None)
            if getinfo is not None:
                import pyodbc

                self._quote = str(getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR) or '"').strip() or '"'
        q = self._quote
        return q + name.replace(q, q + q) + q

    def close(self) -> None:
        self.conn.close()


Query = tuple[str, Sequence[Any]]  # SQL and its parameters


def read_together(
    open_reader: Callable[[], SqlReader], queries: Mapping[str, Query], connections: int = 1
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each named query's result as soon as it is read, on up to ``connections`` readers at once.

    Queries are taken in the order given, each by the next free reader (largest first balances cheap ones
    such as counts; queries that read many pages from disk can slow each other down when run side by side);
    a reader is opened, used and closed in one thread of its own (sqlite3 connections stay in theirs). The
    first error is raised here; the readers then take no new query.
    """
    if connections <= 1 or len(queries) <= 1:
        with closing(open_reader()) as reader:
            for name, (sql, params) in queries.items():
                yield name, reader.frame(sql, params)
        return
    todo: queue.SimpleQueue[tuple[str, Query]] = queue.SimpleQueue()
    for item in queries.items():
        todo.put(item)
    done: queue.SimpleQueue[tuple[str, pd.DataFrame] | BaseException] = queue.SimpleQueue()
    stop = threading.Event()

    def read() -> None:
        try:
            with closing(open_reader()) as reader:
                while not stop.is_set():
                    try:
                        name, (sql, params) = todo.get_nowait()
                    except queue.Empty:
                        return
                    done.put((name, reader.frame(sql, params)))
        except BaseException as exc:  # handed to the caller's thread, raised there
            done.put(exc)

    readers = [
        threading.Thread(target=read, name=f"workbench-read-{n}", daemon=True)
        for n in range(min(connections, len(queries)))
    ]
    for thread in readers:
        thread.start()
    try:
        for _ in queries:
            got = done.get()
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()  # on an error: a query under way finishes in its thread, which then closes its reader
    for thread in readers:
        thread.join()
