"""The ``workbench`` command: demo, report, refresh, sources.

Every error a user can cause is one line on stderr (``error: ...``) and exit code 2; an unexpected
failure is one line too and exit code 1 (set WORKBENCH_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from workbench.batch import Job, JobResult
from workbench.config import DEFAULT_BRAND_COLOR
from workbench.errors import UsageError, WorkbenchError
from workbench.periods import parse_date
from workbench.practices import PracticeConfig

if TYPE_CHECKING:
    from workbench.delivery import SmtpSettings

__all__ = ["app", "main"]

app = typer.Typer(
    help="Practice Reporting Workbench: dental practice data to dentist-ready HTML reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SourceOpt = Annotated[str, typer.Option("--source", "-s", help="Practice URL, e.g. demo: (see `workbench sources`).")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Directory for the HTML reports.")]
RedactOpt = Annotated[
    bool, typer.Option("--redact", help="Patients as stable pseudonyms; no birthdates or contact details.")
]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Cache directory (default: $WORKBENCH_CACHE_DIR or the user cache directory)."),
]
RefreshOpt = Annotated[
    bool,
    typer.Option(
        "--refresh/--no-refresh",
        help="Bring the cache up to date first, deleted rows included (default); --no-refresh uses it as it is.",
    ),
]


@app.command()
def demo(
    out_dir: OutOpt = Path("reports/demo"),
    patients: Annotated[int, typer.Option(help="Patients in the demo practice.")] = 2000,
    years: Annotated[int, typer.Option(help="Years of history.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    end: Annotated[str | None, typer.Option(help="Last day with data, YYYY-MM-DD (default today).")] = None,
    redact: RedactOpt = False,
    cache_dir: CacheOpt = None,
) -> None:
    """Generate the demo practice (if needed) and write every report as HTML."""
    import time

    from workbench.demo import GENERATE_STEPS
    from workbench.practice import connect
    from workbench.reports import REPORTS, render_report
    from workbench.sources.demo import demo_database

    last = parse_date(end, "end date")
    source = f"demo:?patients={patients}&years={years}&seed={seed}" + (f"&end={last}" if last else "")
    say = Console(stderr=True, highlight=False)  # steps on stderr, the report paths on stdout
    began = time.monotonic()
    with _steps(say, f"demo practice ({patients:,} patients × {years} years)", len(GENERATE_STEPS)) as step:
        demo_database(source, progress=step)
    practice = connect(source, cache_dir=cache_dir)
    if practice.store.manifest() is None:
        with _steps(say, "cache", 1) as step, _table_progress() as table_read:
            step("extracting every table")
            practice.refresh(progress=table_read)
    manifest = practice.manifest
    say.print(
        f"demo practice {practice.name}: {sum(manifest.rows.values()):,} rows cached ({time.monotonic() - began:.0f} s)"
    )
    with _steps(say, "reports", len(REPORTS)) as step:
        for name in REPORTS:
            step(name)
            path = render_report(name, source, out_dir, cache_dir=cache_dir, redact=redact)
            out.print(f"{name:<11} {path}")


@contextmanager
def _steps(console: Console, what: str, total: int) -> Iterator[Callable[[str], None]]:
    """Steps of a long job: on a terminal a live bar (step, done/total, elapsed); in a log a line as each step
    begins, with the seconds since the job began. ``step(name)`` marks the next one begun."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    began, begun = time.monotonic(), 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(what, total=total)

        def step(name: str) -> None:
            nonlocal begun
            bar.update(task, completed=begun, description=f"{what}: {name}")
            begun += 1
            if not console.is_terminal:
                console.print(f"{what}: {name} (at {time.monotonic() - began:.0f} s)")

        yield step
    if begun:
        console.print(f"{what}: done in {time.monotonic() - began:.0f} s")


