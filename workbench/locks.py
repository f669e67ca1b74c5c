"""Exclusive locks on files shared between processes (and machines sharing a directory).

``fcntl.flock`` on a lock file: the kernel releases the lock when its holder exits, however it exits
(kill -9 included), so no lock is ever stale and none needs to be broken by hand. The holder writes who it
is (host, pid, since) into the file, so that a waiter can say whom it waits for. On NFS, Linux turns
``flock`` into POSIX byte-range locks that the server arbitrates (NFSv4, or NFSv3 with lockd), so writers
on different machines exclude each other too; a share mounted with ``nolock`` only excludes writers on the
same machine (SMB mounts: as the mount's lock options say).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from workbench.errors import CacheError

__all__ = ["exclusive", "holder", "try_exclusive"]

POLL_SECONDS = 0.2


def holder(lock_file: Path) -> str:
    """Who holds (or last held) ``lock_file``: "pid 123 on host h since ...", or "another process"."""
    try:
        info = json.loads(lock_file.read_text() or "{}")
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _claim(handle: object, lock_file: Path) -> None:
    fd = handle.fileno()  # type: ignore[attr-defined]
    os.ftruncate(fd, 0)
    info = {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
    os.pwrite(fd, json.dumps(info).encode(), 0)


@contextmanager
def try_exclusive(lock_file: Path) -> Iterator[bool]:
    """Hold ``lock_file`` if it is free: yields True while held, False (holding nothing) when taken."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            _claim(handle, lock_file)
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def exclusive(
    lock_file: Path, timeout: float, what: str, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold ``lock_file``, waiting at most ``timeout`` seconds for its holder; ``on_wait`` hears once that
    we wait (and for whom). After the timeout: CacheError naming the holder."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+") as handle:
        deadline = time.monotonic() + timeout
        said = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said and on_wait is not None:
                    on_wait(f"waiting for {holder(lock_file)}, which is writing {what} (at most {timeout:.0f} s)")
                    said = True
                if time.monotonic() >= deadline:
                    raise CacheError(
                        f"{what} is still being written by {holder(lock_file)} after {timeout:.0f} s; try again later"
                    ) from None
                time.sleep(POLL_SECONDS)
        try:
            _claim(handle, lock_file)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
