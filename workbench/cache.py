"""The on-disk cache: each practice's canonical frames as Parquet files plus a manifest.

Layout under the cache root::

    <key>/manifest.json                      which snapshot is current, its files, rows and watermarks
    <key>/<snapshot>/<table>.parquet         a table's rows at the last full extract
    <key>/<snapshot>/<table>.<n>.upserts.parquet / .deletes.parquet   later incremental changes
    <key>/<snapshot>/<table>.<n>.merged[-deletes].parquet / .base.parquet   change files merged, every 16th

    <key>/.lock                              held by the one process writing this practice's cache

One writer at a time: a refresh holds ``.lock`` (``workbench.locks``: released by the kernel however the
writer ends) from its first read of the manifest to its last removal; a second writer waits, bounded.
A full refresh writes a complete new snapshot directory, then replaces ``manifest.json`` in one atomic
rename. An incremental refresh adds new, uniquely named change files to the current snapshot (no file is
ever rewritten under its name) and then replaces the manifest the same way. A refresh that fails or is
interrupted at any point therefore leaves the previous cache whole and current.

Readers never lock: they read the manifest once and then only the files it names. Files a new manifest no
longer names are "retired" in it and removed only ``RETIRED_GRACE`` later, so a reader still working from
the previous manifest finds every file it names. Files that no manifest names (left by a writer that was
killed) are removed by the next writer, which holds the lock, so no running refresh can own them.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench import model
from workbench.errors import CacheError
from workbench.files import write_atomically
from workbench.keys import member, union
from workbench.locks import exclusive
from workbench.usage import USAGE_FILE

__all__ = ["CacheStore", "Manifest", "TableChanges"]

MANIFEST = "manifest.json"
LOCK = ".lock"
RETIRED_GRACE = timedelta(hours=1)  # how long files a manifest stopped naming stay for readers of the old one
COMPACT_AFTER = 16  # incremental steps per table before its change files are merged
REWRITE_BASE_AT = 0.25  # rows in change files, as a share of the base's rows, from which a merge rewrites the base


@dataclass(frozen=True)
class Manifest:
    """What a cached snapshot holds and where it came from (never a secret)."""

    source: str
    system: str
    practice_name: str | None
    extracted_at: str  # ISO 8601, UTC, of the last refresh (full or incremental)
    data_as_of: str | None  # ISO date: last day with data, where the source knows it
    schema_version: int
    snapshot: str
    rows: dict[str, int] = field(default_factory=dict)
    # per table, the steps to replay: [{"upserts": file, "deletes": file or None}, ...]; the first is the base
    files: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    watermarks: dict[str, str] = field(default_factory=dict)  # per table, the source's change cursor
    deletions_checked_at: str | None = None  # ISO 8601, UTC: when rows deleted at the source were last looked for
    # paths (relative to the practice's folder) that earlier manifests named and this one does not, with
    # the time they were retired: removed RETIRED_GRACE later, when no reader can still be using them
    retired: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class TableChanges:
    """Rows changed at the source since the last refresh, and keys deleted there."""

    upserts: pd.DataFrame
    deleted: pd.Series  # key values


class CacheStore:
    """Parquet snapshots of one practice's canonical frames, with atomic replacement."""

    def __init__(self, root: Path, key: str) -> None:
        self.dir = Path(root) / key

    def manifest(self) -> Manifest | None:
        """The current manifest, or None when nothing usable is cached (absent or older schema)."""
        path = self.dir / MANIFEST
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
        except (ValueError, OSError) as exc:
            raise CacheError(f"unreadable cache manifest {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise CacheError(f"unreadable cache manifest {path}: not a JSON object")
        if raw.get("schema_version") != model.SCHEMA_VERSION:
            return None
        try:
            return Manifest(**raw)
        except TypeError as exc:
            raise CacheError(f"unreadable cache manifest {path}: {exc}") from None

    @contextmanager
    def writing(self, timeout: float, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Be this practice's one writer (see the module docstring); wait at most ``timeout`` seconds."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with exclusive(self.dir / LOCK, timeout, f"the cache at {self.dir}", on_wait):
            yield

    def damaged(self, manifest: Manifest) -> list[str]:
        """The files ``manifest`` names that cannot be read (missing, truncated, not Parquet)."""
        bad = []
        for steps in manifest.files.values():
            for name in (f for step in steps for f in step.values() if f):
                try:
                    pq.read_metadata(self.dir / manifest.snapshot / name)
                except (OSError, ValueError):
                    bad.append(name)
        return bad

    def load(self, table: str, manifest: Manifest | None = None) -> pd.DataFrame:
        """One cached canonical frame: its base file with every later change applied, as ``manifest`` (by
        default the current one) says."""
        manifest = manifest or self._require(table)
        if table not in manifest.files:
            raise CacheError(f"table {table!r} is not in the cache at {self.dir}; refresh first")
        # keys were checked when the rows were written (``save``, ``apply``): not again on every read
        frame = self._merged(manifest, table, manifest.files[table]).to_pandas()
        return model.conform(table, frame, check_keys=False)

    def column(self, table: str, name: str, manifest: Manifest | None = None) -> pd.Series:
        """One column of a cached table as it is stored (reads that column and the keys only)."""
        manifest = manifest or self._require(table)
        if table not in manifest.files:
            raise CacheError(f"table {table!r} is not in the cache at {self.dir}; refresh first")
        return self._merged(manifest, table, manifest.files[table], [name]).column(0).to_pandas().rename(name)

    def keys(self, table: str) -> np.ndarray:
        """The cached key values of one table, sorted (reads key columns only, replays no rows)."""
        manifest = self._require(table)
        return union(*(keys[live] for keys, live in self._live(manifest, table, manifest.files[table])))

    def contains(self, table: str, keys: pd.Series) -> np.ndarray:
        """Which of ``keys`` the cached table holds now (reads key columns only, replays no rows)."""
        manifest = self._require(table)
        key = model.TABLES[table].key
        wanted = keys.to_numpy(dtype="int64")
        steps = manifest.files[table]
        present = member(wanted, self._key_array(manifest, steps[0]["upserts"], key))
        for step in steps[1:]:
            if step["deletes"]:
                present &= ~member(wanted, self._key_array(manifest, step["deletes"], key))
            present |= member(wanted, self._key_array(manifest, step["upserts"], key))
        return present

    def _key_array(self, manifest: Manifest, name: str | None, key: str) -> np.ndarray:
        path = self.dir / manifest.snapshot / str(name)
        try:
            return _KEY_COLUMNS.get(path, key)
        except (OSError, ValueError) as exc:
            raise CacheError(f"cannot read cached file {path} ({exc}); the next refresh extracts it again") from None

    def _require(self, table: str) -> Manifest:
        manifest = self.manifest()
        if manifest is None or table not in manifest.files:
            raise CacheError(f"table {table!r} is not in the cache at {self.dir}; refresh first")
        return manifest

    def _merged(
        self, manifest: Manifest, table: str, steps: list[dict[str, str | None]], columns: list[str] | None = None
    ) -> pa.Table:
        """The rows of ``steps`` (the first as a base) with every later change applied, in key order, in
        Arrow: the rows no later step replaced or deleted are picked from all files in one pass."""
        parts = [self._read(manifest, step["upserts"], columns) for step in steps]
        if len(parts) == 1:
            return parts[0]
        live = self._live(manifest, table, steps)
        keys = np.concatenate([keys for keys, _ in live])
        rows = np.flatnonzero(np.concatenate([alive for _, alive in live]))
        return pa.concat_tables(parts).take(rows[np.argsort(keys[rows], kind="stable")])

    def _live(
        self, manifest: Manifest, table: str, steps: list[dict[str, str | None]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per step (the first as a base): its upserts file's keys, and which of its rows are still live,
        i.e. no later step replaced or deleted them (a step's deletes come before its own upserts)."""
        key = model.TABLES[table].key
        live = []
        later = np.array([], dtype="int64")  # keys a later step replaced or deleted
        for step in reversed(steps):
            keys = self._key_array(manifest, step["upserts"], key)
            live.append((keys, ~member(keys, later)))
            later = union(later, *(self._key_array(manifest, n, key) for n in (step["upserts"], step["deletes"]) if n))
        return live[::-1]

    def _read(self, manifest: Manifest, name: str | None, columns: list[str] | None = None) -> pa.Table:
        path = self.dir / manifest.snapshot / str(name)
        try:
            return pq.read_table(path, columns=columns)
        except (OSError, ValueError) as exc:
            raise CacheError(f"cannot read cached file {path} ({exc}); the next refresh extracts it again") from None

    def save(
        self,
        frames: Iterable[tuple[str, pd.DataFrame]],
        *,
        source: str,
        system: str,
        practice_name: str | None,
        data_as_of: Callable[[], str | None],
        watermarks: Mapping[str, str] | None = None,
    ) -> Manifest:
        """Write ``frames``, (name, frame) pairs as a source reads them, as a new snapshot and make it current,
        atomically: each frame is checked and written in a thread of its own while the next is read.
        ``data_as_of`` is asked for the last day with data once every frame is in. A frame that breaks the model,
        or a read that fails, leaves the current snapshot as it was.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        snapshot = _stamp() + "-" + uuid.uuid4().hex[:8]
        staging = self.dir / f".{snapshot}.partial"
        staging.mkdir()
        written: dict[str, pd.DataFrame] = {}
        writing: list[Future[None]] = []
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-write") as writer:
                try:
                    for name, frame in frames:
                        if any(future.done() and future.exception() for future in writing):
                            break  # a frame broke the model: read no more
                        written[name] = frame
                        writing.append(writer.submit(_checked_write, staging / f"{name}.parquet", name, frame))
                except BaseException:
                    for future in writing:
                        future.cancel()  # a read failed: nothing more is written
                    raise
                finally:
                    getattr(frames, "close", lambda: None)()  # a source's reader left mid-way is closed now
                for future in writing:
                    future.result()  # the first error of a write
            staging.rename(self.dir / snapshot)
            for name, frame in written.items():
                _KEY_COLUMNS.remember(self.dir / snapshot / f"{name}.parquet", model.TABLES[name].key, frame)
            manifest = Manifest(
                source=source,
                system=system,
                practice_name=practice_name,
                extracted_at=_now(),
                data_as_of=data_as_of(),
                schema_version=model.SCHEMA_VERSION,
                snapshot=snapshot,
                rows={name: len(frame) for name, frame in written.items()},
                files={name: [{"upserts": f"{name}.parquet", "deletes": None}] for name in written},
                watermarks=dict(watermarks or {}),
                deletions_checked_at=_now(),  # a full extract holds no deleted row
            )
            previous = self._previous()
            manifest = self._commit(manifest, previous)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._remove_unnamed(manifest)
        return manifest

    def _previous(self) -> Manifest | None:
        """The current manifest if it can be read (a damaged one is being replaced)."""
        try:
            return self.manifest()
        except CacheError:
            return None

    def apply(
        self,
        changes: Mapping[str, TableChanges],
        replaced: Mapping[str, pd.DataFrame],
        *,
        rows: Mapping[str, int],
        watermarks: Mapping[str, str],
        data_as_of: str | None,
        deletions_checked: bool,
    ) -> Manifest:
        """Add incremental ``changes`` (and whole ``replaced`` tables) to the current snapshot, atomically.

        ``rows``: each changed table's row count once the changes are applied (the caller knows its keys).
        ``deletions_checked``: the changes include every row deleted at the source (the caller looked).
        A replaced table equal to the cached one keeps its file (the small tables read whole each time).
        """
        manifest = self.manifest()
        if manifest is None:
            raise CacheError(f"nothing cached at {self.dir} to refresh incrementally")
        folder = self.dir / manifest.snapshot
        step = _stamp() + "-" + uuid.uuid4().hex[:6]
        files = {name: list(steps) for name, steps in manifest.files.items()}
        counts = {**manifest.rows, **rows}
        for name, frame in replaced.items():
            if self._holds(manifest, name, frame):
                continue
            model.validate(name, frame)
            _write(folder / f"{name}.{step}.parquet", name, frame)
            files[name] = [{"upserts": f"{name}.{step}.parquet", "deletes": None}]
            counts[name] = len(frame)
        for name, change in changes.items():
            model.validate(name, change.upserts)
            key = model.TABLES[name].key
            if len(files[name]) >= COMPACT_AFTER:  # merge the steps so loads stay fast
                files[name] = self._compact(manifest, name, files[name], f"{name}.{step}")
            upserts = f"{name}.{step}.upserts.parquet"
            _write(folder / upserts, name, change.upserts)
            deletes = None
            if len(change.deleted):
                deletes = f"{name}.{step}.deletes.parquet"
                gone = pd.DataFrame({key: change.deleted.astype(model.TABLES[name].columns[key])})
                _write(folder / deletes, name, gone)
            files[name].append({"upserts": upserts, "deletes": deletes})
        updated = replace(
            manifest,
            deletions_checked_at=_now() if deletions_checked else manifest.deletions_checked_at,
            extracted_at=_now(),
            data_as_of=data_as_of,
            files=files,
            rows=counts,
            watermarks=dict(watermarks),
        )
        updated = self._commit(updated, manifest)
        self._remove_unnamed(updated)
        return updated

    def _holds(self, manifest: Manifest, table: str, frame: pd.DataFrame) -> bool:
        """Whether the cached ``table`` is ``frame``, row for row (a table read whole that did not change)."""
        steps = manifest.files.get(table)
        if (
            not steps
            or len(steps) > 1
            or pq.read_metadata(self.dir / manifest.snapshot / str(steps[0]["upserts"])).num_rows != len(frame)
        ):
            return False
        return self.load(table, manifest).equals(frame)

    def _compact(
        self, manifest: Manifest, table: str, steps: list[dict[str, str | None]], prefix: str
    ) -> list[dict[str, str | None]]:
        """The steps of ``table`` in fewer files: the change files merged into one while they hold fewer
        rows than ``REWRITE_BASE_AT`` of the base (the base is read again only then), else everything."""
        folder = self.dir / manifest.snapshot
        key = model.TABLES[table].key
        changed = sum(pq.read_metadata(folder / str(s["upserts"])).num_rows for s in steps[1:])
        if changed >= REWRITE_BASE_AT * pq.read_metadata(folder / str(steps[0]["upserts"])).num_rows:
            _write(folder / f"{prefix}.base.parquet", table, self._merged(manifest, table, steps))
            return [{"upserts": f"{prefix}.base.parquet", "deletes": None}]
        _write(folder / f"{prefix}.merged.parquet", table, self._merged(manifest, table, steps[1:]))
        gone = [self._key_array(manifest, s["deletes"], key) for s in steps[1:] if s["deletes"]]
        deletes = None
        if gone:  # deletes are applied before upserts: a key deleted, then added again, stays
            deletes = f"{prefix}.merged-deletes.parquet"
            _write(folder / deletes, table, pd.DataFrame({key: pd.array(union(*gone), dtype="Int64")}))
        return [steps[0], {"upserts": f"{prefix}.merged.parquet", "deletes": deletes}]

    def _commit(self, manifest: Manifest, previous: Manifest | None) -> Manifest:
        """Make ``manifest`` current: what ``previous`` named and it does not is retired (kept for readers
        of ``previous``), what was retired over RETIRED_GRACE ago is dropped from the list."""
        now = datetime.now(UTC)
        retired = dict(previous.retired) if previous else {}
        if previous is not None:
            named = _named(manifest)
            for path in _named(previous) - named:
                retired.setdefault(path, _now())
            if previous.snapshot != manifest.snapshot:
                retired.setdefault(previous.snapshot, _now())
        kept = {p: t for p, t in retired.items() if now - datetime.fromisoformat(t) <= RETIRED_GRACE}
        manifest = replace(manifest, retired=kept)
        write_atomically(self.dir / MANIFEST, json.dumps(asdict(manifest), indent=2))
        return manifest

    def _remove_unnamed(self, manifest: Manifest) -> None:
        """Remove what ``manifest`` neither names nor keeps retired: expired retirements and what writers
        that were killed left behind (only the lock holder calls this, so no running writer owns any)."""
        keep = _named(manifest) | set(manifest.retired)
        for child in self.dir.iterdir():
            if child.name in (MANIFEST, LOCK, USAGE_FILE):  # the usage log lives beside the manifest
                continue
            if child.is_dir() and child.name == manifest.snapshot:
                for file in child.iterdir():
                    if f"{child.name}/{file.name}" not in keep:
                        file.unlink(missing_ok=True)
            elif child.name not in keep:
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)


def _named(manifest: Manifest) -> set[str]:
    """The files ``manifest`` names, relative to the practice's folder."""
    return {f"{manifest.snapshot}/{f}" for steps in manifest.files.values() for s in steps for f in s.values() if f}


class _KeyColumns:
    """Key columns of cached files, kept in memory (least recently used out): a process that refreshes
    again reads only files it has not seen. Files are never rewritten under the same name; size and time
    are checked all the same. Files this process writes are remembered as they are written."""

    def __init__(self, budget_bytes: int = 256 * 2**20) -> None:
        self._arrays: OrderedDict[tuple[str, str], tuple[tuple[int, int], np.ndarray]] = OrderedDict()
        self._budget = budget_bytes  # 32 million keys: a refresh touches every file of a practice in turn
        self._lock = threading.Lock()  # the Explorer may refresh from a widget callback's thread

    def get(self, path: Path, key: str) -> np.ndarray:
        stat = path.stat()
        with self._lock:
            held = self._arrays.get((str(path), key))
        if held is not None and held[0] == (stat.st_size, stat.st_mtime_ns):
            with self._lock:
                self._arrays.move_to_end((str(path), key))
            return held[1]
        with pq.ParquetFile(path) as file:  # lighter than pq.read_table for the many small change files
            keys = file.read(columns=[key]).column(0).drop_null().to_numpy()
        self._put(path, key, keys, stat)
        return keys

    def remember(self, path: Path, key: str, data: pd.DataFrame | pa.Table) -> None:
        """The key column of ``data``, just written to ``path``."""
        column = data[key] if isinstance(data, pd.DataFrame) else data.column(key).to_pandas()
        self._put(path, key, column.dropna().to_numpy(dtype="int64"), path.stat())

    def _put(self, path: Path, key: str, keys: np.ndarray, stat: os.stat_result) -> None:
        keys.flags.writeable = False
        with self._lock:
            self._arrays[(str(path), key)] = ((stat.st_size, stat.st_mtime_ns), keys)
            self._arrays.move_to_end((str(path), key))
            while sum(keys.nbytes for _, keys in self._arrays.values()) > self._budget and len(self._arrays) > 1:
                self._arrays.popitem(last=False)


_KEY_COLUMNS = _KeyColumns()


def _checked_write(path: Path, table: str, frame: pd.DataFrame) -> None:
    """A whole table, checked against the model (keys included), as one Parquet file."""
    model.validate(table, frame)
    _parquet(path, table, frame)


def _write(path: Path, table: str, data: pd.DataFrame | pa.Table) -> None:
    """One Parquet file of a canonical table's rows (or keys), its key column remembered."""
    _parquet(path, table, data)
    _KEY_COLUMNS.remember(path, model.TABLES[table].key, data)


def _parquet(path: Path, table: str, data: pd.DataFrame | pa.Table) -> None:
    """``data`` as Parquet: the key column (distinct integers, mostly in order) delta-encoded, the others
    dictionary-encoded. Measured on the 30,000 x 10 demo's largest tables against dictionary encoding for all:
    files 31 % smaller, written 10-15 % faster, the key column read 6x faster (refreshes read only keys)."""
    key = model.TABLES[table].key
    names = list(data.columns) if isinstance(data, pd.DataFrame) else data.column_names
    options: dict[str, Any] = {
        "use_dictionary": [name for name in names if name != key],
        "column_encoding": {key: "DELTA_BINARY_PACKED"},
    }
    if isinstance(data, pd.DataFrame):
        data.to_parquet(path, index=False, **options)
    else:
        pq.write_table(data, path, **options)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