@app.command()
def report(
    name: Annotated[str, typer.Argument(help="aging, production, recall, claims, treatment, patients or group.")],
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Practice URL, e.g. demo: (see `workbench sources`).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (aging, recall, claims, treatment).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Period start YYYY-MM-DD (production, patients).")] = None,
    end: Annotated[str | None, typer.Option(help="Period end YYYY-MM-DD (production, patients).")] = None,
    out_dir: OutOpt = Path("reports"),
    title: Annotated[str | None, typer.Option(help="Report title shown in the header.")] = None,
    redact: RedactOpt = False,
    brand_color: Annotated[
        str, typer.Option("--color", help="Practice colour for the header, #RRGGBB.")
    ] = DEFAULT_BRAND_COLOR,
    logo: Annotated[Path | None, typer.Option(help="Practice logo (PNG, JPEG or SVG), inlined.")] = None,
    cache_dir: CacheOpt = None,
    refresh: RefreshOpt = True,
    options: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A report option as name=value, e.g. --set proc_lifo=true --set balances=owing (repeatable).",
        ),
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print the report to a PDF beside it (headless Chromium).")
    ] = False,
    practices: Annotated[
        Path | None, typer.Option("--practices", help="The group report's practices file (default: practices.toml).")
    ] = None,
) -> None:
    """Run one report for one practice (or the group report of a practices file) and write it as HTML (and PDF
    with --pdf)."""
    from workbench.practice import connect
    from workbench.reports import REPORTS, render_group, render_report

    if name not in REPORTS and name != "group":
        raise UsageError(f"unknown report {name!r}; choose from {', '.join([*REPORTS, 'group'])}")
    day, first, last = parse_date(as_of, "as-of date"), parse_date(start, "start date"), parse_date(end, "end date")
    if first and last and first > last:
        raise UsageError(f"start date {first} is after end date {last}")
    if name == "group":
        if source:
            raise UsageError("the group report reads every practice of --practices, not one --source")
        failed = _refresh_all(practices, cache_dir) if refresh else {}
        path = render_group(
            practices,
            out_dir,
            start=first,
            end=last or day,
            cache_dir=cache_dir,
            failed=failed,
            brand_color=brand_color,
        )
        out.print(str(path))
        return
    if not source:
        raise UsageError(f"the {name} report needs --source (a practice URL, e.g. demo:)")
    if pdf:
        from workbench.pdf import browser

        browser()  # no browser to print with: say so before rendering, not after
    if refresh:
        connect(source, cache_dir=cache_dir).refresh(check_deletions=True)
    path = render_report(
        name,
        source,
        out_dir,
        as_of=day,
        start=first,
        end=last,
        title=title,
        cache_dir=cache_dir,
        redact=redact,
        brand_color=brand_color,
        logo=logo,
        options=options or (),
    )
    out.print(str(path))
    if pdf:
        from workbench.pdf import to_pdf

        out.print(str(to_pdf(path)))


@app.command()
def refresh(
    source: SourceOpt,
    cache_dir: CacheOpt = None,
    check_deletions: Annotated[
        bool,
        typer.Option(
            "--check-deletions", help="Look for rows deleted at the source now (else when the last look is 1 h old)."
        ),
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Extract everything again (a new snapshot), not only what changed.")
    ] = False,
) -> None:
    """Extract the practice's data into the cache now (incrementally where the source allows)."""
    from workbench.practice import connect

    practice = connect(source, cache_dir=cache_dir)
    with _table_progress() as progress:
        manifest = practice.refresh(
            progress=progress, incremental=False if full else None, check_deletions=True if check_deletions else None
        )
    out.print(
        f"{manifest.practice_name or manifest.source}: cached {sum(manifest.rows.values()):,} rows "
        f"at {practice.store.dir}"
    )


