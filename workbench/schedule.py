"""Scheduled runs: each practice's cron schedule, caught up once after missed slots, one run at a time.

``workbench schedule run`` is safe to start from cron or a systemd timer every few minutes: a lock file
keeps two runs apart, and a state file records when each practice last ran, so a practice whose slot
passed while the machine was off runs once (not once per missed slot) the next time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from workbench.errors import UsageError
from workbench.files import write_atomically
from workbench.locks import try_exclusive
from workbench.practices import PracticeConfig

__all__ = ["Due", "due_practices", "install_lines", "record_runs", "schedule_lock"]


@dataclass(frozen=True)
class Due:
    practice: PracticeConfig
    slot: datetime  # the latest scheduled time at or before now
    next_slot: datetime
    last_run: datetime | None

    @property
    def is_due(self) -> bool:
        return self.last_run is None or self.last_run < self.slot


def _zone(practice: PracticeConfig) -> ZoneInfo:
    try:
        return ZoneInfo(practice.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"practice {practice.name}: unknown time zone {practice.timezone!r}") from None


def _read_state(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"unreadable schedule state {path}: {exc}") from None


def due_practices(practices: Sequence[PracticeConfig], state_file: Path, now: datetime | None = None) -> list[Due]:
    """Every scheduled practice with its latest and next slot, and whether it is due."""
    moment = now or datetime.now(UTC)
    state = _read_state(state_file)
    out = []
    for practice in practices:
        if not practice.schedule:
            continue
        if not croniter.is_valid(practice.schedule):
            raise UsageError(f"practice {practice.name}: schedule {practice.schedule!r} is not a cron expression")
        local = moment.astimezone(_zone(practice))
        slot = croniter(practice.schedule, local).get_prev(datetime)
        following = croniter(practice.schedule, local).get_next(datetime)
        last = datetime.fromisoformat(state[practice.name]) if practice.name in state else None
        out.append(Due(practice, slot, following, last))
    return out


def record_runs(state_file: Path, names: Sequence[str], when: datetime) -> None:
    """Remember that these practices ran at ``when`` (atomic replace of the state file)."""
    state = _read_state(state_file)
    state.update({name: when.isoformat() for name in names})
    state_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(state_file, json.dumps(state, indent=2, sort_keys=True))


def schedule_lock(lock_file: Path) -> AbstractContextManager[bool]:
    """Hold the schedule lock; yields False (and holds nothing) when another run has it."""
    return try_exclusive(lock_file)


def install_lines(kind: str, command: str) -> str:
    """What to install so that ``command`` (a ``workbench schedule run``) starts every 10 minutes."""
    if kind == "cron":
        return f"*/10 * * * * {command} >> $HOME/.cache/workbench/schedule.log 2>&1\n"
    if kind == "systemd":
        return (
            "# ~/.config/systemd/user/workbench-schedule.service\n[Unit]\nDescription=Practice reports due now\n\n"
            f"[Service]\nType=oneshot\nExecStart={command}\n\n"
            "# ~/.config/systemd/user/workbench-schedule.timer\n[Unit]\nDescription=Check for due practice reports\n\n"
            "[Timer]\nOnCalendar=*:0/10\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
            "# then: systemctl --user enable --now workbench-schedule.timer\n"
        )
    raise UsageError(f"install for cron or systemd, not {kind!r}")
