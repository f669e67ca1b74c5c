"""One writer per practice cache: refreshes started together, a writer killed with -9, a damaged cache.

Each refresh here is a real ``workbench refresh`` process on the same cache folder, as cron, a consultant's
terminal and a batch would start them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import workbench
from tests.test_incremental import _assert_cache_equals_full_extract, add_procedure
from workbench.locks import exclusive

TRIALS = 3


def _workbench(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _office_day(db: Path, day: int) -> None:
    """An office's day at the source: fees changed, a procedure added, one deleted."""
    stamp = f"2030-02-{day:02d} 12:00:00"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE procedurelog SET ProcFee = ProcFee + 1, DateTStamp = ? WHERE ProcNum % 40 = ?", (stamp, day)
        )
        add_procedure(conn, stamp)
        conn.execute("DELETE FROM adjustment WHERE AdjNum = (SELECT MIN(AdjNum) FROM adjustment)")


@pytest.fixture()
def copy(demo_db: Path, tmp_path: Path) -> tuple[Path, str, Path]:
    db = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    cache = tmp_path / "cache"
    url = f"opendental+sqlite://{db}"
    workbench.connect(url, cache_dir=cache).refresh()
    return db, url, cache


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_two_refreshes_at_once_end_with_the_cache_of_a_fresh_extract(
    copy: tuple[Path, str, Path], tmp_path: Path, mode: str
) -> None:
    db, url, cache = copy
    extra = ["--check-deletions"] if mode == "incremental" else ["--full"]
    waited = 0
    for trial in range(1, TRIALS + 1):
        _office_day(db, trial)
        both = [_workbench("refresh", "--source", url, "--cache-dir", str(cache), *extra) for _ in range(2)]
        results = [(p.wait(timeout=180), *p.communicate()) for p in both]
        for code, _, err in results:
            assert code == 0, err
        waited += sum("waiting for pid" in err for _, _, err in results)
        practice = workbench.connect(url, cache_dir=cache)
        _assert_cache_equals_full_extract(practice, db, tmp_path / f"fresh-{mode}-{trial}")
    print(f"{mode}: {TRIALS} trials, {waited} refreshes waited for the other")


def test_a_refresh_waits_for_the_writer_says_so_and_gives_up_in_time(copy: tuple[Path, str, Path]) -> None:
    _, url, cache = copy
    practice = workbench.connect(url, cache_dir=cache)
    with exclusive(practice.store.dir / ".lock", 5, "test"):  # another writer holds the cache
        waiting = _workbench("refresh", "--source", url, "--cache-dir", str(cache), env={"WORKBENCH_LOCK_TIMEOUT": "3"})
        code = waiting.wait(timeout=60)
        _, err = waiting.communicate()
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("warning: ") and f"waiting for pid {os.getpid()} on " in lines[0]
    assert lines[-1].startswith("error: the cache at ") and "is still being written by pid" in lines[-1]
    assert len(lines) == 2


def test_a_refresh_after_another_finished_meanwhile_finds_the_cache_fresh(copy: tuple[Path, str, Path]) -> None:
    db, url, cache = copy
    holder = workbench.connect(url, cache_dir=cache)
    _office_day(db, 9)
    with exclusive(holder.store.dir / ".lock", 5, "test"):
        second = _workbench("refresh", "--source", url, "--cache-dir", str(cache))
        said = _stderr_until(second, "waiting for pid", timeout=60)
        done = holder._refresh(holder.store.manifest(), None, None, None)  # the holder refreshes meanwhile
    assert second.wait(timeout=60) == 0
    assert "waiting for pid" in said
    assert workbench.connect(url, cache_dir=cache).store.manifest() == done  # nothing extracted twice


def _stderr_until(process: subprocess.Popen[str], text: str, timeout: float) -> str:
    """What ``process`` wrote on stderr up to the line containing ``text`` (or until ``timeout``)."""
    import select

    assert process.stderr is not None
    said = ""
    deadline = time.monotonic() + timeout
    while text not in said and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.5)
        if ready:
            said += process.stderr.readline()
    return said


