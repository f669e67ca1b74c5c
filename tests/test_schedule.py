"""Scheduled runs: due times in the practice's time zone, one catch-up for missed slots, one run at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.errors import UsageError
from workbench.practices import PracticeConfig, load_practices
from workbench.schedule import due_practices, install_lines, record_runs, schedule_lock

MONTHLY = PracticeConfig(name="maple", source="demo:", schedule="0 6 1 * *", timezone="America/Chicago")
NOW = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def test_a_practice_that_missed_three_slots_runs_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    record_runs(state, ["maple"], datetime(2026, 8, 1, 12, 0, tzinfo=UTC))  # ran in August, then the laptop was off
    (due,) = due_practices([MONTHLY], state, NOW)
    assert due.is_due
    assert due.slot.isoformat() == "2026-11-01T06:00:00-06:00"  # 06:00 in Chicago (CST after the DST change)
    assert due.next_slot.isoformat() == "2026-12-01T06:00:00-06:00"
    record_runs(state, ["maple"], NOW)
    (again,) = due_practices([MONTHLY], state, NOW)
    assert not again.is_due  # September, October and November's slots did not queue three runs


def test_never_run_is_due_and_unscheduled_practices_are_left_out(tmp_path: Path) -> None:
    plain = PracticeConfig(name="cedar", source="demo:")
    dues = due_practices([MONTHLY, plain], tmp_path / "none.json", NOW)
    assert [d.practice.name for d in dues] == ["maple"] and dues[0].is_due and dues[0].last_run is None


def test_the_lock_keeps_two_runs_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    practices = tmp_path / "practices.toml"
    practices.write_text('[[practice]]\nname = "maple"\nsource = "demo:"\nschedule = "0 6 1 * *"\n')
    state = tmp_path / "state.json"
    with schedule_lock(state.with_suffix(".lock")) as held:
        assert held
        assert main(["schedule", "run", "--practices", str(practices), "--state", str(state)]) == 0
    assert "another scheduled run is in progress" in capsys.readouterr().out
    assert not state.exists()


def test_schedule_run_runs_what_is_due_then_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    practices = tmp_path / "practices.toml"
    practices.write_text(
        '[[practice]]\nname = "maple"\nsource = "demo:?patients=150&years=1&seed=4&end=2026-10-31"\n'
        'reports = ["aging"]\nschedule = "0 6 1 * *"\ntimezone = "America/Chicago"\n'
    )
    hook_file = tmp_path / "hook.txt"
    args = [
        "schedule",
        "run",
        "--practices",
        str(practices),
        "--state",
        str(tmp_path / "state.json"),
        "--out",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--hook",
        f'echo "$WORKBENCH_INDEX" > {hook_file}',
    ]
    assert main(args) == 0
    assert (tmp_path / "out" / "maple" / "latest" / "aging.html").exists()
    assert hook_file.read_text().strip() == str(tmp_path / "out" / "index.html")
    assert main(args) == 0
    assert "nothing is due" in capsys.readouterr().out
    assert main(["schedule", "show", "--practices", str(practices), "--state", str(tmp_path / "state.json")]) == 0
    assert "maple" in capsys.readouterr().out


def test_install_lines_and_bad_schedules(tmp_path: Path) -> None:
    assert install_lines("cron", "wb schedule run").startswith("*/10 * * * * wb schedule run")
    assert "OnCalendar=*:0/10" in install_lines("systemd", "wb schedule run")
    assert main(["schedule", "install"]) == 2
    bad = tmp_path / "practices.toml"
    bad.write_text('[[practice]]\nname = "a"\nsource = "demo:"\nschedule = "every day"\n')
    with pytest.raises(UsageError, match="schedule must be a cron expression"):
        load_practices(bad)
    bad.write_text('[[practice]]\nname = "a"\nsource = "demo:"\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(UsageError, match="not a known time zone"):
        load_practices(bad)
