"""Incremental refresh: only rows changed since the watermark, upserted by key; deletions found by keys."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench import model
from workbench.cache import COMPACT_AFTER, CacheStore
from workbench.errors import SourceError, UsageError
from workbench.sources.opendental_sql import OpenDentalSQL
from workbench.sources.sql import DbApiReader, Query, read_together

LATER = "2030-01-01 00:00:00"  # a change stamp after everything in the demo


@pytest.fixture()
def practice_copy(demo_db: Path, tmp_path: Path) -> tuple[Path, workbench.Practice]:
    copy = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    practice = workbench.connect(f"opendental+sqlite://{copy}", cache_dir=tmp_path / "cache")
    practice.refresh()
    return copy, practice


def add_procedure(conn: sqlite3.Connection, stamp: str) -> None:
    """A completed procedure added at the office, after every other (its change stamp ``stamp``)."""
    top = conn.execute("SELECT MAX(ProcNum) FROM procedurelog").fetchone()[0]
    conn.execute(
        "INSERT INTO procedurelog (ProcNum, PatNum, AptNum, ProcDate, ProcFee, ProcStatus, ProvNum, "
        "ClinicNum, CodeNum, UnitQty, BaseUnits, DateTP, DateTStamp) "
        "VALUES (?, 1, 0, '2026-10-30', 99, 2, 1, 1, 1, 1, 0, '2026-10-30', ?)",
        (top + 1, stamp),
    )


def _change_one_percent(db: Path, stamp: str = LATER) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        changed = conn.execute(
            "UPDATE procedurelog SET ProcFee = ProcFee + 1, DateTStamp = ? WHERE ProcNum % 100 = 0", (stamp,)
        ).rowcount
        conn.execute("UPDATE patient SET LName = 'Renamed', DateTStamp = ? WHERE PatNum = 7", (stamp,))
        add_procedure(conn, stamp)
        gone = conn.execute("DELETE FROM paysplit WHERE SplitNum IN (SELECT SplitNum FROM paysplit LIMIT 3)").rowcount
        conn.execute("DELETE FROM procedurelog WHERE ProcNum = 5")  # deleted without any stamp changing
    return {"changed": changed, "deleted_splits": gone}


def _assert_cache_equals_full_extract(practice: workbench.Practice, db: Path, tmp_path: Path) -> None:
    fresh = workbench.connect(f"opendental+sqlite://{db}", cache_dir=tmp_path / "fresh")
    for table in model.TABLES:
        pd.testing.assert_frame_equal(practice.store.load(table), fresh.frame(table), check_exact=True, obj=table)
    assert practice.store.manifest().rows == {t: len(fresh.frame(t)) for t in model.TABLES}


def test_incremental_refresh_equals_a_full_extract(
    practice_copy: tuple[Path, workbench.Practice], tmp_path: Path
) -> None:
    db, practice = practice_copy
    before = practice.manifest
    overlap_start = (pd.Timestamp(before.watermarks["procedures"]) - pd.Timedelta(seconds=60)).strftime("%F %T")
    with sqlite3.connect(db) as conn:  # rows the one-minute overlap reads again
        overlap = conn.execute(
            "SELECT COUNT(*) FROM procedurelog WHERE DateTStamp >= ? AND ProcNum % 100 <> 0 AND ProcNum <> 5",
            (overlap_start,),
        ).fetchone()[0]
    done = _change_one_percent(db)
    seen: dict[str, int] = {}
    after = practice.refresh(progress=lambda table, rows: seen.__setitem__(table, rows), check_deletions=True)
    assert after.snapshot == before.snapshot  # changes were added, not a new full snapshot
    assert after.watermarks["procedures"] == LATER
    assert seen["procedures"] == done["changed"] + 1 + overlap  # only changed rows (+ the new one) were read
    assert 1 <= seen["patients"] < 20  # the renamed patient (+ any in the overlap minute)
    assert len(after.files["procedures"]) == 2 and after.files["procedures"][1]["deletes"]
    _assert_cache_equals_full_extract(practice, db, tmp_path)
    assert practice.frame("patients").set_index("patient_id").loc[7, "last_name"] == "Renamed"


def test_nothing_changed_reads_nothing_new(practice_copy: tuple[Path, workbench.Practice], tmp_path: Path) -> None:
    db, practice = practice_copy
    seen: dict[str, int] = {}
    practice.refresh(progress=lambda table, rows: seen.__setitem__(table, rows))
    # the overlap re-reads the last minute of changes; nothing older
    assert seen["procedures"] < 50
    _assert_cache_equals_full_extract(practice, db, tmp_path)


def test_a_table_read_whole_keeps_its_file_until_it_changes(
    practice_copy: tuple[Path, workbench.Practice], tmp_path: Path
) -> None:
    db, practice = practice_copy
    before = practice.manifest
    after = practice.refresh()
    untracked = [t for t in model.TABLES if t not in before.watermarks]
    assert "providers" in untracked and "patient_plans" in untracked
    assert {t: after.files[t] for t in untracked} == {t: before.files[t] for t in untracked}  # no file rewritten
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE provider SET LName = 'Newname' WHERE ProvNum = (SELECT MIN(ProvNum) FROM provider)")
    changed = practice.refresh()
    assert changed.files["providers"] != before.files["providers"]
    assert {t: changed.files[t] for t in untracked if t != "providers"} == {
        t: before.files[t] for t in untracked if t != "providers"
    }
    assert practice.frame("providers")["name"].str.contains("Newname").sum() == 1
    _assert_cache_equals_full_extract(practice, db, tmp_path)


def test_many_refreshes_are_compacted(practice_copy: tuple[Path, workbench.Practice], tmp_path: Path) -> None:
    db, practice = practice_copy
    for i in range(COMPACT_AFTER + 2):
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE procedurelog SET ProcFee = ProcFee + 1, DateTStamp = ? WHERE ProcNum = ?",
                (f"2030-01-{i + 1:02d} 00:00:00", 10 + i),
            )
        manifest = practice.refresh()
    assert len(manifest.files["procedures"]) <= COMPACT_AFTER
    leftover = {p.name for p in (practice.store.dir / manifest.snapshot).iterdir()}
    named = {f for steps in manifest.files.values() for s in steps for f in s.values() if f}
    retired = {p.split("/", 1)[1] for p in manifest.retired}
    assert leftover == named | retired and not named & retired  # no orphaned change files
    assert any(name.startswith("procedures.") for name in retired)  # merged away, kept an hour for readers
    _assert_cache_equals_full_extract(practice, db, tmp_path)


def test_a_failing_incremental_refresh_leaves_the_cache_whole(
    practice_copy: tuple[Path, workbench.Practice], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, practice = practice_copy
    before = practice.store.manifest()
    procedures = practice.store.load("procedures")
    _change_one_percent(db)
    original = pd.DataFrame.to_parquet
    calls: list[str] = []

    def dies_on_second_file(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        calls.append(str(path))
        if len(calls) == 2:
            raise OSError("disk full")
        original(self, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dies_on_second_file)
    with pytest.raises(OSError, match="disk full"):
        practice.refresh()
    monkeypatch.undo()
    assert practice.store.manifest() == before
    pd.testing.assert_frame_equal(practice.store.load("procedures"), procedures)


def test_insisting_on_incremental_without_a_previous_extract(demo_url: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no previous extract"):
        workbench.connect(demo_url, cache_dir=tmp_path).refresh(incremental=True)


def test_a_row_added_during_the_refresh_cannot_hide_a_deletion(
    practice_copy: tuple[Path, workbench.Practice], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, practice = practice_copy
    with sqlite3.connect(db) as conn:
        gone = conn.execute("SELECT MIN(SplitNum) FROM paysplit").fetchone()[0]
        conn.execute("DELETE FROM paysplit WHERE SplitNum = ?", (gone,))
    read_changes = practice.source.read_changes  # type: ignore[attr-defined]

    def office_adds_a_split_meanwhile(*args: object, **kwargs: object) -> dict[str, pd.DataFrame]:
        frames: dict[str, pd.DataFrame] = read_changes(*args, **kwargs)
        with sqlite3.connect(db) as conn:  # one split out, one in: equal counts if counted now
            conn.execute(
                "INSERT INTO paysplit (SplitNum, SplitAmt, PatNum, PayNum, ProvNum, DatePay, ProcNum, DateEntry, "
                "UnearnedType, ClinicNum, SecDateTEdit) "
                "SELECT MAX(SplitNum) + 1, 10, 1, 1, 1, '2026-10-30', 0, '2026-10-30', 0, 1, ? FROM paysplit",
                (LATER,),
            )
        return frames

    monkeypatch.setattr(practice.source, "read_changes", office_adds_a_split_meanwhile)
    practice.refresh(check_deletions=True)
    assert gone not in set(practice.frame("patient_payments")["split_id"])
    monkeypatch.undo()
    practice.refresh(check_deletions=True)  # the split added during the last refresh arrives with this one
    _assert_cache_equals_full_extract(practice, db, tmp_path)


def test_deletions_are_looked_for_when_the_last_look_is_an_hour_old(
    practice_copy: tuple[Path, workbench.Practice], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, practice = practice_copy
    looked = practice.store.manifest().deletions_checked_at
    assert looked is not None  # the full extract holds no deleted row
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM adjustment WHERE AdjNum = (SELECT MIN(AdjNum) FROM adjustment)")
    rows = practice.store.manifest().rows["adjustments"]
    counted: list[list[str]] = []
    counts = practice.source.counts  # type: ignore[attr-defined]
    monkeypatch.setattr(practice.source, "counts", lambda tables: counted.append(tables) or counts(tables))

    assert practice.refresh().deletions_checked_at == looked  # within the hour: no count, the row stays
    assert practice.refresh(check_deletions=False).rows["adjustments"] == rows
    assert counted == [] and len(practice.frame("adjustments")) == rows

    monkeypatch.setattr(workbench.practice, "DELETIONS_CHECKED_EVERY", pd.Timedelta(0).to_pytimedelta())
    after = practice.refresh()  # the last look is now too old: this refresh looks
    assert counted and after.deletions_checked_at is not None and after.deletions_checked_at >= looked
    assert after.rows["adjustments"] == rows - 1
    _assert_cache_equals_full_extract(practice, db, tmp_path)


@pytest.mark.parametrize("rewrite_base_at", [1.0, 0.0], ids=["change files merged", "base rewritten"])
def test_merging_steps_keeps_deletions_and_rows_added_again(
    practice_copy: tuple[Path, workbench.Practice],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rewrite_base_at: float,
) -> None:
    monkeypatch.setattr(workbench.cache, "REWRITE_BASE_AT", rewrite_base_at)
    db, practice = practice_copy
    base = practice.store.manifest().files["patient_payments"][0]
    with sqlite3.connect(db) as conn:
        first = conn.execute("SELECT SplitNum FROM paysplit ORDER BY SplitNum LIMIT 1").fetchone()[0]
        saved = conn.execute("SELECT * FROM paysplit WHERE SplitNum = ?", (first,)).fetchone()
    for day in range(COMPACT_AFTER + 1):
        stamp = f"2030-01-{day + 1:02d} 00:00:00"
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE paysplit SET SplitAmt = SplitAmt + 1, SecDateTEdit = ? WHERE SplitNum % 97 = ?", (stamp, day)
            )
            conn.execute("DELETE FROM paysplit WHERE SplitNum = ?", (first + 1 + day,))  # one split gone a day
            if day == 2:
                conn.execute("DELETE FROM paysplit WHERE SplitNum = ?", (first,))
            if day == 5:  # the split deleted on day 2 comes back (same key), changed
                conn.execute(
                    f"INSERT INTO paysplit VALUES ({', '.join('?' * len(saved))})",
                    (*saved[:-1], stamp),
                )
        manifest = practice.refresh(check_deletions=True)
    files = manifest.files["patient_payments"]
    assert len(files) < COMPACT_AFTER
    assert (files[0] == base) == (rewrite_base_at == 1.0)  # the base is read again only when it must be
    assert first in set(practice.store.load("patient_payments")["split_id"])
    assert first + 1 not in set(practice.store.load("patient_payments")["split_id"])
    _assert_cache_equals_full_extract(practice, db, tmp_path)


class _CountedReaders:
    """sqlite3 readers of one file whose opening and closing threads are noted (sqlite3 refuses a connection
    used or closed outside the thread that opened it, so a reader handed across threads fails loudly)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.opened: list[int] = []
        self.closed: list[int] = []

    def __call__(self) -> DbApiReader:
        counted = self

        class Reader(DbApiReader):
            def close(self) -> None:
                super().close()
                counted.closed.append(threading.get_ident())

        self.opened.append(threading.get_ident())
        return Reader(sqlite3.connect(self.db))


