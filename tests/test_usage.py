"""API calls and bytes recorded per practice and month in the cache, against the allowance: a refresh over the
Ascend simulator (real HTTP on 127.0.0.1), the projection, the overage check, `workbench usage`."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from workbench.cache import CacheStore
from workbench.errors import UsageError
from workbench.practice import Practice
from workbench.usage import USAGE_FILE, Allowance, UsageLog, project

from .test_rest_sources import ASCEND_KEYS, ascend, ascend_source

ASCEND_KEYS_ENV = ASCEND_KEYS


@pytest.mark.parametrize(
    ("calls", "gb", "today", "projected", "overage"),
    [
        (10_000, 0.9, date(2026, 12, 10), 31_000, 1_000 * 0.0015),  # 31 days at the pace of 10 (2.79 GB: within)
        (1_000, 0.2, date(2026, 11, 30), 1_000, 0.0),  # the month's last day: what was used
        (20_000, 2.5, date(2026, 2, 14), 40_000, 10_000 * 0.0015 + (5.0 - 3.0) * 1.0),  # 28 days, both over
    ],
)
def test_the_month_projected_and_what_goes_over_costs(
    calls: int, gb: float, today: date, projected: int, overage: float
) -> None:
    seen = project(calls, int(gb * 1e9), today, Allowance())
    assert seen.projected_calls == projected and seen.overage == pytest.approx(overage)


def test_a_refresh_over_the_api_records_its_calls_and_bytes(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in ASCEND_KEYS_ENV.items():
        monkeypatch.setenv(name, value)
    with ascend(demo_db, page_size=500) as url:
        source = ascend_source(url)
        practice = Practice(source, CacheStore(tmp_path, "ascend"))
        practice.refresh()
        calls, received = source.usage()
        month = f"{datetime.now(UTC):%Y-%m}"
        log = UsageLog(practice.store.dir)
        assert log.month(month) == (calls, received) and calls > 10 and received > 100_000
        assert log.last("full") == calls
        assert json.loads((practice.store.dir / USAGE_FILE).read_text())["months"][month]["calls"] == calls

        tight = Allowance(calls=calls + 5)  # another full extract would go past it
        with pytest.raises(UsageError, match=r"a full refresh \(about [\d,]+ calls, as the last one\) would take"):
            practice.refresh(incremental=False, allowance=tight, allow_overage=False)
        assert log.month(month) == (calls, received)  # refused before any call
        with caplog.at_level(logging.WARNING, logger="workbench"):
            practice.refresh(incremental=False, allowance=tight, allow_overage=True)
        assert "past the allowance" in caplog.text
        assert log.month(month)[0] == source.usage()[0] > calls  # the second extract added to the month


def test_the_usage_command_shows_each_api_practice(demo_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "practice"
    folder.mkdir(parents=True)
    practices = tmp_path / "practices.toml"
    practices.write_text(
        f'[[practice]]\nname = "riverside"\nsource = "opendental+sqlite://{demo_db}"\n'
        f'[[practice]]\nname = "cloud"\nsource = "ascend+api:http://127.0.0.1:9/?organization_id=1"\n'
        f"api_allowance = {{ calls = 1000, gb = 1 }}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "usage", "--practices", str(practices), "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "cloud" in done.stdout and "1,000 calls, 1 GB" in done.stdout and "riverside" not in done.stdout
