"""A connected practice: a source composed with its cache (``Practice(source, store)``)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from workbench import model
from workbench.cache import CacheStore, Manifest, TableChanges
from workbench.config import cache_root
from workbench.errors import CacheError, UsageError
from workbench.keys import member, union
from workbench.metrics.aging import PAID_CLAIMPROC_STATUSES
from workbench.sources.base import Progress, Source, cache_key, completed, open_source
from workbench.usage import Allowance, Kind, UsageLog, metered

__all__ = ["DELETIONS_CHECKED_EVERY", "LOCK_TIMEOUT_ENV", "Practice", "connect"]

# Between looks for rows deleted at the source, when a refresh is not told whether to look.
DELETIONS_CHECKED_EVERY = timedelta(hours=1)
# How long a refresh waits for another refresh of the same practice's cache (seconds; default 15 minutes).
LOCK_TIMEOUT_ENV = "WORKBENCH_LOCK_TIMEOUT"
log = logging.getLogger("workbench")
T = TypeVar("T")
READERS = min(4, os.cpu_count() or 1)  # tables read at once by ``Practice.frames``
LEDGER_DAYS = (  # what dates a practice's data: (table, date column, the statuses that count; None: all rows)
    ("procedures", "date", ("completed",)),
    ("patient_payments", "date", None),
    ("insurance", "date_paid", PAID_CLAIMPROC_STATUSES),
)


class Practice:
    """Canonical frames of one practice, served from the cache and filled from the source."""

    def __init__(self, source: Source, store: CacheStore) -> None:
        self.source = source
        self.store = store
        self._frames: dict[str, pd.DataFrame] = {}
        self._derived: dict[str, Any] = {}  # what metrics build from the frames (the ledger), kept with them
        self._pinned: Manifest | None = None  # the manifest every frame of this object is read by (no mix)

    def __repr__(self) -> str:
        return f"Practice({self.source.url!r})"

    @property
    def manifest(self) -> Manifest:
        """The manifest this practice's frames are read by, extracting first if nothing is cached."""
        if self._pinned is None:
            self._pinned = self.store.manifest() or self.refresh()
        return self._pinned

    @property
    def name(self) -> str:
        return self.manifest.practice_name or self.source.url

    @property
    def data_as_of(self) -> date:
        """The last day with data: the source's own, else the last day with ledger activity, else the day of the
        extract."""
        manifest = self.manifest
        return date.fromisoformat(manifest.data_as_of or manifest.extracted_at[:10])

    def frame(self, name: str) -> pd.DataFrame:
        """One canonical table (a copy is not made: treat it as read-only)."""
        if name not in model.TABLES:
            model.empty_frame(name)  # raises SchemaError listing the known tables
        if name not in self._frames:
            manifest = self.manifest
            try:
                self._frames[name] = self.store.load(name, manifest)
            except CacheError:
                current = self.store.manifest()
                if current is None or current == manifest:
                    raise
                # the manifest held since this object first read is long replaced: start over from the current
                self._frames, self._derived, self._pinned = {}, {}, current
                self._frames[name] = self.store.load(name, current)
        return self._frames[name]

    def column(self, table: str, name: str) -> pd.Series:
        """One column of a canonical table as cached, read alone while its table is not loaded (a check that
        needs one column does not read a whole table)."""
        if table in self._frames:
            return self._frames[table][name]
        try:
            return self.store.column(table, name, self.manifest)
        except CacheError:
            return self.frame(table)[name]  # the table's own recovery, from a manifest replaced meanwhile

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """What ``build`` makes from this practice's frames, made once while they stay the same (a refresh
        starts over): the aging ledger that several figures of one report share."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every canonical table (the ones not yet read are read side by side: Parquet decoding leaves
        Python's lock)."""
        missing = [name for name in model.TABLES if name not in self._frames]
        if len(missing) > 1:
            manifest = self.manifest
            with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="workbench-load") as pool:
                loading = {name: pool.submit(self.store.load, name, manifest) for name in missing}
            for name, future in loading.items():
                if future.exception() is None and self._pinned == manifest:
                    self._frames.setdefault(name, future.result())
        return {name: self.frame(name) for name in model.TABLES}  # what failed above is read (or said) here

    def refresh(
        self,
        progress: Progress | None = None,
        incremental: bool | None = None,
        check_deletions: bool | None = None,
        lock_timeout: float | None = None,
        allowance: Allowance | None = None,
        allow_overage: bool = True,
    ) -> Manifest:
        """Bring the cache up to date, atomically, as the practice's one writer.

        Incrementally where the source keeps change stamps and a previous extract left watermarks (only
        rows changed since, upserted by key); otherwise, or with ``incremental=False``, a full extract.
        ``incremental=True`` insists. A cache with a file that cannot be read is extracted again in full,
        with one warning.

        An incremental refresh looks for rows deleted at the source (row counts, then keys where the counts
        differ) when ``check_deletions`` is True, not when False, and by default when the last look is older
        than ``DELETIONS_CHECKED_EVERY``: counting every row costs about as much as reading an office's whole
        day of changes. Reports (``workbench report``, ``batch``, scheduled runs) always look.

        Another refresh of the same cache (another process, another machine sharing the folder) is waited
        for, at most ``lock_timeout`` seconds ($WORKBENCH_LOCK_TIMEOUT, default 900); if it brought the
        cache up to date meanwhile, as this call would have, its result is returned.

        Over an API, the calls made and bytes received are added to the month's in the cache's usage log
        (``workbench.usage``). With an ``allowance``, a refresh that the last one of its kind says would take
        the month past it is said first (a warning), or refused (UsageError) unless ``allow_overage``.
        """
        timeout = lock_timeout if lock_timeout is not None else float(os.environ.get(LOCK_TIMEOUT_ENV, "900"))
        before = self._readable_manifest(quiet=True)
        asked = datetime.now(UTC).replace(microsecond=0)
        waited: list[str] = []

        def on_wait(message: str) -> None:
            waited.append(message)
            log.warning("%s: %s", self.source.url, message)

        with self.store.writing(timeout, on_wait):
            previous = self._readable_manifest()
            if (
                waited
                and previous is not None
                and _done_meanwhile(previous, before, asked, incremental, check_deletions)
            ):
                self._frames, self._derived, self._pinned = {}, {}, previous
                return previous
            kind: Kind = "incremental" if previous and previous.watermarks and incremental is not False else "full"
            counted = metered(self.source)
            if counted is not None and allowance is not None:
                self._check_allowance(kind, allowance, allow_overage)
            try:
                manifest = self._refresh(previous, progress, incremental, check_deletions)
            finally:  # calls a failed refresh made are billed too
                if counted is not None:
                    now = metered(self.source) or counted
                    UsageLog(self.store.dir).add(datetime.now(UTC), now[0] - counted[0], now[1] - counted[1], kind)
        self._pinned = manifest
        return manifest

    def _check_allowance(self, kind: Kind, allowance: Allowance, allow_overage: bool) -> None:
        log_file = UsageLog(self.store.dir)
        used, _ = log_file.month(f"{datetime.now(UTC):%Y-%m}")
        estimate = log_file.last(kind)
        if estimate is None or used + estimate <= allowance.calls:
            return
        message = (
            f"{self.source.url}: a {kind} refresh (about {estimate:,} calls, as the last one) would take this "
            f"month's API calls past the allowance ({used:,} of {allowance.calls:,} used)"
        )
        if not allow_overage:
            raise UsageError(f"{message}; run with --allow-overage to refresh anyway")
        log.warning("%s; each call beyond it costs $%s", message, allowance.per_call)

    def _readable_manifest(self, quiet: bool = False) -> Manifest | None:
        """The current manifest if it and every file it names can be read, else None (with one warning):
        what cannot be read is extracted again in full."""
        try:
            manifest = self.store.manifest()
            damaged = self.store.damaged(manifest) if manifest is not None else []
        except CacheError as exc:
            if not quiet:
                log.warning("%s: %s; extracting the practice again in full", self.source.url, exc)
            return None
        if damaged:
            if not quiet:
                log.warning(
                    "%s: cached file %s cannot be read; extracting the practice again in full",
                    self.source.url,
                    self.store.dir / manifest.snapshot / damaged[0],  # type: ignore[union-attr]
                )
            return None
        return manifest

    def _refresh(
        self,
        previous: Manifest | None,
        progress: Progress | None,
        incremental: bool | None,
        check_deletions: bool | None,
    ) -> Manifest:
        stamps = getattr(self.source, "watermarks", None)
        possible = stamps is not None and previous is not None and bool(previous.watermarks)
        if incremental and not possible:
            raise UsageError(f"{self.source.url}: no previous extract with change stamps to refresh from")
        tables = list(model.TABLES)
        self._frames, self._derived = {}, {}
        if possible and incremental is not False:
            assert previous is not None and stamps is not None
            if check_deletions is None:
                check_deletions = _older_than(previous.deletions_checked_at, DELETIONS_CHECKED_EVERY)
            return self._refresh_changes(previous, stamps(tables), progress, check_deletions)
        info = self.source.info()
        marks = stamps(tables) if stamps else {}  # taken before reading: changes during the read are re-read
        frames: dict[str, pd.DataFrame] = {}

        def read() -> Iterator[tuple[str, pd.DataFrame]]:  # a source that can hands each table over as it is read
            each = getattr(self.source, "read_each", None)
            for name, frame in each(tables, progress) if each else self.source.read(tables, progress).items():
                frames[name] = frame
                yield name, frame

        manifest = self.store.save(
            read(),  # each table is written while the next is read
            source=self.source.url,
            system=info.system,
            practice_name=info.practice_name,
            data_as_of=lambda: info.data_as_of.isoformat() if info.data_as_of else _last_ledger_day(frames),
            watermarks=marks,
        )
        self._frames = frames
        return manifest

    def _refresh_changes(
        self, previous: Manifest, marks: dict[str, str], progress: Progress | None, check_deletions: bool
    ) -> Manifest:
        source: Any = self.source
        tracked = {t: previous.watermarks[t] for t in model.TABLES if t in previous.watermarks and t in marks}
        # Counted as of before the changes are read: a row added in between can only cause a needless key
        # check below, never hide a deletion (counted after, it could make up for one).
        largest_first = sorted(tracked, key=lambda t: -previous.rows.get(t, 0))
        counting = _start_counts(source, largest_first) if check_deletions else completed({})
        whole = [t for t in model.TABLES if t not in tracked]
        changed, replaced = _changes_and_whole(source, tracked, whole, progress)
        expected = {  # rows once the changes are in, if nothing was deleted (known before the counts are)
            table: previous.rows[table] + int((~self.store.contains(table, upserts[model.TABLES[table].key])).sum())
            for table, upserts in changed.items()
        }
        counts = counting.result()
        changes, rows = {}, {}
        for table, upserts in changed.items():
            rows[table] = expected[table]
            deleted = np.array([], dtype="int64")
            if check_deletions and counts[table] != expected[table]:  # rows deleted at the source (or added): which?
                ids = upserts[model.TABLES[table].key].to_numpy(dtype="int64")
                merged = union(self.store.keys(table), ids)
                deleted = merged[~member(merged, source.keys(table).dropna().to_numpy(dtype="int64"))]
                rows[table] = len(merged) - len(deleted)
            changes[table] = TableChanges(upserts, pd.Series(deleted, dtype="Int64"))
        as_of = _last_ledger_day(changed, since=previous.data_as_of)
        return self.store.apply(
            changes, replaced, rows=rows, watermarks=marks, data_as_of=as_of, deletions_checked=check_deletions
        )


