"""A report as PDF, printed by headless Chromium (the HTML's print layout, charts drawn)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from workbench.errors import ReportError, UsageError

__all__ = ["BROWSERS", "browser", "to_pdf"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT_SECONDS = 180


def browser() -> str:
    """The Chromium (or Chrome) that prints PDFs; a UsageError when there is none."""
    for name in (os.environ.get("WORKBENCH_CHROMIUM"), *BROWSERS):
        if name and (found := shutil.which(name)):
            return found
    raise UsageError("--pdf needs Chromium or Chrome on the PATH (or $WORKBENCH_CHROMIUM naming it)")


def to_pdf(html: Path) -> Path:
    """Print ``html`` to the PDF beside it (same name, .pdf), atomically; a browser that fails is one line."""
    target = html.with_suffix(".pdf")
    partial = target.with_name(f".{target.name}.partial")
    command = [
        browser(),
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-pdf-header-footer",
        "--virtual-time-budget=10000",  # let the charts draw before printing
        f"--print-to-pdf={partial}",
        html.resolve().as_uri(),
    ]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    with tempfile.TemporaryDirectory(prefix="wb-pdf-") as profile:
        command.insert(1, f"--user-data-dir={profile}")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise ReportError(f"printing {html.name} to PDF took over {TIMEOUT_SECONDS} s") from None
    if done.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReportError(f"printing {html.name} to PDF failed: {last[:200]}")
    partial.replace(target)
    return target
