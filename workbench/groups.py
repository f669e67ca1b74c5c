"""Every practice of a practices file at once: their cached frames together, with a ``practice`` column, from
Python or with SQL (DuckDB), and the figures the group report compares.

    import workbench
    team = workbench.group("practices.toml")
    team.frame("procedures")                                   # every practice's rows, one frame
    team.query("SELECT practice, SUM(fee) FROM procedures WHERE status = 'completed' GROUP BY 1")
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from workbench import model
from workbench.errors import UsageError, WorkbenchError
from workbench.metrics.attention import Target, with_targets
from workbench.metrics.group import practice_figures
from workbench.metrics.production import production
from workbench.periods import Period, resolve_period, trailing_months
from workbench.practice import Practice, connect
from workbench.practices import PracticeConfig, load_practices
from workbench.usage import UsageLog, project

__all__ = ["Group", "group"]


class Group:
    """The practices of a practices file, each served from its cache (``connect``); a practice that cannot be
    read is left out of frames and queries and named in ``failed`` with its one-line error."""

    def __init__(self, practices: list[PracticeConfig], cache_dir: str | Path | None = None) -> None:
        if not practices:
            raise UsageError("the practices file lists no practice")
        self.configs = {p.name: p for p in practices}
        self.cache_dir = cache_dir
        self.failed: dict[str, str] = {}
        self._open: dict[str, Practice] = {}
        self._tables: dict[str, pd.DataFrame] = {}

    @property
    def names(self) -> list[str]:
        return list(self.configs)

    def practice(self, name: str) -> Practice | None:
        """The connected practice, or None (and ``failed[name]`` says why) when it cannot be read."""
        if name in self.failed:
            return None
        if name not in self._open:
            try:
                practice = connect(self.configs[name].source, cache_dir=self.cache_dir)
                practice.manifest  # noqa: B018 - read (or fill) the cache now, so a failure is one line here
                self._open[name] = practice
            except WorkbenchError as exc:
                self.failed[name] = str(exc)
                return None
        return self._open[name]

    def frame(self, table: str) -> pd.DataFrame:
        """One canonical table of every practice that can be read, a ``practice`` column first (made once per
        group object: treat it as read-only)."""
        if table not in self._tables:
            self._tables[table] = self._together(table)
        return self._tables[table]

    def _together(self, table: str) -> pd.DataFrame:
        model.empty_frame(table)  # an unknown table is a SchemaError naming the known ones
        parts = []
        for name in self.names:
            practice = self.practice(name)
            if practice is None:
                continue
            try:
                rows = practice.frame(table)
            except WorkbenchError as exc:
                self.failed[name] = str(exc)
                continue
            parts.append(rows.assign(practice=name)[["practice", *rows.columns]])
        if not parts:
            return model.empty_frame(table).assign(practice=pd.Series(dtype="string"))
        out = pd.concat(parts, ignore_index=True)
        out["practice"] = pd.Categorical(out["practice"], categories=sorted(self.names))  # sorts as text does
        return out

    def query(self, sql: str) -> pd.DataFrame:
        """A read-only SQL query (DuckDB) over the canonical tables it names, each holding every practice's rows
        with a ``practice`` column."""
        import duckdb

        if not re.match(r"^\s*(SELECT|WITH)\b", sql, re.IGNORECASE):
            raise UsageError("workbench query runs SELECT (or WITH ... SELECT) statements only")
        named = [t for t in model.TABLES if re.search(rf"\b{t}\b", sql)]
        if not named:
            raise UsageError(f"the query names no canonical table; tables: {', '.join(model.TABLES)}")
        conn = duckdb.connect(":memory:")
        try:
            for table in named:  # scanned where it lies: categoricals are DuckDB enums (they compare as text and
                # sort in the model's order; the practice column's order is alphabetical)
                conn.register(table, self.frame(table))
            return conn.execute(sql).df()
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {' '.join(str(exc).split())}") from None
        finally:
            conn.close()

    def period(self, start: str | date | None, end: str | date | None) -> Period:
        """The period the group report covers: ``end`` defaults to the latest last day with data of the
        practices that can be read, ``start`` to January 1 of its year."""
        days = [p.data_as_of for name in self.names if (p := self.practice(name)) is not None]
        return resolve_period(start, end, max(days) if days else date.today())

    def targets(self) -> dict[str, dict[str, Target]]:
        """Each practice's targets (its own goals over the defaults)."""
        return {name: with_targets(config.targets) for name, config in self.configs.items()}

    def figures(self, start: date, end: date, failed: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Per practice, its group figures for the period, or the one-line error of a practice that failed
        (in this run, as ``failed`` says, or now, reading its cache)."""
        out: dict[str, Any] = {}
        for name in self.names:
            if failed and name in failed:
                out[name] = failed[name]
                continue
            practice = self.practice(name)
            if practice is None:
                out[name] = self.failed[name]
                continue
            try:
                out[name] = practice_figures(practice, start, end)
            except WorkbenchError as exc:
                out[name] = self.failed[name] = str(exc)
        return out

    def monthly(self, end: date, months: int = 12) -> pd.DataFrame:
        """Net production and collections per month for every practice that ran: practice, month,
        net_production, total_income (the small multiples of the group report)."""
        span = trailing_months(end, months)
        parts = []
        for name in self.names:
            practice = self.practice(name)
            if practice is None:
                continue
            rows = production(practice, span.start, span.end, by="month")
            parts.append(rows[["month", "net_production", "total_income"]].assign(practice=name))
        if not parts:
            return pd.DataFrame(columns=["practice", "month", "net_production", "total_income"])
        return pd.concat(parts, ignore_index=True)[["practice", "month", "net_production", "total_income"]]

    def usage(self, today: date | None = None) -> pd.DataFrame:
        """API calls and data this month per practice that reads an API, against its allowance, projected to
        the month's end: practice, calls, gb, allowance_calls, allowance_gb, projected_calls, projected_gb,
        overage ($)."""
        today = today or date.today()
        rows = []
        for name, config in self.configs.items():
            if "+api:" not in config.source:
                continue
            try:
                folder = connect(config.source, cache_dir=self.cache_dir).store.dir  # the cache, not the API
            except WorkbenchError as exc:
                self.failed[name] = str(exc)
                continue
            calls, received = UsageLog(folder).month(f"{today:%Y-%m}")
            seen = project(calls, received, today, config.api_allowance)
            rows.append(
                {
                    "practice": name,
                    "calls": seen.calls,
                    "gb": seen.gb,
                    "allowance_calls": config.api_allowance.calls,
                    "allowance_gb": config.api_allowance.gb,
                    "projected_calls": seen.projected_calls,
                    "projected_gb": seen.projected_gb,
                    "overage": seen.overage,
                }
            )
        columns = ["practice", "calls", "gb", "allowance_calls", "allowance_gb", "projected_calls", "projected_gb"]
        return pd.DataFrame(rows, columns=[*columns, "overage"])


def group(
    practices: str | Path | None = None, cache_dir: str | Path | None = None, only: Sequence[str] | None = None
) -> Group:
    """The practices of a practices file (default: $WORKBENCH_PRACTICES or ./practices.toml) as a ``Group``
    (``only``: just these practices)."""
    configs = load_practices(practices)
    return Group([c for c in configs if not only or c.name in only], cache_dir=cache_dir)