def test_a_writer_killed_mid_refresh_blocks_nobody_and_loses_nothing(
    copy: tuple[Path, str, Path], tmp_path: Path
) -> None:
    db, url, cache = copy
    store = workbench.connect(url, cache_dir=cache).store
    before = store.manifest()
    killed = 0
    for trial, delay in enumerate((0.3, 0.8, 1.5), start=1):
        _office_day(db, 10 + trial)
        victim = _workbench("refresh", "--full", "--source", url, "--cache-dir", str(cache))
        time.sleep(delay)
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
            killed += 1
        victim.wait(timeout=60)
        victim.communicate()
        now = store.manifest()
        assert now is not None and not store.damaged(now)  # the cache is whole: the old one or the new
    assert killed >= 1
    # every full refresh may have been killed: deleted rows are then found by looking for them (a report would)
    after = _workbench(
        "refresh", "--check-deletions", "--source", url, "--cache-dir", str(cache), env={"WORKBENCH_LOCK_TIMEOUT": "5"}
    )
    assert after.wait(timeout=120) == 0, after.communicate()[1]  # the lock died with its holder
    _assert_cache_equals_full_extract(workbench.connect(url, cache_dir=cache), db, tmp_path / "fresh")
    assert before is not None


def test_a_damaged_cache_file_is_extracted_again_with_one_warning(copy: tuple[Path, str, Path], tmp_path: Path) -> None:
    db, url, cache = copy
    store = workbench.connect(url, cache_dir=cache).store
    manifest = store.manifest()
    assert manifest is not None
    damaged = store.dir / manifest.snapshot / manifest.files["procedures"][0]["upserts"]  # type: ignore[operator]
    damaged.write_bytes(damaged.read_bytes()[:500])  # a disk that filled up, a copy cut short

    report = _workbench(
        "report", "aging", "--no-refresh", "--source", url, "--cache-dir", str(cache), "--out", str(tmp_path)
    )
    assert report.wait(timeout=300) == 2
    _, err = report.communicate()
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert f"cannot read cached file {damaged}" in err and "the next refresh extracts it again" in err

    healed = _workbench("refresh", "--source", url, "--cache-dir", str(cache))
    assert healed.wait(timeout=120) == 0
    _, err = healed.communicate()
    assert err.strip().splitlines() == [
        f"warning: {url}: cached file {damaged} cannot be read; extracting the practice again in full"
    ]
    _assert_cache_equals_full_extract(workbench.connect(url, cache_dir=cache), db, tmp_path / "fresh")


def test_a_manifest_that_is_not_an_object_is_one_line_then_healed(copy: tuple[Path, str, Path], tmp_path: Path) -> None:
    db, url, cache = copy
    store = workbench.connect(url, cache_dir=cache).store
    (store.dir / "manifest.json").write_text(json.dumps(["not", "a", "manifest"]))
    report = _workbench(
        "report", "recall", "--no-refresh", "--source", url, "--cache-dir", str(cache), "--out", str(tmp_path)
    )
    assert report.wait(timeout=300) == 2
    _, err = report.communicate()
    assert err.strip() == f"error: unreadable cache manifest {store.dir / 'manifest.json'}: not a JSON object"
    healed = _workbench("refresh", "--source", url, "--cache-dir", str(cache))
    assert healed.wait(timeout=120) == 0
    assert "extracting the practice again in full" in healed.communicate()[1]
    _assert_cache_equals_full_extract(workbench.connect(url, cache_dir=cache), db, tmp_path / "fresh")


def test_refresh_full_extracts_a_new_snapshot(copy: tuple[Path, str, Path]) -> None:
    _, url, cache = copy
    before = workbench.connect(url, cache_dir=cache).store.manifest()
    full = _workbench("refresh", "--full", "--source", url, "--cache-dir", str(cache))
    assert full.wait(timeout=120) == 0, full.communicate()[1]
    after = workbench.connect(url, cache_dir=cache).store.manifest()
    assert before is not None and after is not None and after.snapshot != before.snapshot
