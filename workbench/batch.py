"""Many practices × reports in parallel; one failure never stops the others.

Jobs run on any ``concurrent.futures.Executor``: by default a pool of worker processes on this machine,
or a Dask cluster's (``dask_executor``), so a group that outgrows one machine adds workers. A worker
renders into a scratch directory and hands the HTML back; this process writes every file, so workers
need no access to the output folder. Each practice's cache is prepared once first; workers on other
machines read it where ``cache_dir`` names a shared path, or extract it themselves.
"""

from __future__ import annotations

import contextlib
import html
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from workbench.errors import UsageError, WorkbenchError
from workbench.files import folder, write_atomically
from workbench.practices import PracticeConfig
from workbench.usage import Allowance

__all__ = ["Job", "JobResult", "dask_executor", "jobs_for", "prepare", "run_batch", "write_index"]


@dataclass(frozen=True)
class Job:
    practice: PracticeConfig
    report: str
    as_of: date | None
    out_dir: Path
    cache_dir: str | None
    warm_kernel: bool = True  # run in the worker's warm kernel (workbench.kernels), not a fresh one
    logo: str | None = None  # the practice's logo as a data: URI (workers elsewhere cannot read our files)


@dataclass(frozen=True)
class JobResult:
    practice: str
    report: str
    ok: bool
    seconds: float
    output: Path | None
    error: str | None


def jobs_for(
    practices: Sequence[PracticeConfig],
    out_dir: Path,
    *,
    as_of: date | None = None,
    cache_dir: str | Path | None = None,
    reports: Sequence[str] | None = None,
    warm_kernel: bool = True,
) -> list[Job]:
    """Every practice × each of its reports (only ``reports``, when given)."""
    cache = str(cache_dir) if cache_dir else None
    return [
        Job(p, r, as_of, out_dir, cache, warm_kernel)
        for p in practices
        for r in p.reports
        if not reports or r in reports
    ]


def _options(job: Job) -> tuple[str, ...]:
    """The practice's own report options (its targets)."""
    if not job.practice.targets:
        return ()
    return ("targets=" + ",".join(f"{k}:{v}" for k, v in job.practice.targets.items()),)


def _folder(job: Job) -> Path:
    return job.out_dir / job.practice.name / (job.as_of.isoformat() if job.as_of else "latest")


def _run(job: Job) -> tuple[JobResult, bytes | None]:
    """One report for one practice, on a worker: the result and the HTML (every error becomes a result)."""
    from workbench.kernels import warm_kernel
    from workbench.reports import render_report

    began = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="wb-job-") as scratch:
            path = render_report(
                job.report,
                job.practice.source,
                scratch,
                as_of=job.as_of,
                end=job.as_of,
                cache_dir=job.cache_dir,
                brand_color=job.practice.color,
                logo=job.logo,
                redact=job.practice.redact,
                title=job.practice.title,
                kernel=warm_kernel() if job.warm_kernel else None,
                options=_options(job),
            )
            content = path.read_bytes()
        result = JobResult(job.practice.name, job.report, True, time.perf_counter() - began, None, None)
        return result, content
    except WorkbenchError as exc:
        error = str(exc)
    except Exception as exc:  # a worker must report, never die silently
        error = f"unexpected {type(exc).__name__}: {exc}"
    return JobResult(job.practice.name, job.report, False, time.perf_counter() - began, None, error), None


def _write(job: Job, result: JobResult, content: bytes | None) -> JobResult:
    """Save a worker's HTML where the job says (atomically: a half-written report never shows)."""
    if content is None:
        return result
    where = folder(_folder(job), "report folder")
    return replace(result, output=write_atomically(where / f"{job.report}.html", content))


def prepare(
    source: str,
    cache_dir: str | None,
    refresh: bool = True,
    allowance: Allowance | None = None,
    allow_overage: bool = True,
) -> str | None:
    """Bring one practice's cache up to date, deleted rows included (without ``refresh``: only fill it if
    empty), once, before its reports run in parallel; the error, if any. A refresh that would take the
    month's API calls past ``allowance`` is refused unless ``allow_overage`` (which only warns)."""
    from workbench.practice import connect

    try:
        practice = connect(source, cache_dir=cache_dir)
        if refresh or practice.store.manifest() is None:
            practice.refresh(check_deletions=True, allowance=allowance, allow_overage=allow_overage)
    except WorkbenchError as exc:
        return str(exc)
    except Exception as exc:
        return f"unexpected {type(exc).__name__}: {exc}"
    return None


