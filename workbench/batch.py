"""Many practices × reports in parallel worker processes; one failure never stops the others."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.practices import PracticeConfig

__all__ = ["Job", "JobResult", "jobs_for", "run_batch", "write_index"]


@dataclass(frozen=True)
class Job:
    practice: PracticeConfig
    report: str
    as_of: date | None
    out_dir: Path
    cache_dir: str | None


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
) -> list[Job]:
    """Every practice × each of its reports (only ``reports``, when given)."""
    cache = str(cache_dir) if cache_dir else None
    return [Job(p, r, as_of, out_dir, cache) for p in practices for r in p.reports if not reports or r in reports]


def _run(job: Job) -> JobResult:
    """One report for one practice, in a worker process; every error becomes a result, not an exception."""
    from workbench.reports import render_report

    began = time.perf_counter()
    folder = job.out_dir / job.practice.name / (job.as_of.isoformat() if job.as_of else "latest")
    try:
        path = render_report(
            job.report,
            job.practice.source,
            folder,
            as_of=job.as_of,
            end=job.as_of,
            cache_dir=job.cache_dir,
            brand_color=job.practice.color,
            logo=job.practice.logo,
            redact=job.practice.redact,
            title=job.practice.title,
        )
        return JobResult(job.practice.name, job.report, True, time.perf_counter() - began, path, None)
    except WorkbenchError as exc:
        return JobResult(job.practice.name, job.report, False, time.perf_counter() - began, None, str(exc))
    except Exception as exc:  # a worker must report, never die silently
        error = f"unexpected {type(exc).__name__}: {exc}"
        return JobResult(job.practice.name, job.report, False, time.perf_counter() - began, None, error)


def _prepare(source: str, cache_dir: str | None) -> str | None:
    """Fill or check one practice's cache (once, before its reports run in parallel); the error, if any."""
    from workbench.practice import connect

    try:
        practice = connect(source, cache_dir=cache_dir)
        if practice.store.manifest() is None:
            practice.refresh()
    except WorkbenchError as exc:
        return str(exc)
    except Exception as exc:
        return f"unexpected {type(exc).__name__}: {exc}"
    return None


def run_batch(
    jobs: Sequence[Job], workers: int = 2, on_done: Callable[[JobResult], None] | None = None
) -> list[JobResult]:
    """Run every job, ``workers`` processes at a time; results in the order of ``jobs``.

    First each practice's cache is prepared once (practices in parallel), so two reports of one practice
    never extract it at the same time; then every report of the practices that could be read.
    """
    sources = sorted({(j.practice.source, j.cache_dir or "") for j in jobs})
    results: dict[int, JobResult] = {}
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        errors = list(pool.map(_prepare, [s for s, _ in sources], [c or None for _, c in sources]))
        prepared = dict(zip(sources, errors, strict=True))
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
            results[futures[future]] = future.result()
            if on_done:
                on_done(results[futures[future]])
    return [results[i] for i in range(len(jobs))]


def write_index(results: Sequence[JobResult], out_dir: Path) -> Path:
    """``index.html`` linking every report, with the failures and their reasons."""
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
        "</style></head><body><h1>Practice reports</h1><table><thead><tr><th>Practice</th><th>Report</th>"
        f"<th>Status</th><th>Seconds</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
