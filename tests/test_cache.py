"""The Parquet cache: round trip, refresh, and writes that never leave a half-written cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench import model
from workbench.cache import CacheStore
from workbench.errors import CacheError, SchemaError


def test_round_trip_keeps_every_frame_and_dtype(demo_url: str, tmp_path: Path) -> None:
    first = workbench.connect(demo_url, cache_dir=tmp_path)
    extracted = {name: first.frame(name) for name in model.TABLES}
    second = workbench.connect(demo_url, cache_dir=tmp_path)  # a new process would start like this
    for name, frame in extracted.items():
        pd.testing.assert_frame_equal(second.store.load(name), frame, check_exact=True)
    manifest = second.manifest
    assert manifest.rows == {name: len(f) for name, f in extracted.items()}
    assert manifest.practice_name and manifest.schema_version == model.SCHEMA_VERSION
    assert manifest.source == demo_url


def test_refresh_replaces_the_snapshot_and_removes_the_old_one_after_its_readers(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = workbench.connect(demo_url, cache_dir=tmp_path)
    old = practice.manifest
    reader = workbench.connect(demo_url, cache_dir=tmp_path)
    reader.frame("patients")  # a reader working from the old manifest (a report, the Explorer)
    new = practice.refresh(incremental=False)
    assert new.snapshot != old.snapshot and old.snapshot in new.retired
    assert sorted(p.name for p in practice.store.dir.iterdir() if p.is_dir()) == sorted([old.snapshot, new.snapshot])
    pd.testing.assert_frame_equal(reader.frame("procedures"), reader.store.load("procedures", old))  # no mix
    monkeypatch.setattr(workbench.cache, "RETIRED_GRACE", timedelta(0))  # an hour later
    newer = practice.refresh(incremental=False)
    assert [p.name for p in practice.store.dir.iterdir() if p.is_dir()] == [newer.snapshot]
    assert list(newer.retired) == [new.snapshot] or newer.retired == {}


def test_a_failing_extract_leaves_the_previous_cache_whole(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = workbench.connect(demo_url, cache_dir=tmp_path)
    before = practice.manifest
    procedures = practice.store.load("procedures")

    real = practice.source.read_each

    def broken_read(tables: list[str], progress: object = None) -> Iterator[tuple[str, pd.DataFrame]]:
        for n, pair in enumerate(real(tables, progress)):  # a few tables read (and written), then the server goes
            if n == 3:
                raise ConnectionError("server went away while reading procedures")
            yield pair

    monkeypatch.setattr(practice.source, "read_each", broken_read)
    with pytest.raises(ConnectionError):
        practice.refresh(incremental=False)
    assert practice.store.manifest() == before
    assert not list(practice.store.dir.glob(".*.partial"))  # the tables written meanwhile are gone
    pd.testing.assert_frame_equal(practice.store.load("procedures"), procedures)


def test_a_table_that_breaks_the_model_stops_the_extract_and_keeps_the_cache(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = workbench.connect(demo_url, cache_dir=tmp_path)
    before = practice.manifest
    real = practice.source.read_each

    ended: list[bool] = []

    def duplicated_keys(tables: list[str], progress: object = None) -> Iterator[tuple[str, pd.DataFrame]]:
        try:
            for name, frame in real(tables, progress):
                yield name, (pd.concat([frame, frame.head(1)], ignore_index=True) if name == "patients" else frame)
        finally:
            ended.append(True)

    monkeypatch.setattr(practice.source, "read_each", duplicated_keys)
    with pytest.raises(SchemaError, match=r"patients\.patient_id: 1 duplicate key"):
        practice.refresh(incremental=False)
    assert ended == [True]  # the source's reading was ended (its reader closed) with the refresh
    assert practice.store.manifest() == before
    assert not list(practice.store.dir.glob(".*.partial"))


def test_an_interrupted_write_leaves_the_previous_cache_whole(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = workbench.connect(demo_url, cache_dir=tmp_path)
    before = practice.manifest
    patients = practice.store.load("patients")
    original = pd.DataFrame.to_parquet
    written: list[str] = []

    def dies_on_third_table(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        written.append(str(path))
        if len(written) == 3:
            Path(path).write_bytes(b"PAR1 half a file")
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-write
        original(self, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dies_on_third_table)
    with pytest.raises(KeyboardInterrupt):
        practice.refresh(incremental=False)
    monkeypatch.undo()
    fresh = workbench.connect(demo_url, cache_dir=tmp_path)
    assert fresh.manifest == before
    pd.testing.assert_frame_equal(fresh.store.load("patients"), patients)
    leftovers = [p.name for p in fresh.store.dir.iterdir() if p.name.endswith(".partial")]
    assert leftovers == []


def test_missing_or_corrupt_cache_is_a_clear_error(tmp_path: Path) -> None:
    store = CacheStore(tmp_path, "nothing-here")
    with pytest.raises(CacheError, match="refresh first"):
        store.load("patients")
    store.dir.mkdir(parents=True)
    (store.dir / "manifest.json").write_text("{not json")
    with pytest.raises(CacheError, match="unreadable cache manifest"):
        store.manifest()


def test_an_older_schema_version_is_extracted_again(demo_url: str, tmp_path: Path) -> None:
    practice = workbench.connect(demo_url, cache_dir=tmp_path)
    manifest_path = practice.store.dir / "manifest.json"
    old = practice.manifest
    manifest_path.write_text(
        manifest_path.read_text().replace(f'"schema_version": {model.SCHEMA_VERSION}', '"schema_version": 0')
    )
    again = workbench.connect(demo_url, cache_dir=tmp_path)
    assert again.store.manifest() is None
    assert again.frame("clinics") is not None
    assert again.manifest.snapshot != old.snapshot


def test_refreshes_in_one_process_read_no_key_column_twice(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import sqlite3

    import pyarrow.parquet as pq

    db = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    practice = workbench.connect(f"opendental+sqlite://{db}", cache_dir=tmp_path / "cache")
    practice.refresh()  # files written are remembered as they are written
    read: list[str] = []
    real = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda path, **kw: read.append(str(path)) or real(path, **kw))
    for day in range(3):
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE procedurelog SET ProcFee = ProcFee + 1, DateTStamp = ? WHERE ProcNum % 50 = ?",
                (f"2030-01-0{day + 1} 10:00:00", day),
            )
        practice.refresh(check_deletions=True)
    tracked = practice.manifest.watermarks  # the small tables without stamps are read to compare (kept if same)
    assert [p for p in read if Path(p).name.split(".")[0] in tracked] == []  # every key column came from memory
    monkeypatch.setattr(workbench.cache, "_KEY_COLUMNS", workbench.cache._KeyColumns())  # a new process
    practice.refresh(check_deletions=True)
    assert read and all(Path(p).parent == practice.store.dir / practice.manifest.snapshot for p in read)
    fresh = workbench.connect(f"opendental+sqlite://{db}", cache_dir=tmp_path / "fresh")
    pd.testing.assert_frame_equal(practice.store.load("procedures"), fresh.frame("procedures"))