def test_changes_read_on_several_connections_equal_a_full_extract(
    practice_copy: tuple[Path, workbench.Practice], tmp_path: Path
) -> None:
    db, _ = practice_copy
    readers = _CountedReaders(db)
    source = OpenDentalSQL(readers, f"opendental+sqlite://{db}", "Open Dental (test)", connections=3)
    practice = workbench.Practice(source, CacheStore(tmp_path / "parallel", "parallel"))
    practice.refresh()
    done = _change_one_percent(db)
    readers.opened.clear()
    readers.closed.clear()
    seen: list[tuple[str, str]] = []
    practice.refresh(
        progress=lambda table, rows: seen.append((table, threading.current_thread().name)), check_deletions=True
    )
    # the nine tracked tables' changes on three readers at once, the untracked tables whole meanwhile on a
    # fourth; progress told in the caller's thread and the one reading whole tables, one table at a time
    assert len(set(readers.opened) - {threading.get_ident()}) == 4
    assert {name for _, name in seen} == {threading.current_thread().name, "workbench-whole_0"}
    seen_tables = [table for table, _ in seen]
    assert sorted(seen_tables) == sorted(model.TABLES)
    assert sorted(readers.opened) == sorted(readers.closed)  # every reader closed, in the thread that opened it
    assert done["changed"] > 0
    _assert_cache_equals_full_extract(practice, db, tmp_path)


def test_a_failing_query_among_parallel_reads_is_raised_and_every_reader_closed(demo_db: Path) -> None:
    readers = _CountedReaders(demo_db)
    queries: dict[str, Query] = {f"q{n}": ("SELECT PatNum FROM patient WHERE PatNum > ?", [n]) for n in range(6)}
    queries["broken"] = ("SELECT no_such_column FROM patient", [])
    with pytest.raises(SourceError, match="no_such_column"):
        list(read_together(readers, queries, connections=2))
    for _ in range(100):  # a reader still in its query closes when that ends
        if len(readers.closed) == len(readers.opened):
            break
        time.sleep(0.05)
    assert len(readers.opened) == 2 and sorted(readers.opened) == sorted(readers.closed)
    del queries["broken"]
    together = dict(read_together(readers, queries, connections=4))
    one_by_one = dict(read_together(readers, queries, connections=1))
    assert list(one_by_one) == list(queries) and set(together) == set(queries)
    for name, frame in one_by_one.items():
        pd.testing.assert_frame_equal(together[name], frame, obj=name)
    assert len(together["q0"]) == len(together["q5"]) + 5  # each query's own parameter was bound