@app.command()
def reconcile(
    source: SourceOpt,
    clinic: Annotated[int | None, typer.Option(help="Only families of this clinic.")] = None,
    cache_dir: CacheOpt = None,
    mode: Annotated[
        str, typer.Option("--mode", help="Aging mode: office (its AgingProcLifo preference, default), on or off.")
    ] = "office",
) -> None:
    """Compare our aging with the aging the practice system stored, family by family."""
    from rich.table import Table

    from workbench.practice import connect
    from workbench.reconcile import mode_label, reconcile_stored_aging

    modes = {"office": None, "on": True, "off": False}
    if mode not in modes:
        raise UsageError(f"--mode must be office, on or off, got {mode!r}")
    result = reconcile_stored_aging(connect(source, cache_dir=cache_dir), clinic_id=clinic, proc_lifo=modes[mode])
    table = result.table
    whose = "the office's mode" if mode == "office" else "as asked"
    out.print(
        f"As of {result.as_of} (when aging last ran), {mode_label(result.proc_lifo)} ({whose}): "
        f"{result.matched:,} of {len(table):,} families match to the cent."
    )
    differing = table[~table["matches"]]
    if len(differing):
        grid = Table("guarantor", "ours", "stored", "difference", "likely cause")
        for row in differing.head(50).itertuples():
            grid.add_row(
                str(row.guarantor_id),
                f"{row.balance:,.2f}",
                f"{row.stored_balance:,.2f}",
                f"{row.balance_diff:,.2f}",
                str(row.cause),
            )
        out.print(grid)


def _print_result(result: JobResult) -> None:
    """One line as each batch job finishes."""
    if result.ok:
        out.print(f"done   {result.practice}/{result.report} ({result.seconds:.1f} s)")
    else:
        out.print(f"FAILED {result.practice}/{result.report}: {result.error}")