def run_batch(
    jobs: Sequence[Job],
    workers: int = 2,
    on_done: Callable[[JobResult], None] | None = None,
    executor: Executor | None = None,
    refresh: bool = True,
    allow_overage: bool = True,
) -> list[JobResult]:
    """Run every job; results in the order of ``jobs``.

    ``executor`` is any ``concurrent.futures.Executor`` (``dask_executor(...)`` for a Dask cluster);
    by default ``workers`` processes here. First each practice's cache is brought up to date once
    (practices in parallel; with ``refresh=False`` only an empty cache is filled), so two reports of one
    practice never extract it at the same time; then every report of the practices that could be read.
    """
    with _executor(executor, workers) as pool:
        allowances = {(j.practice.source, j.cache_dir or ""): j.practice.api_allowance for j in jobs}
        sources = sorted(allowances)
        errors = list(
            pool.map(
                prepare,
                [s for s, _ in sources],
                [c or None for _, c in sources],
                [refresh] * len(sources),
                [allowances[s] for s in sources],
                [allow_overage] * len(sources),
            )
        )
        prepared = dict(zip(sources, errors, strict=True))
        results: dict[int, JobResult] = {}
        futures = {}
        for i, job in enumerate(jobs):
            error = prepared[(job.practice.source, job.cache_dir or "")]
            if error is None:
                futures[pool.submit(_run, job)] = i
            else:
                results[i] = JobResult(job.practice.name, job.report, False, 0.0, None, error)
                if on_done:
                    on_done(results[i])
        for future in as_completed(futures):
            i = futures[future]
            results[i] = _write(jobs[i], *future.result())
            if on_done:
                on_done(results[i])
    return [results[i] for i in range(len(jobs))]


@contextmanager
def _executor(given: Executor | None, workers: int) -> Iterator[Executor]:
    if given is not None:
        yield given
        return
    # spawned, not forked: a fork copies this process's threads' state (an event loop running in a thread,
    # as jupyter_core keeps one) into workers where those threads do not exist, and a worker would hang
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool
    _stop_resource_tracker()


def _stop_resource_tracker() -> None:
    """Stop (and wait for) the helper process that spawned workers leave behind, so that nothing this
    command started outlives it (left alone, it ends only after we exit, as an orphan)."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()


@contextmanager
def dask_executor(scheduler: str | None = None, workers: int = 2) -> Iterator[Executor]:
    """A Dask cluster as an executor: the scheduler at ``scheduler`` (e.g. tcp://10.0.0.9:8786), or a
    local cluster of ``workers`` worker processes when none is given."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--executor dask needs the distributed package (pip install distributed)") from None
    cluster: Any = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=5)
        else:
            cluster = LocalCluster(
                n_workers=max(1, workers), threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_index(results: Sequence[JobResult], out_dir: Path, group: JobResult | None = None) -> Path:
    """``index.html`` linking every report, with the failures and their reasons (and the group report first,
    when there is one)."""
    rows = []
    for r in sorted(results, key=lambda r: (r.practice, r.report)):
        link = (
            f'<a href="{html.escape(r.output.relative_to(out_dir).as_posix())}">{html.escape(r.report)}</a>'
            if r.ok and r.output
            else html.escape(r.report)
        )
        status = "done" if r.ok else f"failed: {html.escape(r.error or '')}"
        rows.append(
            f"<tr><td>{html.escape(r.practice)}</td><td>{link}</td><td>{status}</td><td>{r.seconds:.1f}</td></tr>"
        )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Practice reports</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}"
        f"</style></head><body><h1>Practice reports</h1>{_group_line(group, out_dir)}"
        "<table><thead><tr><th>Practice</th><th>Report</th>"
        f"<th>Status</th><th>Seconds</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>"
    )
    folder(out_dir, "output folder")
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _group_line(group: JobResult | None, out_dir: Path) -> str:
    if group is None:
        return ""
    if group.ok and group.output:
        href = html.escape(group.output.relative_to(out_dir).as_posix())
        return f'<p class="group"><a href="{href}">Group report: every practice side by side</a></p>'
    return f'<p class="group">Group report failed: {html.escape(group.error or "")}</p>'