def _done_meanwhile(
    current: Manifest,
    before: Manifest | None,
    asked: datetime,
    incremental: bool | None,
    check_deletions: bool | None,
) -> bool:
    """Whether the refresh that held the cache while we waited did what this one was asked to do."""
    if datetime.fromisoformat(current.extracted_at) < asked:
        return False
    if incremental is False and before is not None and current.snapshot == before.snapshot:
        return False  # a full extract was asked for; the other refresh was incremental
    checked = current.deletions_checked_at
    return not check_deletions or (checked is not None and datetime.fromisoformat(checked) >= asked)


def _older_than(stamp: str | None, age: timedelta) -> bool:
    """Whether an ISO 8601 time (None: never) lies more than ``age`` in the past."""
    return stamp is None or datetime.now(UTC) - datetime.fromisoformat(stamp) > age


def _start_counts(source: Any, tables: list[str]) -> Future[dict[str, int]]:
    """The source's row counts as of now: in the background where the source can, else counted at once."""
    if hasattr(source, "start_counts"):
        counting: Future[dict[str, int]] = source.start_counts(tables)
        return counting
    return completed(source.counts(tables))


def _changes_and_whole(
    source: Any, tracked: dict[str, str], whole: list[str], progress: Progress | None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The tracked tables' changes and the other tables whole. A source that reads on several connections
    (``connections`` > 1) reads the small whole tables meanwhile; the progress callback is called by one
    thread at a time."""
    if not whole:
        return source.read_changes(tracked, progress=progress), {}
    if getattr(source, "connections", 1) < 2:
        return source.read_changes(tracked, progress=progress), source.read(whole, progress=progress)
    if progress is not None:
        told, one_at_a_time = progress, threading.Lock()

        def progress(table: str, rows: int) -> None:
            with one_at_a_time:
                told(table, rows)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-whole") as pool:
        reading = pool.submit(source.read, whole, progress=progress)
        changed = source.read_changes(tracked, progress=progress)
        return changed, reading.result()


def _last_ledger_day(frames: Mapping[str, pd.DataFrame], since: str | None = None) -> str | None:
    """The last day up to today with ledger activity in ``frames`` (a completed procedure, a patient payment,
    insurance paid as the ledger counts it), or ``since`` if that is later: a copy of the database taken last
    month is "as of" last month."""
    days = [pd.Timestamp(since)] if since else []
    today = pd.Timestamp(date.today())
    for table, column, statuses in LEDGER_DAYS:
        if table in frames:
            rows = frames[table]
            dated = rows[column] if statuses is None else rows[column][rows["status"].isin(statuses)]
            dated = dated[dated <= today]
            days += [dated.max()] if len(dated) else []
    return max(days).date().isoformat() if days else None


def connect(url: str, cache_dir: str | Path | None = None) -> Practice:
    """Open the practice at ``url`` (see ``workbench sources``) with its cache under ``cache_dir``."""
    source = open_source(url)
    return Practice(source, CacheStore(cache_root(cache_dir), cache_key(source.url)))