@contextmanager
def _table_progress() -> Iterator[Callable[[str, int], None]]:
    """On a terminal, a live bar over the tables of an extract with each table's rows printed above it as it
    is read; off a terminal (logs, cron), nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from workbench.model import TABLES

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as bar:
        task = bar.add_task("tables", total=len(TABLES))

        def table_read(table: str, rows: int) -> None:
            if out.is_terminal:
                bar.console.print(f"  {table:<17} {rows:>10,} rows")
            bar.advance(task)

        yield table_read


def _run_jobs(
    jobs: list[Job], workers: int, executor: Executor | None = None, refresh: bool = True, allow_overage: bool = True
) -> list[JobResult]:
    """Run batch jobs with a line per finished job and, on a terminal, a live bar (done, failed, elapsed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from workbench.batch import run_batch

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as bar:
        task = bar.add_task("reports", total=len(jobs))
        failed = 0

        def finished(result: JobResult) -> None:
            nonlocal failed
            failed += not result.ok
            _print_result(result)
            bar.update(task, advance=1, description=f"reports ({failed} failed)" if failed else "reports")

        return run_batch(
            jobs, workers=workers, on_done=finished, executor=executor, refresh=refresh, allow_overage=allow_overage
        )


PracticesOpt = Annotated[
    Path | None, typer.Option("--practices", help="Practices file (default: $WORKBENCH_PRACTICES or practices.toml).")
]
practices_app = typer.Typer(help="The practices file.", no_args_is_help=True)
app.add_typer(practices_app, name="practices")


@practices_app.command("check")
def practices_check(practices: PracticesOpt = None, cache_dir: CacheOpt = None) -> None:
    """Connect to every practice in the file and say what works."""
    from workbench.practice import connect
    from workbench.practices import load_practices

    failed = 0
    for config in load_practices(practices):
        try:
            info = connect(config.source, cache_dir=cache_dir).source.info()
            out.print(
                f"ok      {config.name}: {info.system}" + (f", {info.practice_name}" if info.practice_name else "")
            )
        except WorkbenchError as exc:
            failed += 1
            out.print(f"FAILED  {config.name}: {exc}")
    if failed:
        raise typer.Exit(1)


@app.command()
def usage(practices: PracticesOpt = None, cache_dir: CacheOpt = None) -> None:
    """API calls and data this month per practice, against its allowance, projected to the month's end."""
    from rich.table import Table

    from workbench.groups import group

    team = group(practices, cache_dir)
    rows = team.usage()
    for name, why in team.failed.items():
        err.print(f"warning: {name} left out: {why}")
    if rows.empty:
        out.print("no practice in the file reads an API (only REST sources are metered)")
        return
    grid = Table("practice", "calls", "GB", "allowance", "projected (month end)", "overage")
    for r in rows.itertuples():
        grid.add_row(
            str(r.practice),
            f"{r.calls:,}",
            f"{r.gb:.3f}",
            f"{r.allowance_calls:,} calls, {r.allowance_gb:g} GB",
            f"{r.projected_calls:,} calls, {r.projected_gb:.3f} GB",
            f"${r.overage:,.2f}",
        )
    out.print(grid)


def _refresh_all(practices: Path | None, cache_dir: Path | None) -> dict[str, str]:
    """Bring every practice's cache up to date as a batch does (deleted rows included, the API allowance
    warned about); the practices that failed, with why (the group report shows them as failed)."""
    from workbench.batch import prepare
    from workbench.practices import load_practices

    failed = {}
    for config in load_practices(practices):
        error = prepare(config.source, str(cache_dir) if cache_dir else None, allowance=config.api_allowance)
        if error is not None:
            failed[config.name] = error
            err.print(f"warning: {config.name}: {error}")
    return failed


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A SELECT over canonical tables; each has a `practice` column.")],
    practices: PracticesOpt = None,
    cache_dir: CacheOpt = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """SQL (DuckDB) over the cached frames of every practice in the practices file, queried together."""
    from workbench.groups import group

    team = group(practices, cache_dir)
    result = team.query(sql)
    for name, why in team.failed.items():
        err.print(f"warning: {name} left out: {why}")
    if csv:
        out.print(result.to_csv(index=False), end="")
        return
    from rich.table import Table

    grid = Table(*map(str, result.columns))
    for record in result.astype(object).where(result.notna(), None).itertuples(index=False):
        grid.add_row(*("" if v is None else f"{v:,.2f}" if isinstance(v, float) else str(v) for v in record))
    out.print(grid)


SendOpt = Annotated[bool, typer.Option("--send", help="E-mail each practice's reports to its recipients.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="With --send: say who would get what; send nothing.")]


@app.command()
def batch(
    practices: PracticesOpt = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only these practices (repeatable).")] = None,
    reports: Annotated[list[str] | None, typer.Option("--report", help="Only these reports (repeatable).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of / period end date, YYYY-MM-DD.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Worker processes.")] = 2,
    executor: Annotated[str, typer.Option(help="process (this machine) or dask (a Dask cluster).")] = "process",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.9:8786 (default: a local cluster).")
    ] = None,
    out_dir: OutOpt = Path("reports"),
    cache_dir: CacheOpt = None,
    refresh: RefreshOpt = True,
    send: SendOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Every practice × report of the practices file, in parallel; a summary and index.html at the end (and,
    with --send, each practice's reports to its recipients and a failure notice to the consultant)."""
    from contextlib import nullcontext

    from rich.table import Table

    from workbench.batch import dask_executor, jobs_for, write_index
    from workbench.practices import load_practices
    from workbench.reports import REPORTS

    day = parse_date(as_of, "as-of date")
    chosen = load_practices(practices)
    settings = _mail_settings(practices, send, dry_run)
    if only:
        unknown = sorted(set(only) - {p.name for p in chosen})
        if unknown:
            raise UsageError(f"--only names no practice in the file: {', '.join(unknown)}")
        chosen = [p for p in chosen if p.name in only]
    bad = sorted(set(reports or []) - set(REPORTS))
    if bad:
        raise UsageError(f"unknown report(s) {', '.join(bad)}; choose from {', '.join(REPORTS)}")
    if executor not in {"process", "dask"}:
        raise UsageError(f"--executor must be process or dask, got {executor!r}")
    if scheduler and executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    todo = jobs_for(chosen, out_dir, as_of=day, cache_dir=cache_dir, reports=reports)
    with dask_executor(scheduler, workers=jobs) if executor == "dask" else nullcontext() as pool:
        results = _run_jobs(todo, jobs, pool, refresh)
    # the group report, beside the index: every practice of this batch side by side
    group = _group_report(practices, chosen, results, out_dir, day, cache_dir) if len(chosen) > 1 else None
    grid = Table("practice", "report", "status", "seconds", "output")
    for r in [*results, *([group] if group else [])]:
        grid.add_row(
            r.practice, r.report, "done" if r.ok else f"failed: {r.error}", f"{r.seconds:.1f}", str(r.output or "")
        )
    out.print(grid)
    out.print(f"index: {write_index(results, out_dir, group)}")
    delivered = True
    if settings is not None:
        run = day.isoformat() if day else f"latest of {date.today().isoformat()}"
        delivered = _deliver(settings, run, results, chosen, group, out_dir, dry_run)
    if not all(r.ok for r in results) or (group is not None and not group.ok) or not delivered:
        raise typer.Exit(1)


def _mail_settings(practices: Path | None, send: bool, dry_run: bool) -> SmtpSettings | None:
    """The mail server for --send (checked before any report runs), or None without --send."""
    from workbench.delivery import load_smtp

    if dry_run and not send:
        raise UsageError("--dry-run goes with --send")
    if not send:
        return None
    settings = load_smtp(practices)
    if settings is None:
        raise UsageError("--send needs a mail server: an [smtp] table in the practices file or $WORKBENCH_SMTP_HOST")
    if not dry_run:
        settings.password()  # a password named but not there: say so now, not after the reports
    return settings


def _deliver(
    settings: SmtpSettings,
    run: str,
    results: list[JobResult],
    chosen: list[PracticeConfig],
    group: JobResult | None,
    out_dir: Path,
    dry_run: bool,
) -> bool:
    """Send (or, dry, list) what this run delivers, and what earlier runs failed to; True when all went."""
    from workbench.delivery import Ledger, deliveries, rebuild

    todo = deliveries(settings, run, results, chosen, group, dry_run=dry_run)
    if dry_run:
        for d in todo:
            notice = d.practice == "failure notice"
            what = f"{len(d.files)} failure(s)" if notice else ", ".join(Path(f).name for f in d.files)
            out.print(f"would send: {d.practice} ({d.run}) to {', '.join(d.to)}: {what}")
        if not todo:
            out.print("would send nothing: no practice has recipients and reports, and nothing failed")
        return True
    return Ledger(out_dir).run(todo, settings, out.print, retry_from=rebuild(settings))


def _group_report(
    practices: Path | None,
    chosen: list[PracticeConfig],
    results: list[JobResult],
    out_dir: Path,
    day: date | None,
    cache_dir: Path | None,
) -> JobResult:
    """Render the batch's group report; a practice all of whose reports failed shows as failed, with why."""
    import time

    from workbench.reports import render_group

    failed = {}
    for config in chosen:
        mine = [r for r in results if r.practice == config.name]
        if mine and not any(r.ok for r in mine):
            failed[config.name] = mine[0].error or "failed"
    began = time.perf_counter()
    where = out_dir / "group" / (day.isoformat() if day else "latest")
    try:
        path = render_group(
            practices, where, end=day, cache_dir=cache_dir, failed=failed, only=[c.name for c in chosen]
        )
    except WorkbenchError as exc:
        return JobResult("group", "group", False, time.perf_counter() - began, None, str(exc))
    return JobResult("group", "group", True, time.perf_counter() - began, path, None)


schedule_app = typer.Typer(help="Scheduled runs of the practices file.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
StateOpt = Annotated[Path | None, typer.Option("--state", help="State file (default: in the cache directory).")]


def _state_file(state: Path | None, cache_dir: Path | None) -> Path:
    from workbench.config import cache_root

    return state or cache_root(cache_dir) / "schedule-state.json"


@schedule_app.command("run")
def schedule_run(
    practices: PracticesOpt = None,
    out_dir: OutOpt = Path("reports"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Worker processes.")] = 2,
    hook: Annotated[str | None, typer.Option(help="Command to run afterwards ($WORKBENCH_INDEX: index.html).")] = None,
    state: StateOpt = None,
    cache_dir: CacheOpt = None,
    allow_overage: Annotated[
        bool, typer.Option("--allow-overage", help="Refresh even past a practice's monthly API allowance.")
    ] = False,
) -> None:
    """Run every practice whose scheduled time has come since its last run (missed slots run once). A refresh
    that would take a practice past its monthly API allowance fails (with a failure notice) unless
    --allow-overage."""
    import subprocess
    from datetime import UTC, datetime

    from workbench.batch import jobs_for, write_index
    from workbench.delivery import load_smtp
    from workbench.practices import load_practices
    from workbench.schedule import due_practices, record_runs, schedule_lock

    state_file = _state_file(state, cache_dir)
    with schedule_lock(state_file.with_suffix(".lock")) as held:
        if not held:
            out.print("another scheduled run is in progress; nothing to do")
            return
        now = datetime.now(UTC)
        due = [d for d in due_practices(load_practices(practices), state_file, now) if d.is_due]
        if not due:
            out.print("nothing is due")
            return
        todo = jobs_for([d.practice for d in due], out_dir, cache_dir=cache_dir)
        results = _run_jobs(todo, jobs, allow_overage=allow_overage)
        index = write_index(results, out_dir)
        finished = {r.practice for r in results} - {r.practice for r in results if not r.ok}
        record_runs(state_file, sorted(finished), now)  # a failed practice is tried again next time
        settings = load_smtp(practices)
        delivered = True
        if settings is not None:  # scheduled runs send where a mail server is set
            run = f"{now:%Y-%m-%d %H:%M} UTC"
            delivered = _deliver(settings, run, results, [d.practice for d in due], None, out_dir, dry_run=False)
        if hook:
            subprocess.run(hook, shell=True, check=False, env={**os.environ, "WORKBENCH_INDEX": str(index)})
        if len(finished) < len(due) or not delivered:
            raise typer.Exit(1)


@schedule_app.command("show")
def schedule_show(practices: PracticesOpt = None, state: StateOpt = None, cache_dir: CacheOpt = None) -> None:
    """List each scheduled practice: last run, latest slot, next slot, due or not."""
    from rich.table import Table

    from workbench.practices import load_practices
    from workbench.schedule import due_practices

    grid = Table("practice", "schedule", "last run", "next", "due now")
    for d in due_practices(load_practices(practices), _state_file(state, cache_dir)):
        grid.add_row(
            d.practice.name,
            f"{d.practice.schedule} ({d.practice.timezone})",
            d.last_run.isoformat(timespec="minutes") if d.last_run else "never",
            d.next_slot.isoformat(timespec="minutes"),
            "yes" if d.is_due else "no",
        )
    out.print(grid)


@schedule_app.command("install")
def schedule_install(
    cron: Annotated[bool, typer.Option("--cron", help="Print a crontab line.")] = False,
    systemd: Annotated[bool, typer.Option("--systemd", help="Print a systemd service and timer.")] = False,
    practices: PracticesOpt = None,
) -> None:
    """Print what to install so that scheduled runs start by themselves."""
    import shlex
    import sys

    from workbench.schedule import install_lines

    if cron == systemd:
        raise UsageError("choose one of --cron or --systemd")
    command = f"{shlex.quote(sys.executable)} -m workbench schedule run"
    if practices:
        command += f" --practices {shlex.quote(str(practices.resolve()))}"
    out.print(install_lines("cron" if cron else "systemd", command), end="")


SIMULATED = {"opendental-api": "Open Dental API", "ascend-api": "Dentrix Ascend API"}


@app.command()
def simulate(
    system: Annotated[str, typer.Argument(help="opendental-api or ascend-api.")],
    source: Annotated[
        str, typer.Option("--source", "-s", help="Practice to serve: demo:... or opendental+sqlite:...")
    ] = "demo:",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8123,
    mode: Annotated[
        str, typer.Option(help="Open Dental: remote (100 rows a page), local or service (1000).")
    ] = "remote",
    rate: Annotated[float | None, typer.Option(help="Throttle: requests per second (default: none).")] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="Inject a fault, e.g. throttle:path=/procedurelogs,times=5 (repeatable).")
    ] = None,
) -> None:
    """Serve a practice through a simulated Open Dental API or Dentrix Ascend API, until Ctrl-C.

    Credentials come from the variables the clients read (OD_DEVELOPER_KEY and OD_CUSTOMER_KEY;
    ASCEND_CLIENT_ID and ASCEND_CLIENT_SECRET); where unset, throwaway ones are made and shown.
    """
    import secrets as token_source
    import signal
    import threading

    from workbench.simulators import FaultPlan, ascend_api, database_for, opendental_api, parse_fault, serve

    if system not in SIMULATED:
        raise UsageError(f"unknown system {system!r}; choose one of {', '.join(SIMULATED)}")
    try:
        plan = FaultPlan([parse_fault(spec) for spec in fault or []])
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--fault: {exc}") from None
    database = database_for(source)
    names = (
        ("OD_DEVELOPER_KEY", "OD_CUSTOMER_KEY")
        if system == "opendental-api"
        else ("ASCEND_CLIENT_ID", "ASCEND_CLIENT_SECRET")
    )
    made = {n: f"sim-{token_source.token_hex(6)}" for n in names if not os.environ.get(n)}
    first, second = (os.environ.get(n) or made[n] for n in names)
    if system == "opendental-api":
        if mode not in opendental_api.PAGE_LIMITS:
            raise UsageError(f"--mode must be one of {', '.join(opendental_api.PAGE_LIMITS)}")
        server = opendental_api.app(database, first, second, mode=mode, rate=rate, faults=plan)
    else:
        server = ascend_api.app(database, first, second, "demo-org", rate=rate, faults=plan)
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C (SIGINT) stops the simulator even where it was started with SIGINT ignored, as a shell script's
        # background job (`workbench simulate ... &`) is: Python then installs no handler of its own
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with serve(server, port=port) as base:
            if system == "opendental-api":
                client_url = f"opendental+api:{base}/api/v1?mode={mode}&rate={rate or 1000:g}"
            else:
                client_url = f"ascend+api:{base}?organization_id=demo-org"
            out.print(f"{SIMULATED[system]} simulator serving {database.name} on {base} (Ctrl-C stops)")
            for name, value in made.items():
                out.print(f"  export {name}={value}    # throwaway key for this simulator")
            out.print(f"  try: workbench refresh --source '{client_url}'")
            threading.Event().wait()
    except KeyboardInterrupt:
        out.print("simulator stopped")
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc}") from None


@app.command()
def sources() -> None:
    """List the source URL schemes this workbench knows."""
    from workbench.sources import schemes

    for scheme in schemes():
        out.print(f"[bold]{scheme.name}:[/bold]  {scheme.description}\n    e.g. {scheme.example}")


def _warnings_to_stderr() -> None:
    """The workbench's warnings (a damaged cache file, a refresh waiting for another) as one stderr line each."""
    import logging

    logger = logging.getLogger("workbench")
    if not any(getattr(h, "_workbench", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        handler._workbench = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    _warnings_to_stderr()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="workbench", standalone_mode=False)
        if isinstance(code, int):  # a command's typer.Exit(n) comes back as its return value
            return code
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("error: interrupted", file=sys.stderr)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except TyperException as exc:  # bad or missing option: typer's usage errors
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path the user gave that cannot be used: one line, not a traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set WORKBENCH_DEBUG=1 for details)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
